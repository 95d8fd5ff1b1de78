package generator

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Binding modes: which mechanism gives pods the role's credentials.
const (
	ModeIRSA        = "irsa"        // web identity: OIDC provider + annotated ServiceAccount
	ModePodIdentity = "podIdentity" // EKS Pod Identity: service principal + association
	ModeBoth        = "both"        // the migration step: the role trusts both
)

// EKS Pod Identity: the service principal that assumes the role for pods,
// the actions it needs, and the session tags it sets (which trust policies
// may test as aws:RequestTag/<key>).
const (
	PodIdentityPrincipal = "pods.eks.amazonaws.com"
	TagKeyNamespace      = "aws:RequestTag/kubernetes-namespace"
	TagKeyServiceAccount = "aws:RequestTag/kubernetes-service-account"
	ConditionSourceAcct  = "aws:SourceAccount"
	ConditionSourceArn   = "aws:SourceArn"
)

// PodIdentityActions are the actions EKS Pod Identity calls on the role:
// AssumeRole, and TagSession for the session tags it passes.
var PodIdentityActions = StringList{"sts:AssumeRole", "sts:TagSession"}

// PodIdentityAssociation is one EKS Pod Identity association the plan needs:
// ServiceAccount namespace/serviceAccount of EKS cluster `cluster` gets the role.
type PodIdentityAssociation struct {
	Cluster        string `json:"cluster"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	// TargetRoleARN, DisableSessionTags and Policy are the association's
	// fields of the same names in the EKS API (spec.podIdentity).
	TargetRoleARN      string `json:"targetRoleArn,omitempty"`
	DisableSessionTags bool   `json:"disableSessionTags,omitempty"`
	Policy             string `json:"policy,omitempty"`
}

// Key identifies an association: EKS allows one per cluster, namespace and ServiceAccount.
func (a PodIdentityAssociation) Key() string {
	return a.Cluster + "/" + a.Namespace + "/" + a.ServiceAccount
}

// ComparePodIdentityAssociations orders associations by cluster, namespace, then ServiceAccount.
func ComparePodIdentityAssociations(a, b PodIdentityAssociation) int {
	return cmp.Or(strings.Compare(a.Cluster, b.Cluster), strings.Compare(a.Namespace, b.Namespace),
		strings.Compare(a.ServiceAccount, b.ServiceAccount))
}

// eksClusterNamePattern is EKS's cluster name rule: 1-100 characters,
// starting with a letter or digit, then letters, digits, '-' and '_'.
var eksClusterNamePattern = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`)

// validateEKSClusterName checks IdentityCluster.spec.eksClusterName.
func validateEKSClusterName(name, field string, sink problemSink) {
	if name != "" && !eksClusterNamePattern.MatchString(name) {
		sink.errorf(field, "%q is not an EKS cluster name (1-100 letters, digits, '-' and '_', starting with a letter or digit)", name)
	}
}

// EKSClusterARN is the ARN of an EKS cluster, the aws:SourceArn EKS Pod
// Identity presents when it assumes a role for a pod of that cluster.
func EKSClusterARN(partition, region, accountID, name string) string {
	return fmt.Sprintf("arn:%s:eks:%s:%s:cluster/%s", partition, region, accountID, name)
}

// EKSClusterOfARN splits a cluster ARN into region and name.
func EKSClusterOfARN(arn string) (region, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "eks" {
		return "", "", false
	}
	name, ok = strings.CutPrefix(parts[5], "cluster/")
	return parts[3], name, ok && name != "" && parts[3] != ""
}

// bindingMode returns the binding's mode with its default, or "" after
// reporting an unknown one.
func bindingMode(b *IdentityBinding, sink problemSink) string {
	switch b.Spec.Mode {
	case "":
		return ModeIRSA
	case ModeIRSA, ModePodIdentity, ModeBoth:
		return b.Spec.Mode
	}
	hint := ""
	for _, m := range []string{ModeIRSA, ModePodIdentity, ModeBoth} {
		if strings.EqualFold(m, b.Spec.Mode) {
			hint = fmt.Sprintf(" (modes are case-sensitive: %s)", m)
		}
	}
	sink.errorf("spec.mode", "%q is not a mode%s: use %s (web identity, the default), %s (EKS Pod Identity) or %s (IRSA and Pod Identity together, the migration step)",
		b.Spec.Mode, hint, ModeIRSA, ModePodIdentity, ModeBoth)
	return ""
}

