package safety

import (
	"errors"
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/input"
)

// withSubjects replaces the role's trust-policy subject condition.
func withSubjects(r *input.DesiredRole, op string, subs ...string) *input.DesiredRole {
	st := &r.TrustPolicy.Statement[0]
	host := generator.IssuerHostPath(testIssuer)
	for o := range st.Condition {
		delete(st.Condition[o], host+":sub")
	}
	if st.Condition[op] == nil {
		st.Condition[op] = map[string]generator.StringList{}
	}
	st.Condition[op][host+":sub"] = subs
	return r
}

func TestTenancySubjects(t *testing.T) {
	host := generator.IssuerHostPath(testIssuer)
	tests := []struct {
		name    string
		ns      string
		role    *input.DesiredRole
		trusted []string
		err     string // "" = admitted
	}{
		{"own namespace", "shop", testRole("orders", "o"), nil, ""},
		{"own namespace, several", "shop", withSubjects(testRole("orders", "o"), "StringEquals", "system:serviceaccount:shop:a", "system:serviceaccount:shop:b"), nil, ""},
		{"own namespace, any name", "shop", withSubjects(testRole("orders", "o"), "StringLike", "system:serviceaccount:shop:*"), nil, ""},
		{"kube-system", "shop", withSubjects(testRole("orders", "o"), "StringEquals", "system:serviceaccount:kube-system:x"), nil, `grants "system:serviceaccount:kube-system:x", outside namespace shop`},
		{"one foreign among own", "shop", withSubjects(testRole("orders", "o"), "StringEquals", "system:serviceaccount:shop:a", "system:serviceaccount:pay:a"), nil, "system:serviceaccount:pay:a"},
		{"glob namespace", "shop", withSubjects(testRole("orders", "o"), "StringLike", "system:serviceaccount:*:orders"), nil, "outside namespace shop"},
		{"glob namespace prefix", "shop", withSubjects(testRole("orders", "o"), "StringLike", "system:serviceaccount:shop*"), nil, "outside namespace shop"},
		{"namespace prefix match", "shop", withSubjects(testRole("orders", "o"), "StringLike", "system:serviceaccount:shop-*:x"), nil, "outside namespace shop"},
		{"question mark", "shop", withSubjects(testRole("orders", "o"), "StringLike", "system:serviceaccount:sho?:x"), nil, "outside namespace shop"},
		{"empty name", "shop", withSubjects(testRole("orders", "o"), "StringEquals", "system:serviceaccount:shop:"), nil, "outside namespace shop"},
		{"other operator", "shop", withSubjects(testRole("orders", "o"), "StringNotEquals", "system:serviceaccount:shop:x"), nil, "only with StringEquals or StringLike"},
		{"trusted namespace may bind others", "platform", withSubjects(testRole("orders", "o"), "StringEquals", "system:serviceaccount:kube-system:x"), []string{"platform"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ten, err := NewTenancy(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			err = ten.CheckSubjects(tc.ns, &tc.role.Role)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("got %v, want an error containing %q", err, tc.err)
			}
		})
	}

	t.Run("upper-case key is still the subject", func(t *testing.T) {
		r := testRole("orders", "o")
		r.TrustPolicy.Statement[0].Condition["StringLike"] = map[string]generator.StringList{strings.ToUpper(host) + ":SUB": {"system:serviceaccount:*:*"}}
		ten, _ := NewTenancy(nil)
		if err := ten.CheckSubjects("shop", &r.Role); err == nil {
			t.Error("a :SUB key in another case was not checked")
		}
	})
	t.Run("statement without subject", func(t *testing.T) {
		r := testRole("orders", "o")
		delete(r.TrustPolicy.Statement[0].Condition["StringEquals"], host+":sub")
		ten, _ := NewTenancy(nil)
		if err := ten.CheckSubjects("shop", &r.Role); err == nil || !strings.Contains(err.Error(), "no subject condition") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("bad trusted namespace", func(t *testing.T) {
		if _, err := NewTenancy([]string{"Shop_1"}); err == nil {
			t.Error("accepted")
		}
	})
}

func TestTenancyClaim(t *testing.T) {
	tagged := func(tags map[string]string) *iam.ObservedRole {
		o := observedFrom(testRole("orders", "prod"))
		o.Tags = tags
		return o
	}
	owner := generator.TagOwner
	tests := []struct {
		name    string
		ns      string
		o       *iam.ObservedRole
		trusted []string
		err     string
	}{
		{"absent: created with its tag", "shop", nil, nil, ""},
		{"own namespace tag", "shop", tagged(map[string]string{owner: "prod", TagNamespace: "shop"}), nil, ""},
		{"another namespace's role", "evil", tagged(map[string]string{owner: "prod", TagNamespace: "shop"}), nil, "belongs to namespace shop"},
		{"before tenancy, binding of this namespace", "shop", tagged(map[string]string{owner: "prod", generator.TagBinding: "shop/orders"}), nil, ""},
		{"before tenancy, binding of another namespace", "evil", tagged(map[string]string{owner: "prod", generator.TagBinding: "shop/orders"}), nil, `"shop/orders", not a binding of namespace evil`},
		{"before tenancy, binding with a prefix of the namespace", "sho", tagged(map[string]string{owner: "prod", generator.TagBinding: "shop/orders"}), nil, "not a binding of namespace sho"},
		{"before tenancy, other owner", "shop", tagged(map[string]string{owner: "staging", generator.TagBinding: "shop/orders"}), nil, "no iambind.dev/namespace tag"},
		{"not made by iambind", "shop", tagged(map[string]string{}), nil, "not made by iambind"},
		{"trusted may take any", "platform", tagged(map[string]string{owner: "prod", TagNamespace: "shop"}), []string{"platform"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ten, _ := NewTenancy(tc.trusted)
			err := ten.CheckClaim(tc.ns, testRole("orders", "prod"), tc.o)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("got %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

func TestTenancyConflicts(t *testing.T) {
	claims := []Claim{{Namespace: "evil", Source: "ConfigMap evil/x"}, {Namespace: "platform", Source: "ConfigMap platform/x"}, {Namespace: "shop", Source: "ConfigMap shop/x"}}
	t.Run("a single trusted claimant wins", func(t *testing.T) {
		ten, _ := NewTenancy([]string{"platform"})
		errs := ten.ResolveClaims("x", claims)
		if len(errs) != 2 || errs[1] != nil || errs[0] == nil || errs[2] == nil {
			t.Errorf("got %v", errs)
		}
	})
	t.Run("no trusted claimant: decided later", func(t *testing.T) {
		ten, _ := NewTenancy(nil)
		if errs := ten.ResolveClaims("x", claims); len(errs) != 0 {
			t.Errorf("got %v", errs)
		}
	})
	t.Run("two trusted claimants: both refused", func(t *testing.T) {
		ten, _ := NewTenancy([]string{"platform", "shop"})
		if errs := ten.ResolveClaims("x", claims); len(errs) != 3 {
			t.Errorf("got %v", errs)
		}
	})
	t.Run("contested: the namespace the role belongs to keeps it", func(t *testing.T) {
		ten, _ := NewTenancy(nil)
		two := []Claim{claims[0], claims[2]}
		got := ten.Contested("x", two, []error{errFake, nil})
		if got[0] != errFake || got[1] != nil {
			t.Errorf("got %v", got)
		}
		got = ten.Contested("x", two, []error{nil, nil})
		if got[0] == nil || got[1] == nil || !strings.Contains(got[0].Error(), "ConfigMap evil/x, ConfigMap shop/x") {
			t.Errorf("a name two namespaces claim before it exists must be refused for both: %v", got)
		}
	})
}

var errFake = errors.New("fake")

func TestTenancyPrune(t *testing.T) {
	role := func(tags map[string]string) *iam.ObservedRole {
		o := observedFrom(testRole("orders", "prod"))
		o.Tags = tags
		return o
	}
	owner := generator.TagOwner
	one := map[string]map[string]bool{"prod": {"shop": true}}
	two := map[string]map[string]bool{"prod": {"shop": true}, "other": {"evil": true}}
	tests := []struct {
		name    string
		o       *iam.ObservedRole
		scope   PruneScope
		trusted []string
		err     string
	}{
		{"orphan of a cluster plan", role(map[string]string{owner: "prod", TagNamespace: "gone"}), PruneScope{OwnerNamespaces: one}, nil, ""},
		{"made from files", role(map[string]string{owner: "prod"}), PruneScope{OwnerNamespaces: one}, nil, "not created from a cluster plan"},
		{"namespace failed this run", role(map[string]string{owner: "prod", TagNamespace: "shop"}), PruneScope{Failed: map[string]bool{"shop": true}, OwnerNamespaces: one}, nil, "whose plan failed"},
		{"several owners, claimed by the role's namespace", role(map[string]string{owner: "other", TagNamespace: "evil"}), PruneScope{OwnerNamespaces: two}, nil, ""},
		{"several owners, claimed by another namespace only", role(map[string]string{owner: "other", TagNamespace: "payments"}), PruneScope{OwnerNamespaces: two}, nil, "several owners"},
		{"several owners, claimed by a trusted namespace", role(map[string]string{owner: "other", TagNamespace: "payments"}), PruneScope{OwnerNamespaces: two}, []string{"evil"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ten, _ := NewTenancy(tc.trusted)
			err := ten.MayPrune(tc.o, tc.scope)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("kept: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("got %v, want an error containing %q", err, tc.err)
			}
		})
	}
}
