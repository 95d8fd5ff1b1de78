package importer

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/change"
)

// issuerKey is one OIDC provider a role trusts: the provider's partition,
// account and issuer host and path.
type issuerKey struct {
	Partition, Account, HostPath string
}

func (k issuerKey) URL() string { return "https://" + k.HostPath }

// liveTrust is what a role's trust policy says, read for import.
type liveTrust struct {
	atoms    []change.TrustAtom
	issuers  []issuerKey // sorted, distinct
	subjects []generator.ServiceAccount
	wildcard bool
	// audiences are the distinct aud values; noAudience is set when some
	// statement has no aud condition at all (irsa-manager's roles).
	audiences   []string
	noAudience  bool
	podIdentity bool
	// unexpressible is why no binding can say this trust ("" when one
	// can); the fields above then hold only the statements a binding can
	// say, for the closest binding.
	unexpressible string
}

const (
	subPrefix    = "system:serviceaccount:"
	actionOIDC   = "sts:assumerolewithwebidentity"
	providerPart = ":oidc-provider/"
)

// readTrust reads a live trust policy into what a binding can say, or the
// reason no binding can say it.
func readTrust(doc string) (*liveTrust, string) {
	atoms, err := change.TrustAtoms(doc)
	if err != nil {
		return nil, "trust policy: " + err.Error()
	}
	lt := &liveTrust{atoms: atoms}
	issuers := map[issuerKey]bool{}
	subjects := map[generator.ServiceAccount]bool{}
	auds := map[string]bool{}
	for _, a := range atoms {
		if reason := lt.readAtom(a, issuers, subjects, auds); reason != "" && lt.unexpressible == "" {
			lt.unexpressible = reason
		}
	}
	for k := range issuers {
		lt.issuers = append(lt.issuers, k)
	}
	slices.SortFunc(lt.issuers, func(a, b issuerKey) int {
		return strings.Compare(a.Account+a.HostPath, b.Account+b.HostPath)
	})
	for s := range subjects {
		lt.subjects = append(lt.subjects, s)
	}
	slices.SortFunc(lt.subjects, func(a, b generator.ServiceAccount) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for a := range auds {
		lt.audiences = append(lt.audiences, a)
	}
	slices.Sort(lt.audiences)
	if lt.unexpressible != "" && len(lt.issuers) == 0 && !lt.podIdentity {
		return nil, lt.unexpressible
	}
	return lt, lt.unexpressible
}

// readAtom adds one atom to what the trust says, or returns why no binding
// can say it.
func (lt *liveTrust) readAtom(a change.TrustAtom, issuers map[issuerKey]bool, subjects map[generator.ServiceAccount]bool, auds map[string]bool) string {
	switch {
	case a.PrincipalType == "Federated" && strings.Contains(a.Principal, providerPart):
		k, ok := parseProviderARN(a.Principal)
		if !ok {
			return fmt.Sprintf("principal %s is not an IAM OIDC provider ARN", a.Principal)
		}
		if a.Action != actionOIDC {
			return fmt.Sprintf("the OIDC provider %s is trusted for action %s, not sts:AssumeRoleWithWebIdentity", k.HostPath, a.Action)
		}
		prefix := strings.ToLower(k.HostPath) + ":"
		sub, aud := false, false
		for _, c := range a.Conditions {
			switch {
			case c.Key == prefix+"sub" && (c.Op == "StringEquals" || c.Op == "StringLike"):
				sa, wild, reason := parseSubject(c.Value, c.Op == "StringLike")
				if reason != "" {
					return reason
				}
				subjects[sa] = true
				lt.wildcard = lt.wildcard || wild
				sub = true
			case c.Key == prefix+"aud" && c.Op == "StringEquals":
				auds[c.Value] = true
				aud = true
			default:
				return fmt.Sprintf("condition %s on %s is beyond audience and subject", c.Op, c.Key)
			}
		}
		if !sub {
			return fmt.Sprintf("a statement trusting %s has no sub condition: it admits every ServiceAccount of that issuer", k.HostPath)
		}
		if !aud {
			lt.noAudience = true
		}
		issuers[k] = true
	case a.PrincipalType == "Service" && a.Principal == generator.PodIdentityPrincipal:
		if a.Action != "sts:assumerole" && a.Action != "sts:tagsession" {
			return fmt.Sprintf("%s is trusted for action %s", a.Principal, a.Action)
		}
		lt.podIdentity = true
	default:
		return fmt.Sprintf("principal %s %s is neither a cluster's OIDC provider nor %s", a.PrincipalType, a.Principal, generator.PodIdentityPrincipal)
	}
	return ""
}

func parseProviderARN(arn string) (issuerKey, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !isAccountID(parts[4]) {
		return issuerKey{}, false
	}
	hp, ok := strings.CutPrefix(parts[5], "oidc-provider/")
	if !ok || hp == "" {
		return issuerKey{}, false
	}
	return issuerKey{Partition: parts[1], Account: parts[4], HostPath: hp}, true
}

// parseSubject reads system:serviceaccount:<ns>:<name>; a glob is allowed
// in the name only (what a binding can say).
func parseSubject(v string, like bool) (generator.ServiceAccount, bool, string) {
	rest, ok := strings.CutPrefix(v, subPrefix)
	ns, name, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || ns == "" || name == "" || strings.Contains(name, ":") {
		return generator.ServiceAccount{}, false, fmt.Sprintf("subject %q is not system:serviceaccount:<namespace>:<name>", v)
	}
	wild := like && strings.ContainsAny(name, "*?")
	if like && strings.ContainsAny(ns, "*?") {
		return generator.ServiceAccount{}, false, fmt.Sprintf("subject %q has a namespace wildcard, which a binding cannot express", v)
	}
	if strings.Contains(v, "${") {
		return generator.ServiceAccount{}, false, fmt.Sprintf("subject %q uses a policy variable", v)
	}
	if len(validation.IsDNS1123Label(ns)) > 0 || (!wild && len(validation.IsDNS1123Subdomain(name)) > 0) {
		return generator.ServiceAccount{}, false, fmt.Sprintf("subject %q does not name a valid namespace and ServiceAccount", v)
	}
	return generator.ServiceAccount{Namespace: ns, Name: name}, wild, ""
}

// tightening compares a live trust with a rendered one that is not the
// same: when the rendered one admits the same ServiceAccounts (same
// principals, actions and subjects) and only adds conditions, it returns
// what it adds ("audience condition"); else ok is false.
func tightening(live, rendered []change.TrustAtom) (added []string, ok bool) {
	key := func(a change.TrustAtom) string {
		k := a.PrincipalType + "|" + a.Principal + "|" + a.Action
		for _, c := range a.Conditions {
			if strings.HasSuffix(c.Key, ":sub") {
				k += "|" + c.Op + "=" + c.Value
			}
		}
		return k
	}
	liveBy := map[string][]change.TrustAtom{}
	for _, a := range live {
		liveBy[key(a)] = append(liveBy[key(a)], a)
	}
	seen := map[string]bool{}
	addedSet := map[string]bool{}
	for _, r := range rendered {
		k := key(r)
		seen[k] = true
		cands, found := liveBy[k]
		if !found {
			return nil, false
		}
		have := map[change.TrustCondition]bool{}
		for _, c := range r.Conditions {
			have[c] = true
		}
		matched := false
		for _, l := range cands {
			sub := true
			for _, c := range l.Conditions {
				if !have[c] {
					sub = false
					break
				}
			}
			if sub {
				matched = true
				lc := map[change.TrustCondition]bool{}
				for _, c := range l.Conditions {
					lc[c] = true
				}
				for _, c := range r.Conditions {
					if !lc[c] {
						addedSet[describeCondition(c.Key)] = true
					}
				}
				break
			}
		}
		if !matched {
			return nil, false
		}
	}
	for k := range liveBy {
		if !seen[k] {
			return nil, false
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for k := range addedSet {
			if !yield(k) {
				return
			}
		}
	}), true
}

func describeCondition(key string) string {
	switch {
	case strings.HasSuffix(key, ":aud"):
		return "audience condition"
	case key == "aws:sourceaccount" || key == "aws:sourcearn":
		return "source account and cluster conditions"
	case strings.HasPrefix(key, "aws:requesttag/"):
		return "session tag conditions"
	}
	return "condition on " + key
}
