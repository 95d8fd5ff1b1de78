package generator

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// trustJSON is the compact JSON of a trust policy, for exact comparisons.
func trustJSON(t *testing.T, doc PolicyDocument) string {
	t.Helper()
	b, err := MarshalJSON(doc, false)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuildTrustPolicy(t *testing.T) {
	one := []TrustIssuer{{Partition: "aws", AccountID: testAccount, Issuer: "https://oidc.example.com/id/A"}}
	provA := `"Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/A"},"Action":"sts:AssumeRoleWithWebIdentity"`
	cases := []struct {
		name     string
		issuers  []TrustIssuer
		audience string
		subjects Subjects
		want     string
	}{
		{
			name: "single subject is a string", issuers: one, audience: "sts.amazonaws.com",
			subjects: Subjects{Exact: []string{"system:serviceaccount:shop:orders"}},
			want: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + provA +
				`,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com","oidc.example.com/id/A:sub":"system:serviceaccount:shop:orders"}}}]}`,
		},
		{
			name: "several subjects are a sorted, de-duplicated list", issuers: one, audience: "sts.amazonaws.com",
			subjects: Subjects{Exact: []string{"system:serviceaccount:shop:z", "system:serviceaccount:batch:a", "system:serviceaccount:shop:z"}},
			want: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + provA +
				`,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com","oidc.example.com/id/A:sub":["system:serviceaccount:batch:a","system:serviceaccount:shop:z"]}}}]}`,
		},
		{
			name: "wildcard goes in a second statement with StringLike", issuers: one, audience: "sts.amazonaws.com",
			subjects: Subjects{Exact: []string{"system:serviceaccount:shop:orders"}, Wildcards: []string{"system:serviceaccount:etl:job-*"}},
			want: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + provA +
				`,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com","oidc.example.com/id/A:sub":"system:serviceaccount:shop:orders"}}},` +
				`{"Effect":"Allow",` + provA +
				`,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com"},"StringLike":{"oidc.example.com/id/A:sub":"system:serviceaccount:etl:job-*"}}}]}`,
		},
		{
			name: "only wildcards: one StringLike statement", issuers: one, audience: "sts.amazonaws.com",
			subjects: Subjects{Wildcards: []string{"system:serviceaccount:etl:*", "system:serviceaccount:batch:*"}},
			want: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + provA +
				`,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com"},"StringLike":{"oidc.example.com/id/A:sub":["system:serviceaccount:batch:*","system:serviceaccount:etl:*"]}}}]}`,
		},
		{
			name: "custom audience", issuers: one, audience: "my-aud",
			subjects: Subjects{Exact: []string{"system:serviceaccount:shop:orders"}},
			want: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + provA +
				`,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"my-aud","oidc.example.com/id/A:sub":"system:serviceaccount:shop:orders"}}}]}`,
		},
		{
			name: "no subjects: no statements (Generate always has one)", issuers: one, audience: "sts.amazonaws.com",
			want: `{"Version":"2012-10-17","Statement":[]}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := trustJSON(t, BuildTrustPolicy(c.issuers, c.audience, c.subjects))
			if got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestBuildTrustPolicyIssuerOrder(t *testing.T) {
	issuers := []TrustIssuer{
		{Partition: "aws", AccountID: testAccount, Issuer: "https://z.example.com/id/Z"},
		{Partition: "aws", AccountID: testAccount, Issuer: "https://a.example.com/id/A"},
	}
	doc := BuildTrustPolicy(issuers, DefaultAudience, Subjects{
		Exact: []string{"system:serviceaccount:shop:orders"}, Wildcards: []string{"system:serviceaccount:etl:*"},
	})
	var got []string
	for _, st := range doc.Statement {
		kind := "exact"
		if _, like := st.Condition["StringLike"]; like {
			kind = "wildcard"
		}
		got = append(got, st.Principal["Federated"][0]+" "+kind)
	}
	want := []string{
		"arn:aws:iam::111122223333:oidc-provider/z.example.com/id/Z exact",
		"arn:aws:iam::111122223333:oidc-provider/z.example.com/id/Z wildcard",
		"arn:aws:iam::111122223333:oidc-provider/a.example.com/id/A exact",
		"arn:aws:iam::111122223333:oidc-provider/a.example.com/id/A wildcard",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statements in order:\n%s\nwant (issuer order as given, exact before wildcard):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestStringListJSON(t *testing.T) {
	var s StringList
	if err := json.Unmarshal([]byte(`"a"`), &s); err != nil || !reflect.DeepEqual(s, StringList{"a"}) {
		t.Errorf("string form: %v %v", s, err)
	}
	if err := json.Unmarshal([]byte(`["a","b"]`), &s); err != nil || !reflect.DeepEqual(s, StringList{"a", "b"}) {
		t.Errorf("list form: %v %v", s, err)
	}
	if err := json.Unmarshal([]byte(`5`), &s); err == nil {
		t.Error("a number should not decode as a StringList")
	}
	b, _ := json.Marshal(StringList{"a"})
	if string(b) != `"a"` {
		t.Errorf("one value marshals as %s", b)
	}
	b, _ = json.Marshal(StringList{"a", "b"})
	if string(b) != `["a","b"]` {
		t.Errorf("two values marshal as %s", b)
	}
}

// Through Generate: multi-cluster statement order is spec.clusters order.
func TestTrustPolicyMultiClusterOrder(t *testing.T) {
	a := clusterDoc("alpha", fmt.Sprintf("accountID: %q\nissuer: https://oidc.alpha.example.com/id/A\n", testAccount))
	z := clusterDoc("zulu", fmt.Sprintf("accountID: %q\nissuer: https://oidc.zulu.example.com/id/Z\n", testAccount))
	_, role, trust := mustPlan(t, "", a, z, bindingDoc("shop", "orders", "clusters: [zulu, alpha]\n"))
	var doc PolicyDocument
	if err := json.Unmarshal([]byte(trust), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 2 ||
		doc.Statement[0].Principal["Federated"][0] != "arn:aws:iam::111122223333:oidc-provider/oidc.zulu.example.com/id/Z" ||
		doc.Statement[1].Principal["Federated"][0] != "arn:aws:iam::111122223333:oidc-provider/oidc.alpha.example.com/id/A" {
		t.Errorf("statements should follow spec.clusters order (zulu, alpha):\n%s", trust)
	}
	if !reflect.DeepEqual(role.TrustPolicy, doc) {
		t.Errorf("role.json trustPolicy differs from trust-policy.json")
	}
	if len(role.OIDCProviders) != 2 || role.OIDCProviders[0].URL != "https://oidc.zulu.example.com/id/Z" || role.OIDCProviders[1].URL != "https://oidc.alpha.example.com/id/A" {
		t.Errorf("oidcProviders should follow spec.clusters order: %+v", role.OIDCProviders)
	}
	// The owner is the first cluster's.
	if role.Owner() != "zulu" {
		t.Errorf("owner = %q, want the first cluster's (zulu)", role.Owner())
	}
}

func TestTrustPolicyCustomAudience(t *testing.T) {
	out, role, trust := mustPlan(t, "", validCluster(""), bindingDoc("shop", "orders", "audience: vault.example.com\n"))
	if !strings.Contains(trust, `"`+testHost+`:aud": "vault.example.com"`) {
		t.Errorf("trust policy should pin the custom audience:\n%s", trust)
	}
	if got := role.OIDCProviders[0].Audiences; !reflect.DeepEqual(got, []string{"vault.example.com"}) {
		t.Errorf("oidcProviders audiences = %v", got)
	}
	sa := find(out.Items, "ServiceAccount", "shop", "orders")
	if sa.GetAnnotation(AnnotationAudience) != "vault.example.com" {
		t.Errorf("SA should carry %s", AnnotationAudience)
	}
}

// manySAs is a serviceAccounts list of n names.
func manySAs(n int) string {
	var b strings.Builder
	b.WriteString("serviceAccounts:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "- name: workload-%03d\n", i)
	}
	return b.String()
}

func TestTrustPolicySizeGuard(t *testing.T) {
	binding := bindingDoc("shop", "orders", manySAs(80))
	out := generate(t, "", validCluster(""), binding)
	p := mustProblem(t, out.Problems, SeverityError, "spec.serviceAccounts", "quota is 2048")
	for _, frag := range []string{"white space not counted", "fewer service accounts", "wildcard", "allowWildcardSubjects", "maxTrustPolicySize", `IdentityCluster "prod"`} {
		if !strings.Contains(p.Message, frag) {
			t.Errorf("size error should mention %q: %s", frag, p.Message)
		}
	}
	if p.Resource.Kind != KindBinding || p.Resource.Name != "orders" || p.Resource.Namespace != "shop" {
		t.Errorf("size error should name the binding, got %v", p.Resource)
	}
	if itemsYAML(out.Items) != itemsYAML(parseObjects(t, validCluster(""), binding)) {
		t.Error("on error the items must be the input, untouched")
	}

	// A raised quota declared in the cluster lets it pass; the size the
	// error reported is the non-whitespace length of the trust policy.
	_, _, trust := mustPlan(t, "", validCluster("maxTrustPolicySize: 4096\n"), binding)
	size := NonWhitespaceLength([]byte(trust))
	if !strings.Contains(p.Message, "is "+strconv.Itoa(size)+" characters") {
		t.Errorf("error should report the size %d: %s", size, p.Message)
	}
	// The limit is inclusive: exactly at the quota passes, one over fails.
	mustPlan(t, "", validCluster(fmt.Sprintf("maxTrustPolicySize: %d\n", size)), binding)
	out = generate(t, "", validCluster(fmt.Sprintf("maxTrustPolicySize: %d\n", size-1)), binding)
	mustProblem(t, out.Problems, SeverityError, "spec.serviceAccounts", fmt.Sprintf("is %d characters (white space not counted) but the account's quota is %d", size, size-1))
}

// With several clusters, the smallest declared quota applies.
func TestTrustPolicySizeGuardSmallestQuota(t *testing.T) {
	a := clusterDoc("a", fmt.Sprintf("accountID: %q\nissuer: https://a.example.com/id/A\nmaxTrustPolicySize: 4096\n", testAccount))
	b := clusterDoc("b", fmt.Sprintf("accountID: %q\nissuer: https://b.example.com/id/B\nmaxTrustPolicySize: 1000\n", testAccount))
	out := generate(t, "", a, b, bindingDoc("shop", "orders", "clusters: [a, b]\n"+manySAs(20)))
	mustProblem(t, out.Problems, SeverityError, "spec.serviceAccounts", "quota is 1000")
}