// checkPodIdentityInputs reports what a podIdentity or both binding lacks:
// every cluster needs eksClusterName and region (the cluster ARN of the
// trust condition), two clusters may not share an EKS name (associations are
// keyed by it), and Pod Identity has no wildcard subjects.
func checkPodIdentityInputs(b *IdentityBinding, mode string, used []*IdentityCluster, sink problemSink) {
	seen := map[string]string{}
	for i, c := range used {
		field := fmt.Sprintf("spec.clusters[%d]", i)
		if len(b.Spec.Clusters) == 0 {
			field = "spec.mode"
		}
		var missing []string
		if c.Spec.EKSClusterName == "" {
			missing = append(missing, "spec.eksClusterName (the EKS cluster's name)")
		}
		if c.Spec.Region == "" {
			missing = append(missing, "spec.region (the cluster ARN in the trust policy names it)")
		}
		if len(missing) > 0 {
			sink.errorf(field, "mode %s needs IdentityCluster %q to set %s", mode, c.Metadata.Name, strings.Join(missing, " and "))
			continue
		}
		if other, dup := seen[c.Spec.EKSClusterName]; dup {
			sink.errorf(field, "IdentityCluster %q has the same eksClusterName %q as %q: associations are keyed by the EKS cluster name, list it once", c.Metadata.Name, c.Spec.EKSClusterName, other)
		}
		seen[c.Spec.EKSClusterName] = c.Metadata.Name
	}
	sas := b.Spec.ServiceAccounts
	for i, sa := range sas {
		if IsWildcard(sa.Name) || IsWildcard(sa.Namespace) {
			sink.errorf(fmt.Sprintf("spec.serviceAccounts[%d].name", i),
				"%q is a wildcard subject, but EKS Pod Identity associates exactly one namespace and ServiceAccount: list each ServiceAccount (mode %s)", sa.Name, mode)
		}
	}
}

// podIdentityPlan is the Pod Identity part of a binding's role: the trust
// statement and the associations.
func podIdentityPlan(used []*IdentityCluster, subjects []subjectRef) (Statement, []PodIdentityAssociation) {
	first := used[0].Spec
	var arns []string
	var assocs []PodIdentityAssociation
	for _, c := range used {
		arns = append(arns, EKSClusterARN(c.Spec.Partition, c.Spec.Region, c.Spec.AccountID, c.Spec.EKSClusterName))
		for _, s := range subjects {
			assocs = append(assocs, PodIdentityAssociation{Cluster: c.Spec.EKSClusterName, Namespace: s.Namespace, ServiceAccount: s.Name})
		}
	}
	var namespaces, names []string
	for _, s := range subjects {
		namespaces = append(namespaces, s.Namespace)
		names = append(names, s.Name)
	}
	slices.SortFunc(assocs, ComparePodIdentityAssociations)
	return BuildPodIdentityStatement(first.AccountID, arns, namespaces, names), assocs
}

// BuildPodIdentityStatement is the trust statement for EKS Pod Identity: the
// service principal may AssumeRole and TagSession only on behalf of the given
// clusters of the account (aws:SourceAccount, aws:SourceArn: AWS's guard
// against the confused deputy) and only with the session tags of the planned
// namespaces and ServiceAccounts. Those two tag lists are tested separately,
// so a pair across them (namespace A with the ServiceAccount of B) passes the
// trust policy too; the associations, owned by iambind, are what bind exactly.
func BuildPodIdentityStatement(accountID string, clusterARNs, namespaces, serviceAccounts []string) Statement {
	sorted := func(v []string) StringList { return slices.Compact(slices.Sorted(slices.Values(v))) }
	return Statement{
		Effect:    "Allow",
		Principal: map[string]StringList{"Service": {PodIdentityPrincipal}},
		Action:    PodIdentityActions,
		Condition: map[string]map[string]StringList{
			"StringEquals": {
				ConditionSourceAcct:  {accountID},
				TagKeyNamespace:      sorted(namespaces),
				TagKeyServiceAccount: sorted(serviceAccounts),
			},
			"ArnEquals": {ConditionSourceArn: sorted(clusterARNs)},
		},
	}
}

// IsPodIdentityStatement reports whether a trust statement is for EKS Pod Identity.
func IsPodIdentityStatement(st Statement) bool {
	return slices.Contains(st.Principal["Service"], PodIdentityPrincipal)
}

// ValidPodIdentityAssociation reports what is wrong with an association read
// from a plan ("" when nothing): the names EKS and Kubernetes accept.
func ValidPodIdentityAssociation(a PodIdentityAssociation) string {
	switch {
	case !eksClusterNamePattern.MatchString(a.Cluster):
		return fmt.Sprintf("cluster %q is not an EKS cluster name", a.Cluster)
	case len(a.Namespace) > 63 || !dns1123Label.MatchString(a.Namespace):
		return fmt.Sprintf("namespace %q is not a namespace name", a.Namespace)
	case len(a.ServiceAccount) > 253 || !dns1123Subdomain.MatchString(a.ServiceAccount):
		return fmt.Sprintf("serviceAccount %q is not a ServiceAccount name", a.ServiceAccount)
	}
	return ""
}
