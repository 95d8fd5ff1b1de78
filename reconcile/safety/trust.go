package safety

import (
	"fmt"
	"sort"
	"strings"

	"github.com/iambind/iambind/internal/iamglob"
	"github.com/iambind/iambind/reconcile/input"

	"github.com/iambind/iambind/generator"
)

// Token is the part of a projected ServiceAccount token a web-identity
// trust policy looks at.
type Token struct {
	Issuer string // issuer URL, https://...
	Sub    string // system:serviceaccount:NS:NAME
	Aud    string
}

const webIdentityAction = "sts:AssumeRoleWithWebIdentity"

// EvaluateTrust decides whether a trust policy lets a token holder call
// AssumeRoleWithWebIdentity, with IAM's semantics for what iambind writes:
// an Allow statement whose Federated principal is the token issuer's OIDC
// provider and whose StringEquals / StringLike conditions on <issuer>:sub and
// <issuer>:aud all hold (values of one key are OR-ed, keys and operators
// AND-ed). A matching Deny statement wins. When not admitted, reasons says
// why for each statement, for humans.
func EvaluateTrust(doc generator.PolicyDocument, tok Token) (admitted bool, reasons []string) {
	host := generator.IssuerHostPath(tok.Issuer)
	for i, st := range doc.Statement {
		why := statementMismatch(st, host, tok)
		if why != "" {
			if st.Effect == "Allow" {
				reasons = append(reasons, fmt.Sprintf("statement %d: %s", i+1, why))
			}
			continue
		}
		switch st.Effect {
		case "Deny":
			return false, []string{fmt.Sprintf("statement %d denies it explicitly", i+1)}
		case "Allow":
			admitted = true
		}
	}
	if admitted {
		return true, nil
	}
	if len(reasons) == 0 {
		reasons = []string{"no statement allows " + webIdentityAction}
	}
	return false, reasons
}

// statementMismatch returns "" when the statement applies to the token, or
// why it does not.
func statementMismatch(st generator.Statement, host string, tok Token) string {
	if !matchesAny(st.Action, webIdentityAction) {
		return fmt.Sprintf("action %v does not include %s", []string(st.Action), webIdentityAction)
	}
	fed := st.Principal["Federated"]
	issuerOK := false
	for _, p := range fed {
		if _, provider, ok := strings.Cut(p, ":oidc-provider/"); ok && provider == host {
			issuerOK = true
		}
	}
	if !issuerOK {
		return fmt.Sprintf("trusts %s, not the token issuer %s", strings.Join(fed, ", "), host)
	}
	ops := make([]string, 0, len(st.Condition))
	for op := range st.Condition {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		keys := make([]string, 0, len(st.Condition[op]))
		for k := range st.Condition[op] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			values := st.Condition[op][key]
			var actual string
			switch key {
			case host + ":sub":
				actual = tok.Sub
			case host + ":aud":
				actual = tok.Aud
			default:
				return fmt.Sprintf("condition %s on %s: a token from %s does not carry that key", op, key, host)
			}
			var ok bool
			switch op {
			case "StringEquals":
				ok = contains(values, actual)
			case "StringLike":
				ok = globAny(values, actual)
			default:
				return fmt.Sprintf("condition operator %s is not evaluated by iambind", op)
			}
			if !ok {
				field := key[strings.LastIndex(key, ":")+1:]
				return fmt.Sprintf("%s %q does not match %s %s", field, actual, op, fmtValues(values))
			}
		}
	}
	return ""
}

func fmtValues(v []string) string {
	if len(v) == 1 {
		return fmt.Sprintf("%q", v[0])
	}
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// matchesAny matches an action against a list that may hold IAM wildcards
// (e.g. sts:*); action names are case-insensitive.
func matchesAny(list []string, action string) bool {
	for _, v := range list {
		if iamglob.Match(strings.ToLower(v), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func globAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if iamglob.Match(p, s) {
			return true
		}
	}
	return false
}

// CheckResult is the verdict of one planned role for a token.
type CheckResult struct {
	Role     string
	ARN      string
	Source   string
	Admitted bool
	Reasons  []string
	// Chain is how an admitted role leads on (an EKS Pod Identity target
	// role and the policies the pod gets), one line each.
	Chain []string
}

// Check evaluates every planned role's trust policy for a token.
func Check(in *input.Input, tok Token) []CheckResult {
	out := make([]CheckResult, 0, len(in.Roles))
	for _, r := range in.Roles {
		ok, why := EvaluateTrust(r.TrustPolicy, tok)
		out = append(out, CheckResult{Role: r.Name, ARN: r.ARN, Source: r.Source, Admitted: ok, Reasons: why})
	}
	return out
}

// Guard is the consistency guard: every rendered ServiceAccount annotated
// with a planned role's ARN, and every injected workload container whose
// AWS_ROLE_ARN is a planned role, must be admitted by that role's trust
// policy for each issuer the role trusts. It catches a kustomize namespace:,
// namePrefix: or serviceAccountName patch applied after the function, and
// hand edits. Each violation is returned as a message.
func Guard(in *input.Input) []string {
	byARN := map[string]*input.DesiredRole{}
	for _, r := range in.Roles {
		byARN[r.ARN] = r
	}
	var out []string
	check := func(roleARN, ns, name, aud, source string) {
		r, ok := byARN[roleARN]
		if !ok {
			return // not a role of this plan: not ours to judge
		}
		sub := generator.SubjectFor(ns, name)
		for _, pr := range r.OIDCProviders {
			ok, why := EvaluateTrust(r.TrustPolicy, Token{Issuer: pr.URL, Sub: sub, Aud: aud})
			if !ok {
				out = append(out, fmt.Sprintf("%s uses role %s, whose trust policy does not admit %s from %s (%s); was a namespace, name prefix or ServiceAccount change applied after iambind-fn ran? Run the function last, or fix the binding",
					source, r.Name, sub, pr.URL, strings.Join(why, "; ")))
			}
		}
	}
	for _, sa := range in.ServiceAccounts {
		check(sa.RoleARN, sa.Namespace, sa.Name, sa.Audience, sa.Source)
	}
	for _, w := range in.Workloads {
		check(w.RoleARN, w.Namespace, w.ServiceAccount, w.Audience, w.Source)
	}
	return out
}
