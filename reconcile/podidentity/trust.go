package podidentity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iambind/iambind/internal/iamglob"

	"github.com/iambind/iambind/generator"
)

// Session tags EKS Pod Identity sets on the role session besides the
// namespace and ServiceAccount ones (aws:RequestTag/<key> in conditions).
const (
	tagKeyClusterName = "aws:RequestTag/eks-cluster-name"
	tagKeyClusterARN  = "aws:RequestTag/eks-cluster-arn"
)

// ValidateStatement checks a Pod Identity trust statement has the shape the
// function writes: Allow, the pods.eks.amazonaws.com principal alone,
// sts:AssumeRole and sts:TagSession only, and aws:SourceAccount and
// aws:SourceArn pinned to EKS clusters of the role's own account. Without
// those two, a hand edit would let any EKS cluster (of any account, through
// the confused deputy) hand out the role. It returns one message per problem.
func ValidateStatement(st generator.Statement, partition, account string) []string {
	var out []string
	if st.Effect != "Allow" {
		out = append(out, fmt.Sprintf("effect %q must be Allow", st.Effect))
	}
	if len(st.Principal) != 1 || len(st.Principal["Service"]) != 1 {
		out = append(out, "principal must be exactly the service "+generator.PodIdentityPrincipal)
	}
	if a := slices.Sorted(slices.Values(st.Action)); !slices.Equal(a, []string(generator.PodIdentityActions)) {
		out = append(out, fmt.Sprintf("action must be %v, not %v", []string(generator.PodIdentityActions), a))
	}
	accounts := st.Condition["StringEquals"][generator.ConditionSourceAcct]
	if len(accounts) != 1 || accounts[0] != account {
		out = append(out, fmt.Sprintf("must pin %s with StringEquals to the role's account %s (got %v)", generator.ConditionSourceAcct, account, []string(accounts)))
	}
	arns := st.Condition["ArnEquals"][generator.ConditionSourceArn]
	if len(arns) == 0 {
		out = append(out, fmt.Sprintf("must pin %s with ArnEquals to the EKS clusters of the role's associations", generator.ConditionSourceArn))
	}
	for _, arn := range arns {
		region, name, ok := generator.EKSClusterOfARN(arn)
		if !ok || arn != generator.EKSClusterARN(partition, region, account, name) {
			out = append(out, fmt.Sprintf("%s %q is not an EKS cluster ARN of account %s in partition %s", generator.ConditionSourceArn, arn, account, partition))
		}
	}
	for op, keys := range st.Condition {
		if op != "StringEquals" && op != "ArnEquals" {
			out = append(out, fmt.Sprintf("condition operator %s is not one iambind writes", op))
			continue
		}
		for key := range keys {
			switch key {
			case generator.ConditionSourceAcct, generator.ConditionSourceArn, generator.TagKeyNamespace, generator.TagKeyServiceAccount:
			default:
				out = append(out, fmt.Sprintf("condition key %s is not one iambind writes", key))
			}
		}
	}
	slices.Sort(out)
	return out
}

// Subject is who asks for credentials through EKS Pod Identity: a
// ServiceAccount of an EKS cluster.
type Subject struct {
	Namespace, ServiceAccount string
	// Cluster is the EKS cluster's name or ARN.
	Cluster string
}

// Verdict is whether one planned role can be assumed by a subject, and if not, why.
type Verdict struct {
	Admitted bool
	Reasons  []string
}

