package safety

import (
	"fmt"
	"sort"
	"strings"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/policylint"
	"github.com/iambind/iambind/reconcile/input"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// Problems collected while validating a plan.
type Problems struct {
	Errors   []string
	Warnings []string
}

func (p *Problems) errorf(format string, args ...any) {
	p.Errors = append(p.Errors, fmt.Sprintf(format, args...))
}

func (p *Problems) warnf(format string, args ...any) {
	p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...))
}

// TrustPolicyOverDefault reports whether any planned trust policy is larger
// than IAM's default quota, i.e. whether the account's real quota matters.
func TrustPolicyOverDefault(in *input.Input) bool {
	for _, r := range in.Roles {
		doc, _ := generator.MarshalJSON(r.TrustPolicy, false)
		if generator.NonWhitespaceLength(doc) > generator.DefaultMaxTrustPolicySize {
			return true
		}
	}
	return false
}

// Validate checks the IAM limits the SDK does not check (and emulators do
// not enforce), so that a plan IAM would reject fails before any write.
// trustQuota is the account's trust-policy size quota (2048 by default).
func Validate(in *input.Input, trustQuota int) Problems {
	var p Problems
	accounts := map[string]bool{}
	for _, r := range in.Roles {
		where := fmt.Sprintf("role %s (%s)", r.Name, r.Source)
		if !generator.IsValidRoleName(r.Name) {
			p.errorf("%s: name must be 1-%d characters of [A-Za-z0-9_+=,.@-]", where, generator.MaxRoleNameLength)
		}
		if !generator.IsValidRolePath(r.Path) {
			p.errorf("%s: path %q must start and end with / and be at most %d characters", where, r.Path, generator.MaxRolePathLength)
		}
		if m := input.RoleARNRE.FindStringSubmatch(r.ARN); m == nil || m[3] != r.Path+r.Name {
			p.errorf("%s: arn %q does not match path %q and name %q", where, r.ARN, r.Path, r.Name)
		} else {
			accounts[m[1]+":"+m[2]] = true
		}
		if len(r.Description) > generator.MaxDescriptionLength {
			p.errorf("%s: description is %d characters, IAM allows %d", where, len(r.Description), generator.MaxDescriptionLength)
		}
		if r.MaxSessionDuration < generator.MinSessionDuration || r.MaxSessionDuration > generator.MaxSessionDuration {
			p.errorf("%s: maxSessionDuration %d must be within %d..%d", where, r.MaxSessionDuration, generator.MinSessionDuration, generator.MaxSessionDuration)
		}
		if r.Owner() == "" {
			p.errorf("%s: tags have no %s: ownership cannot be established", where, generator.TagOwner)
		}
		trust, _ := generator.MarshalJSON(r.TrustPolicy, false)
		if n := generator.NonWhitespaceLength(trust); n > trustQuota {
			p.errorf("%s: trust policy is %d characters (without white space), over the account quota of %d: use fewer subjects per role, a namespace wildcard, or raise the quota", where, n, trustQuota)
		}
		if len(r.TrustPolicy.Statement) == 0 {
			p.errorf("%s: trust policy has no statement", where)
		}
		validateTrust(&p, where, r)
		for _, a := range r.ManagedPolicyARNs {
			if !generator.IsPolicyARN(a) {
				p.errorf("%s: managed policy %q is not an IAM policy ARN (arn:<partition>:iam::<aws|account>:policy/<name>)", where, a)
			}
		}
		if r.PermissionsBoundary != "" && !generator.IsPolicyARN(r.PermissionsBoundary) {
			p.errorf("%s: permissionsBoundary %q is not an IAM policy ARN (arn:<partition>:iam::<aws|account>:policy/<name>)", where, r.PermissionsBoundary)
		}
		total := 0
		names := make([]string, 0, len(r.InlinePolicies))
		for name := range r.InlinePolicies {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if !generator.IsValidInlinePolicyName(name) {
				p.errorf("%s: inline policy name %q must be 1-%d characters of [A-Za-z0-9_+=,.@-]", where, name, generator.MaxInlinePolicyName)
			}
			total += generator.NonWhitespaceLength(r.InlinePolicies[name])
		}
		if total > generator.MaxInlinePolicyTotal {
			p.errorf("%s: inline policies total %d characters (without white space), IAM allows %d per role", where, total, generator.MaxInlinePolicyTotal)
		} else {
			// Within IAM's size, so the lint's work is bounded too.
			for _, name := range names {
				lintInline(&p, where, r, name)
			}
			for _, sp := range generator.SessionPolicies(r.Role) {
				if len(sp.Policy) <= generator.MaxInlinePolicyTotal {
					lintDocument(&p, fmt.Sprintf("%s: binding %s, session policy (podIdentityAssociations[%d].policy)", where, r.Binding(), sp.Index), []byte(sp.Policy))
				}
			}
		}
		switch n := len(r.ManagedPolicyARNs); {
		case n > generator.MaxManagedPerRole:
			p.errorf("%s: %d managed policies, IAM allows at most %d per role (even with a raised quota)", where, n, generator.MaxManagedPerRole)
		case n > generator.DefaultManagedPerRole:
			p.warnf("%s: %d managed policies, over IAM's default quota of %d per role (fine only if your account's quota was raised)", where, n, generator.DefaultManagedPerRole)
		}
		if len(r.Tags) > generator.MaxTagsPerRole {
			p.errorf("%s: %d tags, IAM allows %d", where, len(r.Tags), generator.MaxTagsPerRole)
		}
		for k, v := range r.Tags {
			if len(k) == 0 || len(k) > generator.MaxTagKeyLength || strings.HasPrefix(strings.ToLower(k), "aws:") {
				p.errorf("%s: tag key %q must be 1-%d characters and not start with aws:", where, k, generator.MaxTagKeyLength)
			}
			if len(v) > generator.MaxTagValueLength {
				p.errorf("%s: tag %q value is %d characters, IAM allows %d", where, k, len(v), generator.MaxTagValueLength)
			}
		}
		for _, pr := range r.OIDCProviders {
			if !strings.HasPrefix(pr.URL, "https://") {
				p.errorf("%s: OIDC provider URL %q must start with https://", where, pr.URL)
			}
		}
	}
	for _, d := range in.Discovery {
		accounts[d.Partition+":"+d.AccountID] = true
	}
	if len(accounts) > 1 {
		keys := make([]string, 0, len(accounts))
		for k := range accounts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		p.errorf("the plan spans several accounts (%s): give --assume-role 'arn:{partition}:iam::{account}:role/NAME' to reconcile each account through an assumed role, or run iambind once per account with that account's credentials", strings.Join(keys, ", "))
	}
	sort.Strings(p.Errors)
	sort.Strings(p.Warnings)
	return p
}

