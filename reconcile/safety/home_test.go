package safety

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/iam"
)

func testHome(t *testing.T, prefix string) *Home {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cluster.yaml")
	c := clusterYAML("prod", testIssuer) + "  owner: prod\n"
	if prefix != "" {
		c += "  roleNamePrefix: " + prefix + "\n"
	}
	if err := os.WriteFile(file, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := LoadHome([]string{file})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestLoadHomeRefusesWhatIsNotACluster(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"binding.yaml": bindingYAML("shop", "orders", "prod"),
		"bad.yaml":     strings.Replace(clusterYAML("prod", testIssuer), `"`+testAccount+`"`, `"12"`, 1),
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadHome([]string{p}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
	if _, err := LoadHome([]string{filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Error("a missing --cluster file must be an error")
	}
}

func TestHomeAdmit(t *testing.T) {
	h := testHome(t, "")
	r := testRole("shop-orders", "cluster-b") // role.json claims another owner
	r.OIDCProviders[0].Audiences = []string{"sts.amazonaws.com", "attacker"}
	if err := h.Admit("shop", &r.Role); err != nil {
		t.Fatal(err)
	}
	if r.Owner() != "prod" || r.Tags[TagCluster] != "prod" || r.Tags[TagNamespace] != "shop" {
		t.Errorf("tags %v: want the home cluster's owner and name, and the namespace", r.Tags)
	}
	if got := r.OIDCProviders[0].Audiences; len(got) != 1 || got[0] != generator.DefaultAudience {
		t.Errorf("provider audiences %v: a tenant's audiences never reach the shared provider", got)
	}

	for name, c := range map[string]struct {
		edit func(r *generator.Role)
		want string
	}{
		"foreign issuer": {func(r *generator.Role) {
			r.TrustPolicy = generator.BuildTrustPolicy([]generator.TrustIssuer{{Partition: "aws", AccountID: testAccount, Issuer: "https://evil.example"}},
				"sts.amazonaws.com", generator.Subjects{Exact: []string{generator.SubjectFor("shop", "orders")}})
		}, "not this cluster's issuer"},
		"foreign provider": {func(r *generator.Role) { r.OIDCProviders[0].URL = "https://evil.example" }, "oidcProviders"},
		"AWS principal": {func(r *generator.Role) {
			r.TrustPolicy.Statement[0].Principal["AWS"] = generator.StringList{"arn:aws:iam::210987654321:root"}
		}, "AWS principal"},
		"condition of another issuer": {func(r *generator.Role) {
			r.TrustPolicy.Statement[0].Condition["StringEquals"]["evil.example:sub"] = generator.StringList{"x"}
		}, "names an issuer"},
		"another EKS cluster": {func(r *generator.Role) {
			r.PodIdentityAssociations = []generator.PodIdentityAssociation{{Cluster: "other", Namespace: "shop", ServiceAccount: "orders"}}
		}, `EKS cluster "other"`},
	} {
		t.Run(name, func(t *testing.T) {
			r := testRole("shop-orders", "prod")
			c.edit(&r.Role)
			if err := h.Admit("shop", &r.Role); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Admit: %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestHomeNamesAndReclaim(t *testing.T) {
	for _, prefix := range []string{"", "acme-"} {
		h := testHome(t, prefix)
		tn := Tenancy{Home: h}
		if !h.NameAllowed("team-b", prefix+"team-b-payments") || !h.NameAllowed("team-b", strings.ToUpper(prefix+"team-b-payments")) {
			t.Errorf("prefix %q: team-b's own derived name refused", prefix)
		}
		if h.NameAllowed("team-a", prefix+"team-b-payments") || h.NameAllowed("team-b", "team-b") || h.NameAllowed("team-b", prefix+"team-bx-y") {
			t.Errorf("prefix %q: a name outside the namespace allowed", prefix)
		}
		squatted := func(holder string) *iam.ObservedRole {
			return &iam.ObservedRole{Name: prefix + "team-b-payments", Tags: map[string]string{TagNamespace: holder, generator.TagOwner: "prod"}}
		}
		none := func(string) bool { return false }
		if !tn.Reclaims("team-b", squatted("team-a"), none) {
			t.Errorf("prefix %q: team-b does not get its name back from team-a once team-a no longer plans it", prefix)
		}
		if tn.Reclaims("team-b", squatted("team-a"), func(ns string) bool { return ns == "team-a" }) {
			t.Errorf("prefix %q: reclaimed while the holder still plans it", prefix)
		}
		// Both derive the name: the longer namespace is its own.
		if !tn.Reclaims("team-b", squatted("team"), none) || tn.Reclaims("team", squatted("team-b"), none) {
			t.Errorf("prefix %q: the longer namespace must win a name both derive", prefix)
		}
		if tn.Reclaims("team-a", squatted("team-b"), none) {
			t.Errorf("prefix %q: team-a reclaimed a name that is not its own", prefix)
		}
	}
	if (Tenancy{}).Reclaims("team-b", &iam.ObservedRole{Name: "team-b-x", Tags: map[string]string{TagNamespace: "team-a"}}, func(string) bool { return false }) {
		t.Error("without --cluster nothing is reclaimed")
	}
}

func TestCheckClaimAndPruneWithHome(t *testing.T) {
	h := testHome(t, "")
	tn := Tenancy{Trusted: map[string]bool{"platform": true}, Home: h}
	r := testRole("shop-orders", "prod")
	other := observedFrom(r)
	other.Tags[TagNamespace], other.Tags[TagCluster] = "shop", "cluster-b"
	for _, ns := range []string{"shop", "platform"} {
		if err := tn.CheckClaim(ns, r, other); err == nil || !strings.Contains(err.Error(), "belongs to cluster cluster-b") {
			t.Errorf("%s: claim of another cluster's role: %v", ns, err)
		}
	}
	foreignOwner := observedFrom(testRole("shop-orders", "cluster-b"))
	foreignOwner.Tags[TagNamespace] = "shop"
	if err := tn.CheckClaim("shop", r, foreignOwner); err == nil || !strings.Contains(err.Error(), "owned by cluster-b") {
		t.Errorf("claim of another owner's role: %v", err)
	}
	scope := PruneScope{Failed: map[string]bool{}, OwnerNamespaces: map[string]map[string]bool{"prod": {"shop": true}}}
	if err := tn.MayPrune(other, scope); err == nil {
		t.Error("another cluster's role may be pruned")
	}
	untagged := observedFrom(r)
	untagged.Tags[TagNamespace] = "shop"
	if err := tn.MayPrune(untagged, scope); err == nil || !strings.Contains(err.Error(), TagCluster) {
		t.Errorf("a role without the cluster tag: %v", err)
	}
	mine := observedFrom(r)
	mine.Tags[TagNamespace], mine.Tags[TagCluster] = "shop", "prod"
	if err := tn.MayPrune(mine, scope); err != nil {
		t.Errorf("this cluster's own role: %v", err)
	}
}

func TestPodIdentityStatementInTenancy(t *testing.T) {
	r := testRole("shop-orders", "prod")
	r.TrustPolicy.Statement = append(r.TrustPolicy.Statement, generator.Statement{Effect: "Allow",
		Principal: map[string]generator.StringList{"Service": {generator.PodIdentityPrincipal}},
		Action:    generator.StringList{"sts:AssumeRole", "sts:TagSession"}})
	r.PodIdentityAssociations = []generator.PodIdentityAssociation{{Cluster: "prod", Namespace: "shop", ServiceAccount: "orders"}}
	tn := Tenancy{}
	if err := tn.CheckSubjects("shop", &r.Role); err != nil {
		t.Errorf("a Pod Identity statement with associations in the plan's namespace: %v", err)
	}
	r.PodIdentityAssociations = append(r.PodIdentityAssociations, generator.PodIdentityAssociation{Cluster: "prod", Namespace: "kube-system", ServiceAccount: "x"})
	if err := tn.CheckSubjects("shop", &r.Role); err == nil || !strings.Contains(err.Error(), "kube-system/x") {
		t.Errorf("an association in another namespace: %v", err)
	}
	r.PodIdentityAssociations = nil
	if err := tn.CheckSubjects("shop", &r.Role); err == nil {
		t.Error("a Pod Identity statement with no association must be refused")
	}
}
