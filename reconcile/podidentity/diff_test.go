package podidentity

import (
	"fmt"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
)

const (
	roleA = "arn:aws:iam::111122223333:role/iambind/shop-orders"
	roleB = "arn:aws:iam::111122223333:role/iambind/shop-other"
)

func desired(cluster, ns, sa, role, owner string) *Desired {
	return &Desired{
		PodIdentityAssociation: generator.PodIdentityAssociation{Cluster: cluster, Namespace: ns, ServiceAccount: sa},
		Region:                 "us-west-2", RoleName: role[strings.LastIndex(role, "/")+1:], RoleARN: role, Owner: owner, Binding: "shop/orders",
	}
}

func observed(cluster, ns, sa, role, owner string) *Observed {
	o := &Observed{Cluster: cluster, Region: "us-west-2", Namespace: ns, ServiceAccount: sa, RoleARN: role,
		ID: "a-" + ns + sa, ARN: "arn:aws:eks:us-west-2:111122223333:podidentityassociation/" + cluster + "/a-" + ns + sa, Tags: map[string]string{}}
	if owner != "" {
		o.Tags[generator.TagOwner] = owner
	}
	return o
}

func state(obs ...*Observed) *State {
	s := &State{Associations: map[string]*Observed{}, Complete: true}
	for _, o := range obs {
		s.Associations[o.Key()] = o
	}
	return s
}

// summary is "<kind> <key>[ adopt]" per change, in plan order.
func summary(p *Plan) string {
	var out []string
	for _, c := range p.Changes {
		s := fmt.Sprintf("%s %s", c.Kind, c.Key())
		if c.Adopt {
			s += " adopt"
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func TestDiff(t *testing.T) {
	owners := []string{"prod"}
	tests := []struct {
		name    string
		desired []*Desired
		state   *State
		opts    Options
		want    string
		wantErr string
	}{
		{name: "create from empty",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod"), desired("prod", "batch", "w", roleA, "prod")},
			state:   state(),
			want:    "create prod/batch/w; create prod/shop/orders"},
		{name: "no change",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod")},
			state:   state(observed("prod", "shop", "orders", roleA, "prod")),
			want:    "no-change prod/shop/orders"},
		{name: "role changed by hand is updated back",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod")},
			state:   state(observed("prod", "shop", "orders", roleB, "prod")),
			want:    "update prod/shop/orders"},
		{name: "foreign association of a planned ServiceAccount is refused",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod")},
			state:   state(observed("prod", "shop", "orders", roleA, "")),
			wantErr: "prod/shop/orders (a-shoporders, role " + roleA + ") already exists and is not owned by \"prod\" (it has no iambind.dev/owner tag)"},
		{name: "another owner's association is refused",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod")},
			state:   state(observed("prod", "shop", "orders", roleB, "staging")),
			wantErr: `its iambind.dev/owner tag is "staging"`},
		{name: "adopt tags a foreign one with the same role",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod")},
			state:   state(observed("prod", "shop", "orders", roleA, "")),
			opts:    Options{Adopt: true},
			want:    "update prod/shop/orders adopt"},
		{name: "without prune an owned association that left the plan stays",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod")},
			state:   state(observed("prod", "shop", "orders", roleA, "prod"), observed("prod", "shop", "gone", roleA, "prod")),
			want:    "no-change prod/shop/orders"},
		{name: "prune deletes only owned associations of the plan's owners",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod")},
			state: state(observed("prod", "shop", "orders", roleA, "prod"), observed("prod", "shop", "gone", roleA, "prod"),
				observed("prod", "shop", "foreign", roleB, ""), observed("prod", "shop", "staging", roleB, "staging")),
			opts: Options{Prune: true},
			want: "delete prod/shop/gone; no-change prod/shop/orders"},
		{name: "prune refuses an incomplete observation",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod")},
			state:   &State{Associations: map[string]*Observed{}},
			opts:    Options{Prune: true},
			wantErr: "--prune needs every association"},
		{name: "same ServiceAccount in two clusters are two associations",
			desired: []*Desired{desired("prod", "shop", "orders", roleA, "prod"), desired("dr", "shop", "orders", roleA, "prod")},
			state:   state(observed("prod", "shop", "orders", roleA, "prod")),
			want:    "create dr/shop/orders; no-change prod/shop/orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Diff(tt.desired, tt.state, owners, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(plan); got != tt.want {
				t.Errorf("plan = %q\nwant   %q", got, tt.want)
			}
		})
	}
}

func TestDiffChangeDetails(t *testing.T) {
	plan, err := Diff([]*Desired{desired("prod", "shop", "orders", roleA, "prod")},
		state(observed("prod", "shop", "orders", roleB, "")), []string{"prod"}, Options{Adopt: true})
	if err != nil {
		t.Fatal(err)
	}
	c := plan.Changes[0]
	if c.Kind != KindUpdate || !c.Adopt || c.RoleARNBefore != roleB || c.RoleARN != roleA || c.AssociationID != "a-shoporders" ||
		c.Tags[generator.TagOwner] != "prod" || c.Tags[generator.TagManagedBy] != "iambind" {
		t.Errorf("change = %+v", c)
	}
	if !plan.HasChanges() || plan.Count(KindUpdate) != 1 {
		t.Error("an adopting update is a change")
	}
	if got := plan.MissingFor(roleA); len(got) != 1 {
		t.Errorf("MissingFor = %v: an association pointed elsewhere is missing for the role", got)
	}
	noop, _ := Diff([]*Desired{desired("prod", "shop", "orders", roleA, "prod")}, state(observed("prod", "shop", "orders", roleA, "prod")), []string{"prod"}, Options{})
	if noop.HasChanges() || len(noop.MissingFor(roleA)) != 0 {
		t.Errorf("no-op plan: %+v", noop)
	}
}

func TestDesiredAssociations(t *testing.T) {
	arn := generator.EKSClusterARN("aws", "eu-west-1", "111122223333", "prod")
	role := func(name string, assocs ...generator.PodIdentityAssociation) Role {
		st := generator.BuildPodIdentityStatement("111122223333", []string{arn}, []string{"shop"}, []string{"orders"})
		return Role{Source: "f.yaml", Role: generator.Role{Name: name, ARN: "arn:aws:iam::111122223333:role/" + name,
			Tags:                    map[string]string{generator.TagOwner: "prod", generator.TagBinding: "shop/" + name},
			TrustPolicy:             generator.PolicyDocument{Version: generator.PolicyVersion, Statement: []generator.Statement{st}},
			PodIdentityAssociations: assocs}}
	}
	a := generator.PodIdentityAssociation{Cluster: "prod", Namespace: "shop", ServiceAccount: "orders"}
	got, err := DesiredAssociations([]Role{role("r1", a)})
	if err != nil || len(got) != 1 || got[0].Region != "eu-west-1" || got[0].RoleName != "r1" || got[0].Owner != "prod" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := DesiredAssociations([]Role{role("r1", a), role("r2", a)}); err == nil || !strings.Contains(err.Error(), "planned for two roles") {
		t.Errorf("two roles for one association: %v", err)
	}
	other := generator.PodIdentityAssociation{Cluster: "staging", Namespace: "shop", ServiceAccount: "orders"}
	if _, err := DesiredAssociations([]Role{role("r1", other)}); err == nil || !strings.Contains(err.Error(), `EKS cluster "staging"`) {
		t.Errorf("association in a cluster the trust policy does not name: %v", err)
	}
}
