package importer

import (
	"context"
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/iam"
)

const (
	h1 = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	h2 = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
)

func stmt(host, cond string) string {
	return `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + host + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + cond + `}`
}

func doc(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

func subAud(host, sub string) string {
	return `{"StringEquals":{"` + host + `:aud":"sts.amazonaws.com","` + host + `:sub":"system:serviceaccount:` + sub + `"}}`
}

// classifyTrust runs the classification of one role with this trust
// against the generator, as import does.
func classifyTrust(t *testing.T, trust string, tags ...string) RoleResult {
	t.Helper()
	o := &iam.ObservedRole{Name: "r", Path: "/", ARN: "arn:aws:iam::111122223333:role/r", MaxSessionDuration: 3600, TrustPolicy: trust,
		InlinePolicies: map[string]string{}, Tags: map[string]string{}}
	for i := 0; i+1 < len(tags); i += 2 {
		o.Tags[tags[i]] = tags[i+1]
	}
	g := &roleGroup{name: "r", refs: []Ref{{Source: SourceServiceAccount, Object: "ServiceAccount a/x", RoleName: "r", Subjects: []Subject{{"a", "x"}}}}}
	lt, reason := readTrust(trust)
	if lt == nil {
		return RoleResult{Class: ClassSkipped, Reason: reason}
	}
	issuers := map[issuerKey]bool{}
	for _, k := range lt.issuers {
		issuers[k] = true
	}
	cs, err := nameClusters(context.Background(), Options{}, Deps{Account: "111122223333", Partition: "aws"}, issuers, &Sources{})
	if err != nil {
		t.Fatal(err)
	}
	return classify(g, o, lt, cs, Deps{}, map[string]bool{})
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name, trust string
		class       Class
		reason      string
	}{
		{"eksctl: one statement, aud and sub", doc(stmt(h1, subAud(h1, "a:x"))), ClassExact, ""},
		{"one statement per ServiceAccount", doc(stmt(h1, subAud(h1, "a:x")), stmt(h1, subAud(h1, "b:y"))), ClassExact, ""},
		{"StringLike without a wildcard", doc(stmt(h1, `{"StringLike":{"`+h1+`:aud":"sts.amazonaws.com","`+h1+`:sub":"system:serviceaccount:a:x"}}`)), ClassExact, ""},
		{"two issuers, same subjects", doc(stmt(h1, subAud(h1, "a:x")), stmt(h2, subAud(h2, "a:x"))), ClassExact, ""},
		{"a custom audience", doc(stmt(h1, `{"StringEquals":{"`+h1+`:aud":"vault","`+h1+`:sub":"system:serviceaccount:a:x"}}`)), ClassExact, ""},
		{"irsa-manager: sub only", doc(stmt(h1, `{"StringEquals":{"`+h1+`:sub":"system:serviceaccount:a:x"}}`)), ClassTightened, "trust tightened: audience condition added"},
		{"two issuers, different subjects", doc(stmt(h1, subAud(h1, "a:x")), stmt(h2, subAud(h2, "b:y"))), ClassSkipped, "admits other tokens"},
		{"two audiences", doc(stmt(h1, `{"StringEquals":{"`+h1+`:aud":["sts.amazonaws.com","vault"],"`+h1+`:sub":"system:serviceaccount:a:x"}}`)), ClassSkipped, "several audiences"},
		{"an extra condition", doc(stmt(h1, `{"StringEquals":{"`+h1+`:aud":"sts.amazonaws.com","`+h1+`:sub":"system:serviceaccount:a:x"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)), ClassSkipped, "condition IpAddress on aws:sourceip is beyond audience and subject"},
		{"no subject condition", doc(stmt(h1, `{"StringEquals":{"`+h1+`:aud":"sts.amazonaws.com"}}`)), ClassSkipped, "has no sub condition"},
		{"a namespace wildcard", doc(stmt(h1, `{"StringEquals":{"`+h1+`:aud":"sts.amazonaws.com"},"StringLike":{"`+h1+`:sub":"system:serviceaccount:*:x"}}`)), ClassSkipped, "namespace wildcard"},
		{"a Deny statement", doc(stmt(h1, subAud(h1, "a:x")), `{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}`), ClassSkipped, "Effect is Deny"},
		{"an AWS principal", doc(stmt(h1, subAud(h1, "a:x")), `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}`), ClassSkipped, "principal AWS arn:aws:iam::111122223333:root"},
		{"a subject that is no Kubernetes name", doc(stmt(h1, subAud(h1, "../../etc:x"))), ClassSkipped, "does not name a valid namespace"},
		{"NotPrincipal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"x"},"Action":"sts:AssumeRole"}]}`, ClassSkipped, "has NotPrincipal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := classifyTrust(t, tc.trust)
			if res.Class != tc.class || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("got %s (%s), want %s (%s)", res.Class, res.Reason, tc.class, tc.reason)
			}
			if tc.class == ClassSkipped && res.binding != nil {
				t.Error("a skipped role has a binding to emit")
			}
		})
	}
}

func TestClassifyOwnedRole(t *testing.T) {
	res := classifyTrust(t, doc(stmt(h1, subAud(h1, "a:x"))), "iambind.dev/owner", "prod")
	if res.Class != ClassSkipped || !strings.Contains(res.Reason, "already managed by iambind (iambind.dev/owner=prod)") {
		t.Errorf("a role iambind owns: %s (%s)", res.Class, res.Reason)
	}
}

func TestParseRoleARN(t *testing.T) {
	r, err := ParseRoleARN("arn:aws-cn:iam::111122223333:role/team/a/orders")
	if err != nil || r.Partition != "aws-cn" || r.Path != "/team/a/" || r.Name != "orders" {
		t.Errorf("got %+v, %v", r, err)
	}
	for _, bad := range []string{"arn:aws:iam::111122223333:user/x", "arn:aws:iam::1234:role/x", "arn:aws:s3:::b", "arn:aws:iam::111122223333:role/", "arn:foo:iam::111122223333:role/x"} {
		if _, err := ParseRoleARN(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{{"*", "x", true}, {"etl-*", "etl-a", true}, {"etl-*", "web", false}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"x", "x", true}} {
		if globMatch(tc.p, tc.s) != tc.want {
			t.Errorf("globMatch(%q, %q) != %v", tc.p, tc.s, tc.want)
		}
	}
}

// Text from IAM or manifests stays inside its comment lines.
func TestSkippedFileIsCommentsOnly(t *testing.T) {
	rep := &Report{Roles: []RoleResult{{Role: "r", Class: ClassSkipped, Reason: "condition x\nkind: Secret\r\nmetadata: {}",
		Objects: []string{"ServiceAccount a/x"}, Closest: "a: |\n  b\nc: d\n"}}}
	files, err := renderFiles(rep, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimRight(string(files[SkippedFile]), "\n"), "\n") {
		if !strings.HasPrefix(line, "#") {
			t.Errorf("skipped.yaml has a line that is not a comment: %q", line)
		}
	}
}
