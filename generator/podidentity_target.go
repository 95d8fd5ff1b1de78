package generator

// EKS Pod Identity beyond the plain association (spec.podIdentity): a target
// role EKS chains into (targetRoleArn), the association's session tags and
// its session policy. docs/pod-identity.md describes the two roles.

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// PodIdentitySpec is IdentityBinding.spec.podIdentity.
type PodIdentitySpec struct {
	// TargetAccountID puts the binding's policies on a target role in this
	// account: EKS assumes the association role, then the target role, and
	// gives the pods the target role's credentials.
	TargetAccountID string `json:"targetAccountID,omitempty"`
	// DisableSessionTags turns off the six session tags EKS Pod Identity
	// passes when it assumes the role(s).
	DisableSessionTags bool `json:"disableSessionTags,omitempty"`
	// SessionPolicy narrows the credentials the pods get (the intersection
	// with the role's policies); EKS requires disableSessionTags: true with it.
	SessionPolicy json.RawMessage `json:"sessionPolicy,omitempty"`
}

// PodIdentityTarget is set in the role.json of a target role: the
// association role it trusts and the associations whose externalId its
// trust requires (sts:ExternalId). EKS makes the externalId only when it
// creates an association, so the plan cannot hold it: the reconcile job
// reads it after creating the association and pins the trust to it.
type PodIdentityTarget struct {
	AssociationRoleARN string                   `json:"associationRoleArn"`
	Associations       []PodIdentityAssociation `json:"associations"`
}

// Pod Identity chaining: the names iambind writes.
const (
	// ConditionExternalID is the trust condition key EKS's externalId is
	// matched against when it assumes the target role.
	ConditionExternalID = "sts:ExternalId"
	// AssumeTargetPolicyName is the association role's one inline policy
	// when it chains into a target role.
	AssumeTargetPolicyName = "iambind-pod-identity-target"
	// AnnotationPlanTargetRoleARN is on a plan ConfigMap that also holds a target role.
	AnnotationPlanTargetRoleARN = "iambind.dev/target-role-arn"
	// PlanKeyTargetRole and PlanKeyTargetTrustPolicy are the target role's
	// files in the binding's plan ConfigMap, next to role.json.
	PlanKeyTargetRole        = "target-role.json"
	PlanKeyTargetTrustPolicy = "target-trust-policy.json"
	// TargetRoleSuffix names a target role in the association role's own
	// account, where the two cannot share a name.
	TargetRoleSuffix = "-target"

	// MaxSessionPolicyLength is the size of a session policy STS accepts
	// (AssumeRole Policy: 1..2048 characters). The EKS API model declares
	// the association's policy as an unconstrained string; EKS passes it to
	// STS when it assumes the role, so STS's limit is the one that holds.
	MaxSessionPolicyLength = 2048
)

// podIdentityOptions is spec.podIdentity after validation.
type podIdentityOptions struct {
	targetAccount string
	disableTags   bool
	policy        string // compact JSON, "" for none
}

// checkPodIdentitySpec validates spec.podIdentity. It returns zero options
// for mode irsa (the block is kept for a later switch, with a warning).
func checkPodIdentitySpec(b *IdentityBinding, mode string, first *IdentityCluster, sink problemSink) podIdentityOptions {
	p := b.Spec.PodIdentity
	if p == nil {
		return podIdentityOptions{}
	}
	if mode == ModeIRSA {
		sink.warnf("spec.podIdentity", "is set but spec.mode is %s: it takes effect in mode %s or %s", ModeIRSA, ModePodIdentity, ModeBoth)
		return podIdentityOptions{}
	}
	opts := podIdentityOptions{targetAccount: p.TargetAccountID, disableTags: p.DisableSessionTags}
	if p.TargetAccountID != "" {
		switch {
		case !accountIDPattern.MatchString(p.TargetAccountID):
			sink.errorf("spec.podIdentity.targetAccountID", "%q must be exactly 12 digits (an AWS account ID; quote it in YAML)", p.TargetAccountID)
		case p.TargetAccountID == first.Spec.AccountID:
			sink.warnf("spec.podIdentity.targetAccountID", "is the cluster's own account %s: EKS chains from the association role into a second role in the same account, which only adds a hop; leave targetAccountID out unless that is what you want", first.Spec.AccountID)
		}
	}
	if len(p.SessionPolicy) > 0 && string(p.SessionPolicy) != "null" {
		field := "spec.podIdentity.sessionPolicy"
		if !p.DisableSessionTags {
			sink.errorf(field, "needs spec.podIdentity.disableSessionTags: true (EKS refuses a session policy with session tags on)")
		}
		doc, err := decodePolicyDocument(p.SessionPolicy)
		switch {
		case err != nil:
			sink.errorf(field, "%v", err)
		default:
			if problem := checkPolicyShape(doc); problem != "" {
				sink.errorf(field, "%s", problem)
			} else if problem := checkSessionPolicy(doc); problem != "" {
				sink.errorf(field, "%s", problem)
			}
			opts.policy = string(doc)
		}
	}
	return opts
}