// Check decides whether EKS Pod Identity gives the subject the role: the
// role's plan must hold an association of the subject's ServiceAccount in
// that cluster, and its trust policy must let pods.eks.amazonaws.com
// AssumeRole and TagSession with the request context EKS presents (source
// account and cluster ARN, and the session tags).
func Check(role generator.Role, sub Subject) Verdict {
	account := strings.SplitN(role.ARN, ":", 6)[4]
	clusterARN, name := sub.Cluster, sub.Cluster
	if _, n, ok := generator.EKSClusterOfARN(sub.Cluster); ok {
		name = n
	} else {
		clusterARN = ""
		for _, arns := range podIdentityARNs(role.TrustPolicy) {
			if _, n, ok := generator.EKSClusterOfARN(arns); ok && n == name {
				clusterARN = arns
			}
		}
	}
	var reasons []string
	want := generator.PodIdentityAssociation{Cluster: name, Namespace: sub.Namespace, ServiceAccount: sub.ServiceAccount}
	if !slices.ContainsFunc(role.PodIdentityAssociations, func(a generator.PodIdentityAssociation) bool { return a.Key() == want.Key() }) {
		reasons = append(reasons, fmt.Sprintf("the plan has no EKS Pod Identity association %s for this role", want.Key()))
	}
	if clusterARN == "" {
		reasons = append(reasons, fmt.Sprintf("the trust policy names no EKS cluster %q (%s)", name, generator.ConditionSourceArn))
		return Verdict{Reasons: reasons}
	}
	context := map[string]string{
		generator.ConditionSourceAcct:  account,
		generator.ConditionSourceArn:   clusterARN,
		generator.TagKeyNamespace:      sub.Namespace,
		generator.TagKeyServiceAccount: sub.ServiceAccount,
		tagKeyClusterName:              name,
		tagKeyClusterARN:               clusterARN,
	}
	trusted := false
	for i, st := range role.TrustPolicy.Statement {
		if !generator.IsPodIdentityStatement(st) {
			continue
		}
		why := statementMismatch(st, context)
		if why == "" && st.Effect == "Deny" {
			return Verdict{Reasons: append(reasons, fmt.Sprintf("trust statement %d denies it explicitly", i+1))}
		}
		if why == "" && st.Effect == "Allow" {
			trusted = true
		} else if why != "" && st.Effect == "Allow" {
			reasons = append(reasons, fmt.Sprintf("trust statement %d: %s", i+1, why))
		}
	}
	if !trusted && !slices.ContainsFunc(reasons, func(r string) bool { return strings.HasPrefix(r, "trust statement") }) {
		reasons = append(reasons, "no trust statement allows "+generator.PodIdentityPrincipal+" to sts:AssumeRole and sts:TagSession")
	}
	return Verdict{Admitted: trusted && len(reasons) == 0, Reasons: reasons}
}

func podIdentityARNs(doc generator.PolicyDocument) []string {
	var out []string
	for _, st := range doc.Statement {
		if generator.IsPodIdentityStatement(st) {
			for _, v := range conditionValues(st, generator.ConditionSourceArn) {
				out = append(out, v...)
			}
		}
	}
	return out
}

// statementMismatch returns "" when the statement applies to the request, or why not.
func statementMismatch(st generator.Statement, context map[string]string) string {
	for _, action := range generator.PodIdentityActions {
		if !slices.ContainsFunc(st.Action, func(a string) bool { return iamglob.Match(strings.ToLower(a), strings.ToLower(action)) }) {
			return fmt.Sprintf("action %v does not include %s", []string(st.Action), action)
		}
	}
	for _, op := range slices.Sorted(mapsKeys(st.Condition)) {
		for _, key := range slices.Sorted(mapsKeys(st.Condition[op])) {
			values := st.Condition[op][key]
			actual, known := context[key]
			if !known {
				return fmt.Sprintf("condition %s on %s: iambind check does not know that value of a request", op, key)
			}
			var ok bool
			switch op {
			case "StringEquals", "ArnEquals":
				ok = slices.Contains(values, actual)
			case "StringLike", "ArnLike":
				ok = slices.ContainsFunc(values, func(p string) bool { return iamglob.Match(p, actual) })
			default:
				return fmt.Sprintf("condition operator %s is not evaluated by iambind", op)
			}
			if !ok {
				return fmt.Sprintf("%s %q does not match %s %v", key, actual, op, []string(values))
			}
		}
	}
	return ""
}
