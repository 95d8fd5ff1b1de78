package safety

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/input"
)

// TagNamespace records, on a role created from a cluster plan, the namespace
// of that plan: the tenant the role belongs to. It is set at CreateRole,
// next to the owner tag, so a role never exists without it.
const TagNamespace = "iambind.dev/namespace"

// Tenancy is the namespace boundary of `--from-cluster`: whoever
// may write a ConfigMap in namespace N may plan roles for the ServiceAccounts
// of N only, and may change only roles that plans of N created. Plans of
// Trusted namespaces (set by the operator, never by a tenant) may bind any
// ServiceAccount and touch any role iambind manages.
//
// The checks are pure: subjects and claims before AWS is observed, role
// ownership per role once its tags are known.
type Tenancy struct {
	Trusted map[string]bool
	// Home is the operator's description of this cluster (--cluster); nil
	// when not given.
	Home *Home
}

// NewTenancy checks the --trusted-namespaces list (namespace names, DNS labels).
func NewTenancy(trusted []string) (Tenancy, error) {
	t := Tenancy{Trusted: map[string]bool{}}
	for _, ns := range trusted {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if !isDNSLabel(ns) {
			return t, fmt.Errorf("--trusted-namespaces: %q is not a namespace name (a DNS label: lower-case letters, digits and -)", ns)
		}
		t.Trusted[ns] = true
	}
	return t, nil
}

func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// subjectOperators are the only condition operators a tenant's trust policy
// may use on the subject: both match case-sensitively, and the generator
// writes nothing else.
var subjectOperators = map[string]bool{"StringEquals": true, "StringLike": true}

// CheckSubjects refuses a plan of namespace ns whose trust policy could admit
// a token of a ServiceAccount in another namespace. Every value of every
// condition on a ...:sub key (condition keys are case-insensitive in IAM) must
// start with the literal "system:serviceaccount:<ns>:": a wildcard may follow
// (any ServiceAccount of ns) but never stand in the namespace, since
// "system:serviceaccount:*:x" or "team-*" is cross-namespace.
func (t Tenancy) CheckSubjects(ns string, r *generator.Role) error {
	if t.Trusted[ns] {
		return nil
	}
	prefix := generator.SubjectFor(ns, "")
	for i, st := range r.TrustPolicy.Statement {
		if st.Effect != "Allow" {
			continue // Deny only narrows
		}
		if isPodIdentityStatement(st) {
			// EKS Pod Identity has no subject condition: which ServiceAccounts
			// get the role is the associations' say, so they must all be ns's.
			if len(r.PodIdentityAssociations) == 0 {
				return fmt.Errorf("trust policy statement %d trusts EKS Pod Identity but the plan has no podIdentityAssociations", i+1)
			}
			for j, a := range r.PodIdentityAssociations {
				if a.Namespace != ns {
					return fmt.Errorf("podIdentityAssociations[%d] binds ServiceAccount %s/%s, outside namespace %s: a plan may bind only the ServiceAccounts of its own namespace", j, a.Namespace, a.ServiceAccount, ns)
				}
			}
			continue
		}
		subjects := 0
		for _, op := range slices.Sorted(maps.Keys(st.Condition)) {
			for _, key := range slices.Sorted(maps.Keys(st.Condition[op])) {
				if !strings.HasSuffix(strings.ToLower(key), ":sub") {
					continue
				}
				if !subjectOperators[op] {
					return fmt.Errorf("trust policy statement %d: condition %s on %s: a plan in namespace %s may match the subject only with StringEquals or StringLike", i+1, op, key, ns)
				}
				for _, v := range st.Condition[op][key] {
					subjects++
					if !strings.HasPrefix(v, prefix) || len(v) == len(prefix) {
						return fmt.Errorf("trust policy statement %d grants %q, outside namespace %s: a plan may bind only the ServiceAccounts of its own namespace (cross-namespace bindings need the plan's namespace in --trusted-namespaces)", i+1, v, ns)
					}
				}
			}
		}
		if subjects == 0 {
			return fmt.Errorf("trust policy statement %d has no subject condition: it would admit every ServiceAccount of the cluster", i+1)
		}
	}
	return nil
}