// lintInline applies the policy lint (docs/lint.md) to an inline policy of
// the plan, as the function did when it rendered it: a hand-edited plan
// ConfigMap is held to the same rules.
func lintInline(p *Problems, where string, r *input.DesiredRole, name string) {
	lintDocument(p, fmt.Sprintf("%s: binding %s, inline policy %s", where, r.Binding(), name), r.InlinePolicies[name])
}

// lintDocument reports the lint findings of one policy document, each
// line starting with what names it.
func lintDocument(p *Problems, what string, doc []byte) {
	for _, f := range policylint.Document(doc) {
		if f.Severity == policylint.Error {
			p.errorf("%s: %s", what, f)
		} else {
			p.warnf("%s: %s", what, f)
		}
	}
}

// validateTrust checks the trust policy has the only shape iambind writes:
// every statement allows sts:AssumeRoleWithWebIdentity to one
// of the role's own OIDC providers, conditioned on both <issuer>:aud and
// <issuer>:sub. A hand edit that drops a condition would let any token of
// the issuer (any ServiceAccount of the cluster) assume the role.
func validateTrust(p *Problems, where string, r *input.DesiredRole) {
	providers := map[string]bool{}
	if m := input.RoleARNRE.FindStringSubmatch(r.ARN); m != nil {
		for i, pr := range r.OIDCProviders {
			if want := generator.OIDCProviderARN(m[1], m[2], pr.URL); pr.ARN != want {
				p.errorf("%s: oidcProviders[%d].arn %q is not the provider of %s in the role's account (%s)", where, i, pr.ARN, pr.URL, want)
			}
			providers[pr.ARN] = true
		}
	}
	podIdentityStatements := 0
	if r.PodIdentityTarget != nil {
		validateTargetTrust(p, where, r)
		return
	}
	for i, st := range r.TrustPolicy.Statement {
		n := i + 1
		if generator.IsPodIdentityStatement(st) {
			podIdentityStatements++
			if m := input.RoleARNRE.FindStringSubmatch(r.ARN); m != nil {
				for _, msg := range podidentity.ValidateStatement(st, m[1], m[2]) {
					p.errorf("%s: trust policy statement %d (EKS Pod Identity): %s", where, n, msg)
				}
			}
			continue
		}
		if st.Effect != "Allow" {
			p.errorf("%s: trust policy statement %d: effect %q must be Allow", where, n, st.Effect)
		}
		if len(st.Action) != 1 || st.Action[0] != webIdentityAction {
			p.errorf("%s: trust policy statement %d: action must be %s only, not %v", where, n, webIdentityAction, []string(st.Action))
		}
		fed := st.Principal["Federated"]
		if len(st.Principal) != 1 || len(fed) != 1 {
			p.errorf("%s: trust policy statement %d: principal must be exactly one Federated OIDC provider", where, n)
			continue
		}
		if !providers[fed[0]] {
			p.errorf("%s: trust policy statement %d trusts %s, which is not among the role's oidcProviders", where, n, fed[0])
		}
		_, host, _ := strings.Cut(fed[0], ":oidc-provider/")
		for _, key := range []string{host + ":aud", host + ":sub"} {
			if len(st.Condition["StringEquals"][key]) == 0 && len(st.Condition["StringLike"][key]) == 0 {
				p.errorf("%s: trust policy statement %d has no condition on %s (StringEquals or StringLike): it would admit any token of the issuer", where, n, key)
			}
		}
	}
	for i, a := range r.PodIdentityAssociations {
		if msg := generator.ValidPodIdentityAssociation(a); msg != "" {
			p.errorf("%s: podIdentityAssociations[%d]: %s", where, i, msg)
		}
	}
	switch {
	case podIdentityStatements > 0 && len(r.PodIdentityAssociations) == 0:
		p.errorf("%s: the trust policy admits EKS Pod Identity but podIdentityAssociations is empty", where)
	case podIdentityStatements == 0 && len(r.PodIdentityAssociations) > 0:
		p.errorf("%s: podIdentityAssociations is set but the trust policy has no EKS Pod Identity statement", where)
	case podIdentityStatements > 1:
		p.errorf("%s: the trust policy has %d EKS Pod Identity statements; iambind writes one", where, podIdentityStatements)
	}
}