// checkSessionPolicy applies STS's rules for a session policy: its length
// and characters (tab, line feed, carriage return and U+0020..U+00FF).
func checkSessionPolicy(doc []byte) string {
	if n := utf8.RuneCount(doc); n > MaxSessionPolicyLength {
		return fmt.Sprintf("is %d characters as compact JSON; a session policy may have at most %d (STS AssumeRole)", n, MaxSessionPolicyLength)
	}
	for _, r := range string(doc) {
		if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0xFF) {
			return fmt.Sprintf("holds the character %q; a session policy may hold only U+0020..U+00FF, tab, line feed and carriage return", r)
		}
	}
	return ""
}

// applyPodIdentityOptions writes the options into the associations and, with
// session tags off, drops the trust conditions on the tags EKS no longer sends.
func applyPodIdentityOptions(opts podIdentityOptions, trust *PolicyDocument, assocs []PodIdentityAssociation) {
	for i := range assocs {
		assocs[i].DisableSessionTags = opts.disableTags
		assocs[i].Policy = opts.policy
	}
	if !opts.disableTags {
		return
	}
	for i, st := range trust.Statement {
		if !IsPodIdentityStatement(st) {
			continue
		}
		eq := maps.Clone(st.Condition["StringEquals"])
		delete(eq, TagKeyNamespace)
		delete(eq, TagKeyServiceAccount)
		cond := maps.Clone(st.Condition)
		cond["StringEquals"] = eq
		trust.Statement[i].Condition = cond
	}
}

// splitTargetRole turns a planned role into the association role and the
// target role when spec.podIdentity.targetAccountID is set. The target role
// holds the binding's policies and trusts exactly the association role; the
// association role keeps its trust and gets one permission, to assume (and,
// with session tags, tag) the target role. In mode both the association role
// also keeps the policies: IRSA pods still get it directly during the
// migration, and only Pod Identity pods chain into the target.
func splitTargetRole(role *Role, opts podIdentityOptions, mode, targetPath string) Role {
	partition := strings.SplitN(role.ARN, ":", 3)[1]
	accountID := strings.SplitN(role.ARN, ":", 6)[4]
	name := role.Name
	if opts.targetAccount == accountID {
		name = targetRoleName(role.Name)
	}
	target := Role{
		Name:                name,
		Path:                targetPath,
		ARN:                 RoleARN(partition, opts.targetAccount, targetPath, name),
		Description:         role.Description,
		MaxSessionDuration:  role.MaxSessionDuration,
		PermissionsBoundary: targetBoundary(role.PermissionsBoundary, partition, accountID, opts.targetAccount),
		ManagedPolicyARNs:   role.ManagedPolicyARNs,
		InlinePolicies:      role.InlinePolicies,
		Tags:                maps.Clone(role.Tags),
		OIDCProviders:       []OIDCProvider{},
	}
	actions := StringList{"sts:AssumeRole"}
	if !opts.disableTags {
		actions = PodIdentityActions
	}
	target.TrustPolicy = PolicyDocument{Version: PolicyVersion, Statement: []Statement{{
		Effect:    "Allow",
		Principal: map[string]StringList{"AWS": {role.ARN}},
		Action:    actions,
	}}}
	var pinned []PodIdentityAssociation
	for i := range role.PodIdentityAssociations {
		role.PodIdentityAssociations[i].TargetRoleARN = target.ARN
		a := role.PodIdentityAssociations[i]
		pinned = append(pinned, PodIdentityAssociation{Cluster: a.Cluster, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount})
	}
	target.PodIdentityTarget = &PodIdentityTarget{AssociationRoleARN: role.ARN, Associations: pinned}

	// Keys sorted, as decodePolicyDocument writes inline documents.
	assume, _ := MarshalJSON(map[string]any{"Statement": []map[string]any{{"Action": actions, "Effect": "Allow", "Resource": target.ARN}}, "Version": PolicyVersion}, false)
	if mode == ModePodIdentity {
		role.ManagedPolicyARNs = []string{}
		role.InlinePolicies = map[string]json.RawMessage{}
	} else {
		role.InlinePolicies = maps.Clone(role.InlinePolicies)
	}
	role.InlinePolicies[AssumeTargetPolicyName] = assume
	return target
}