// CheckClaim decides whether a plan of namespace ns may change the existing
// role o (nil: it does not exist yet, and the plan creates it with its
// namespace tag). A trusted plan may; otherwise the role must carry
// TagNamespace = ns, or, for a role iambind made before tenancy existed (no
// namespace tag, the plan's owner tag), a binding tag naming a binding of ns:
// that role was made for ns, and apply tags it now. Anything else is refused,
// with --adopt or not: --adopt would let a tenant take over any role of the
// account by naming it.
func (t Tenancy) CheckClaim(ns string, r *input.DesiredRole, o *iam.ObservedRole) error {
	if o != nil && t.Home != nil {
		// Whoever plans it, a role of another cluster or owner is not this Job's.
		if c, ok := o.Tags[TagCluster]; ok && !slices.Contains(t.Home.Names(), c) {
			return fmt.Errorf("role %s belongs to cluster %s (tag %s), not to this cluster (%s): a plan here may not change it", o.Name, c, TagCluster, strings.Join(t.Home.Names(), ", "))
		}
		if o.Owner() != "" && o.Owner() != r.Owner() {
			return fmt.Errorf("role %s is owned by %s, not by this cluster's owner %s: a plan here may not change it", o.Name, o.Owner(), r.Owner())
		}
	}
	if o == nil || t.Trusted[ns] {
		return nil
	}
	if tag, ok := o.Tags[TagNamespace]; ok {
		if tag == ns {
			return nil
		}
		return fmt.Errorf("role %s belongs to namespace %s (tag %s): a plan in namespace %s may not change it", o.Name, tag, TagNamespace, ns)
	}
	binding := o.Tags[generator.TagBinding]
	if o.Owner() != "" && o.Owner() == r.Owner() && strings.HasPrefix(binding, ns+"/") {
		return nil
	}
	if o.Owner() == "" {
		return fmt.Errorf("role %s exists and was not made by iambind (no %s tag): a plan in namespace %s may not take it over, with --adopt or not (only a plan of a --trusted-namespaces namespace may)", o.Name, generator.TagOwner, ns)
	}
	return fmt.Errorf("role %s has no %s tag and its %s tag is %q, not a binding of namespace %s: a plan in namespace %s may not change it (tag the role %s=%s by hand if it is theirs)",
		o.Name, TagNamespace, generator.TagBinding, binding, ns, ns, TagNamespace, ns)
}

// Claim is one plan's claim on a role name.
type Claim struct {
	Namespace string
	Source    string // ConfigMap ns/name, for messages
}

// ResolveClaims settles a role name claimed by plans of several namespaces
// before AWS is seen: a single trusted claimant wins and the others are
// refused; otherwise every claimant stays and the role's namespace tag
// decides later (Contested). It returns the refusals by claim index.
func (t Tenancy) ResolveClaims(role string, claims []Claim) map[int]error {
	namespaces := map[string]bool{}
	var trusted []int
	for i, c := range claims {
		namespaces[c.Namespace] = true
		if t.Trusted[c.Namespace] {
			trusted = append(trusted, i)
		}
	}
	if len(namespaces) < 2 {
		return nil
	}
	out := map[int]error{}
	switch {
	case len(trusted) == 1:
		winner := claims[trusted[0]]
		for i, c := range claims {
			if c.Namespace != winner.Namespace {
				out[i] = fmt.Errorf("role %s is planned by %s, a trusted namespace: a plan in namespace %s may not claim it", role, winner.Source, c.Namespace)
			}
		}
	case len(trusted) > 1:
		for i := range claims {
			out[i] = fmt.Errorf("role %s is planned by several trusted namespaces (%s): refusing all of them", role, claimSources(claims))
		}
	}
	return out
}

// Contested decides a role name plans of several namespaces claim, once the
// role's tags are known: claimErrs are CheckClaim's verdicts, one per claim.
// When exactly one namespace is admitted it keeps the role and the others
// keep their refusals; when several are (the role does not exist yet), all
// are refused: the first run cannot tell the rightful tenant.
func (t Tenancy) Contested(role string, claims []Claim, claimErrs []error) []error {
	admitted := 0
	for _, err := range claimErrs {
		if err == nil {
			admitted++
		}
	}
	if admitted <= 1 {
		return claimErrs
	}
	out := make([]error, len(claims))
	for i := range claims {
		out[i] = fmt.Errorf("role %s is claimed by plans in several namespaces (%s) and belongs to none of them yet: refusing all until only one plans it", role, claimSources(claims))
	}
	return out
}