// targetRoleName is the target role's name in the association role's own
// account: the name with -target, cut like derived names when too long.
func targetRoleName(name string) string {
	full := name + TargetRoleSuffix
	if len(full) <= MaxRoleNameLength {
		return full
	}
	return DeriveRoleName("", "", full)[1:]
}

// targetBoundary moves a permissions boundary named in the association
// role's account to the target account (a boundary is a policy of the
// role's own account); an ARN elsewhere (such as an AWS managed policy) stays.
func targetBoundary(boundary, partition, from, to string) string {
	prefix := fmt.Sprintf("arn:%s:iam::%s:policy/", partition, from)
	if rest, ok := strings.CutPrefix(boundary, prefix); ok {
		return fmt.Sprintf("arn:%s:iam::%s:policy/%s", partition, to, rest)
	}
	return boundary
}

// SortedExternalIDs is the sts:ExternalId values a target trust requires, sorted and unique.
func SortedExternalIDs(ids []string) StringList {
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}

// PinExternalIDs returns the target role's trust with every statement that
// trusts the association role conditioned on sts:ExternalId being one of ids.
func PinExternalIDs(trust PolicyDocument, ids []string) PolicyDocument {
	if len(ids) == 0 {
		return trust
	}
	out := PolicyDocument{Version: trust.Version}
	for _, st := range trust.Statement {
		if len(st.Principal["AWS"]) > 0 {
			cond := maps.Clone(st.Condition)
			if cond == nil {
				cond = map[string]map[string]StringList{}
			}
			eq := maps.Clone(cond["StringEquals"])
			if eq == nil {
				eq = map[string]StringList{}
			}
			eq[ConditionExternalID] = SortedExternalIDs(ids)
			cond["StringEquals"] = eq
			st.Condition = cond
		}
		out.Statement = append(out.Statement, st)
	}
	return out
}

// applyPoliciesToTarget runs the role policies (guardrails) over the target
// role too: it holds the binding's permissions.
func applyPoliciesToTarget(pb *plannedBinding, b *IdentityBinding, policies []RolePolicy, sink problemSink) bool {
	if pb.target == nil {
		return true
	}
	target, ok := *pb.target, true
	partition := strings.SplitN(target.ARN, ":", 3)[1]
	for _, p := range policies {
		var findings []Finding
		target, findings = p.Check(target)
		for _, f := range findings {
			sink.errorf(bindingField(f.Field, target, b, partition), "target role %s: %s", target.ARN, f.Message)
			ok = false
		}
	}
	if !ok {
		return false
	}
	targetJSON, err := MarshalJSON(target, true)
	if err != nil {
		sink.errorf("spec.podIdentity", "cannot encode %s: %v", PlanKeyTargetRole, err)
		return false
	}
	pb.target, pb.targetJSON = &target, targetJSON
	return true
}

// plannedRoles counts the roles of the plan, target roles included.
func plannedRoles(planned []*plannedBinding) int {
	n := len(planned)
	for _, pb := range planned {
		if pb.target != nil {
			n++
		}
	}
	return n
}

// checkUniqueTargetRoles extends checkUniqueRoles to the target roles: a
// target role may not have the name of another planned role of its account.
func checkUniqueTargetRoles(planned []*plannedBinding, owners map[string]*plannedBinding, problems *Problems) {
	for _, pb := range planned {
		if pb.target == nil {
			continue
		}
		key := roleKey(pb.target.ARN, pb.target.Name)
		if other, dup := owners[key]; dup {
			sink := problemSink{ref: pb.ref, problems: problems}
			sink.errorf("spec.podIdentity.targetAccountID", "the target role %s is also planned by IdentityBinding %s; IAM role names are unique per account (case-insensitive): set spec.role.name", pb.target.ARN, other.key)
			continue
		}
		owners[key] = pb
	}
}