func claimSources(claims []Claim) string {
	s := make([]string, len(claims))
	for i, c := range claims {
		s[i] = c.Source
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// PruneScope is what from-cluster prune may delete this run.
type PruneScope struct {
	// Failed namespaces had a plan refused or unreadable this run: their
	// roles are kept, since the plan that would keep them was not read.
	Failed map[string]bool
	// OwnerNamespaces maps each owner claimed by an accepted plan to the
	// namespaces whose plans claim it.
	OwnerNamespaces map[string]map[string]bool
}

// MayPrune decides whether from-cluster prune may delete the owned role o,
// no longer planned. Only roles a cluster plan made (TagNamespace) are
// pruned — roles applied from files are left to `apply -f --prune` — and
// never those of a namespace whose plan failed this run. When the accepted
// plans name more than one owner, an owner counts only for the namespaces
// (and trusted namespaces) whose plans claim it: a tenant naming another
// cluster's owner cannot make this Job prune that cluster's roles.
func (t Tenancy) MayPrune(o *iam.ObservedRole, s PruneScope) error {
	if t.Home != nil {
		c, ok := o.Tags[TagCluster]
		switch {
		case !ok:
			return fmt.Errorf("role %s has no %s tag: not pruned, since it cannot be told from another cluster's role (this cluster's roles get the tag on their next apply)", o.Name, TagCluster)
		case !slices.Contains(t.Home.Names(), c):
			return fmt.Errorf("role %s belongs to cluster %s: not pruned", o.Name, c)
		case !slices.Contains(t.Home.Owners(), o.Owner()):
			return fmt.Errorf("role %s is owned by %s, not by this cluster: not pruned", o.Name, o.Owner())
		}
	}
	ns, ok := o.Tags[TagNamespace]
	if !ok {
		return fmt.Errorf("role %s has no %s tag (it was not created from a cluster plan): prune it with `iambind apply -f ... --prune`", o.Name, TagNamespace)
	}
	if s.Failed[ns] {
		return fmt.Errorf("role %s belongs to namespace %s, whose plan failed this run: not pruned", o.Name, ns)
	}
	if len(s.OwnerNamespaces) <= 1 {
		return nil
	}
	for claimant := range s.OwnerNamespaces[o.Owner()] {
		if claimant == ns || t.Trusted[claimant] {
			return nil
		}
	}
	return fmt.Errorf("role %s (namespace %s, owner %s): the plans name several owners and no plan of %s or of a trusted namespace claims %s: not pruned", o.Name, ns, o.Owner(), ns, o.Owner())
}

// isPodIdentityStatement reports whether a trust statement admits EKS Pod
// Identity and nothing else: its only principal is the service
// pods.eks.amazonaws.com.
func isPodIdentityStatement(st generator.Statement) bool {
	if len(st.Principal) != 1 {
		return false
	}
	svc, ok := st.Principal["Service"]
	return ok && len(svc) == 1 && svc[0] == generator.PodIdentityPrincipal
}

// Reclaims reports whether a plan of namespace ns takes back the role o that
// a plan of another namespace made (its TagNamespace): with --cluster, when
// the name is one ns's bindings derive, that namespace plans it no more
// (claimed reports which namespaces plan the role this run), and ns is the
// name's rightful namespace: the holder's namespace does not derive the name
// at all, or derives it only through a shorter prefix (namespace team
// holding team-b-payments, which belongs to team-b). No administrator has to
// step in once a squatter's plan is gone.
func (t Tenancy) Reclaims(ns string, o *iam.ObservedRole, claimed func(ns string) bool) bool {
	if t.Home == nil || o == nil {
		return false
	}
	holder, ok := o.Tags[TagNamespace]
	if !ok || holder == ns || claimed(holder) || !t.Home.NameAllowed(ns, o.Name) {
		return false
	}
	hp := t.Home.prefixOf(holder, o.Name)
	return hp == "" || len(t.Home.prefixOf(ns, o.Name)) > len(hp)
}
