package iam

import (
	"reflect"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/change"
	"github.com/iambind/iambind/reconcile/input"
)

const s3ro = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"

func TestDiffRoleActions(t *testing.T) {
	tests := []struct {
		name     string
		desired  func(*input.DesiredRole)
		observed func(*ObservedRole) *ObservedRole // nil result: role absent
		opts     Options
		kind     ChangeKind
		want     []string
	}{
		{name: "create from nothing", observed: func(*ObservedRole) *ObservedRole { return nil },
			kind: KindCreate, want: []string{"CreateRole", "AttachRolePolicy " + s3ro, "PutRolePolicy bucket"}},
		{name: "in sync", kind: KindNoChange, want: []string{}},
		{name: "trust policy as a list is the same document",
			observed: func(o *ObservedRole) *ObservedRole {
				o.TrustPolicy = strings.Replace(o.TrustPolicy, `"Action":"sts:AssumeRoleWithWebIdentity"`, `"Action":["sts:AssumeRoleWithWebIdentity"]`, 1)
				return o
			}, kind: KindNoChange, want: []string{}},
		{name: "trust drift", observed: func(o *ObservedRole) *ObservedRole {
			o.TrustPolicy = strings.Replace(o.TrustPolicy, "shop:", "evil:", 1)
			return o
		}, kind: KindUpdate, want: []string{"UpdateAssumeRolePolicy"}},
		{name: "description drift", observed: func(o *ObservedRole) *ObservedRole { o.Description = "hand edit"; return o },
			kind: KindUpdate, want: []string{"UpdateRole"}},
		{name: "max session drift", observed: func(o *ObservedRole) *ObservedRole { o.MaxSessionDuration = 7200; return o },
			kind: KindUpdate, want: []string{"UpdateRole"}},
		{name: "boundary to put", desired: func(d *input.DesiredRole) { d.PermissionsBoundary = "arn:aws:iam::123456789012:policy/b" },
			kind: KindUpdate, want: []string{"PutRolePermissionsBoundary arn:aws:iam::123456789012:policy/b"}},
		{name: "boundary to delete", observed: func(o *ObservedRole) *ObservedRole {
			o.PermissionsBoundary = "arn:aws:iam::123456789012:policy/b"
			return o
		},
			kind: KindUpdate, want: []string{"DeleteRolePermissionsBoundary arn:aws:iam::123456789012:policy/b"}},
		{name: "managed detached by hand", observed: func(o *ObservedRole) *ObservedRole { o.ManagedPolicyARNs = nil; return o },
			kind: KindUpdate, want: []string{"AttachRolePolicy " + s3ro}},
		{name: "extra managed attached by hand", observed: func(o *ObservedRole) *ObservedRole {
			o.ManagedPolicyARNs = append(o.ManagedPolicyARNs, "arn:aws:iam::aws:policy/AdministratorAccess")
			return o
		}, kind: KindUpdate, want: []string{"DetachRolePolicy arn:aws:iam::aws:policy/AdministratorAccess"}},
		{name: "inline edited", observed: func(o *ObservedRole) *ObservedRole {
			o.InlinePolicies["bucket"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
			return o
		}, kind: KindUpdate, want: []string{"PutRolePolicy bucket"}},
		{name: "inline missing", observed: func(o *ObservedRole) *ObservedRole { delete(o.InlinePolicies, "bucket"); return o },
			kind: KindUpdate, want: []string{"PutRolePolicy bucket"}},
		{name: "inline extra", observed: func(o *ObservedRole) *ObservedRole {
			o.InlinePolicies["extra"] = `{"Version":"2012-10-17","Statement":[]}`
			return o
		}, kind: KindUpdate, want: []string{"DeleteRolePolicy extra"}},
		{name: "tag changed and extra tag", observed: func(o *ObservedRole) *ObservedRole {
			o.Tags[generator.TagBinding] = "other/x"
			o.Tags["team"] = "x"
			o.Tags["aws:cloudformation:stack-name"] = "kept"
			return o
		}, kind: KindUpdate, want: []string{"TagRole " + generator.TagBinding, "UntagRole team"}},
		{name: "adopt untagged role tags it first", opts: Options{Adopt: true}, observed: func(o *ObservedRole) *ObservedRole {
			o.Tags = map[string]string{}
			o.Description = "made by hand"
			return o
		}, kind: KindUpdate, want: []string{"TagRole app.kubernetes.io/managed-by," + generator.TagBinding + "," + generator.TagOwner, "UpdateRole"}},
		{name: "path change of an owned role replaces it", observed: func(o *ObservedRole) *ObservedRole {
			o.Path = "/old/"
			o.InstanceProfiles = []string{"ip"}
			return o
		}, kind: KindReplace, want: []string{"DeleteRolePolicy bucket", "DetachRolePolicy " + s3ro,
			"RemoveRoleFromInstanceProfile ip", "DeleteRole", "CreateRole", "AttachRolePolicy " + s3ro, "PutRolePolicy bucket"}},
		{name: "everything at once, writes before removals", observed: func(o *ObservedRole) *ObservedRole {
			o.Description = "x"
			o.ManagedPolicyARNs = []string{"arn:aws:iam::aws:policy/Other"}
			o.InlinePolicies = map[string]string{"old": `{}`}
			o.TrustPolicy = `{}`
			return o
		}, kind: KindUpdate, want: []string{"UpdateRole", "UpdateAssumeRolePolicy", "AttachRolePolicy " + s3ro,
			"PutRolePolicy bucket", "DetachRolePolicy arn:aws:iam::aws:policy/Other", "DeleteRolePolicy old"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := testRole("orders", "prod")
			if tc.desired != nil {
				tc.desired(d)
			}
			o := observedFrom(testRole("orders", "prod"))
			if tc.observed != nil {
				o = tc.observed(o)
			}
			state := NewState()
			if o != nil {
				state.AddRole(o)
			}
			plan, err := Diff(&input.Input{Roles: []*input.DesiredRole{d}}, state, tc.opts)
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			rc := plan.Roles[0]
			if rc.Kind != tc.kind {
				t.Errorf("kind = %s, want %s", rc.Kind, tc.kind)
			}
			if got := ops(rc.Actions); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, tc.want)
			}
			if (len(rc.Actions) == 0) != (len(rc.Changes) == 0) {
				t.Errorf("changes %v do not match actions %v", rc.Changes, rc.Actions)
			}
		})
	}
}

func TestDiffCreateCarriesEverything(t *testing.T) {
	d := testRole("orders", "prod")
	d.PermissionsBoundary = "arn:aws:iam::123456789012:policy/b"
	plan, err := Diff(&input.Input{Roles: []*input.DesiredRole{d}}, NewState(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	create := plan.Roles[0].Actions[0]
	if create.Op != OpCreateRole || create.Desired.PermissionsBoundary == "" || create.Tags[generator.TagOwner] != "prod" {
		t.Fatalf("CreateRole must carry boundary and owner tags: %+v", create)
	}
	if ok, _ := change.SameDocument(create.Document, TrustDocument(&d.Role)); !ok {
		t.Fatalf("CreateRole trust = %s", create.Document)
	}
}

func TestDiffOwnership(t *testing.T) {
	tests := []struct {
		name      string
		tags      map[string]string
		path      string
		opts      Options
		wantErr   []string
		wantKind  ChangeKind
		wantAdopt bool
	}{
		{name: "untagged role refused", tags: map[string]string{},
			wantErr: []string{"role orders", "already exists", "no iambind.dev/owner tag", "--adopt"}},
		{name: "other owner refused", tags: map[string]string{generator.TagOwner: "staging"},
			wantErr: []string{"role orders", `its iambind.dev/owner tag is "staging"`, "--adopt"}},
		{name: "other owner adopted", tags: map[string]string{generator.TagOwner: "staging"}, opts: Options{Adopt: true},
			wantKind: KindUpdate, wantAdopt: true},
		{name: "adopt never replaces a foreign role at another path", tags: map[string]string{}, path: "/other/", opts: Options{Adopt: true},
			wantErr: []string{"role orders exists at path /other/", "IAM cannot move a role"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := observedFrom(testRole("orders", "prod"))
			o.Tags = tc.tags
			if tc.path != "" {
				o.Path = tc.path
			}
			state := NewState()
			state.AddRole(o)
			plan, err := Diff(&input.Input{Roles: []*input.DesiredRole{testRole("orders", "prod")}}, state, tc.opts)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("want an error, got plan %+v", plan.Roles)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.Roles[0].Kind != tc.wantKind || plan.Roles[0].Adopt != tc.wantAdopt {
				t.Errorf("got %s adopt=%v", plan.Roles[0].Kind, plan.Roles[0].Adopt)
			}
		})
	}
}

func TestDiffCaseInsensitiveNames(t *testing.T) {
	o := observedFrom(testRole("orders", "prod"))
	o.Name = "Orders"
	state := NewState()
	state.AddRole(o)
	plan, err := Diff(&input.Input{Roles: []*input.DesiredRole{testRole("orders", "prod")}}, state, Options{})
	if err != nil || plan.Roles[0].Kind != KindNoChange {
		t.Fatalf("IAM names are case-insensitive: %v %+v", err, plan.Roles)
	}
}

func TestDiffPrune(t *testing.T) {
	state := NewState()
	state.AllRoles = true
	state.AddRole(observedFrom(testRole("kept", "prod")))
	gone := observedFrom(testRole("gone", "prod"))
	gone.InstanceProfiles = []string{"ip1"}
	state.AddRole(gone)
	state.AddRole(observedFrom(testRole("theirs", "staging")))
	untagged := observedFrom(testRole("untagged", "prod"))
	untagged.Tags = map[string]string{}
	state.AddRole(untagged)
	in := &input.Input{Roles: []*input.DesiredRole{testRole("kept", "prod")}}

	t.Run("without --prune nothing is deleted", func(t *testing.T) {
		plan, err := Diff(in, state, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Roles) != 1 || plan.Roles[0].Name != "kept" {
			t.Fatalf("roles: %+v", plan.Roles)
		}
	})
	t.Run("--prune deletes only this owner's roles", func(t *testing.T) {
		plan, err := Diff(in, state, Options{Prune: true})
		if err != nil {
			t.Fatal(err)
		}
		var deleted []string
		for _, rc := range plan.Roles {
			if rc.Kind == KindDelete {
				deleted = append(deleted, rc.Name)
				want := []string{"DeleteRolePolicy bucket", "DetachRolePolicy " + s3ro, "RemoveRoleFromInstanceProfile ip1", "DeleteRole"}
				if got := ops(rc.Actions); !reflect.DeepEqual(got, want) {
					t.Errorf("delete order: got %q want %q", got, want)
				}
			}
		}
		if !reflect.DeepEqual(deleted, []string{"gone"}) {
			t.Fatalf("deleted %v, want [gone]", deleted)
		}
	})
	t.Run("--prune with no plan is refused", func(t *testing.T) {
		_, err := Diff(&input.Input{}, state, Options{Prune: true})
		if err == nil || !strings.Contains(err.Error(), "no plan") {
			t.Fatalf("want refusal, got %v", err)
		}
	})
	t.Run("--prune needs the whole account", func(t *testing.T) {
		partial := NewState()
		_, err := Diff(in, partial, Options{Prune: true})
		if err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestDiffProviders(t *testing.T) {
	d := testRole("orders", "prod")
	arn := d.OIDCProviders[0].ARN
	tests := []struct {
		name     string
		observed *ObservedProvider
		kind     ChangeKind
		want     []string
	}{
		{name: "missing", kind: KindCreate, want: []string{"CreateOpenIDConnectProvider " + testIssuer}},
		{name: "audience missing", observed: &ObservedProvider{ARN: arn, ClientIDs: []string{"other"}},
			kind: KindUpdate, want: []string{"AddClientIDToOpenIDConnectProvider " + arn}},
		{name: "present", observed: &ObservedProvider{ARN: arn, ClientIDs: []string{"other", "sts.amazonaws.com"}},
			kind: KindNoChange, want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state := NewState()
			state.AddRole(observedFrom(d))
			if tc.observed != nil {
				state.Providers[arn] = tc.observed
			}
			plan, err := Diff(&input.Input{Roles: []*input.DesiredRole{d}}, state, Options{})
			if err != nil {
				t.Fatal(err)
			}
			pc := plan.Providers[0]
			if pc.Kind != tc.kind || !reflect.DeepEqual(ops(pc.Actions), tc.want) {
				t.Fatalf("got %s %q, want %s %q", pc.Kind, ops(pc.Actions), tc.kind, tc.want)
			}
			if plan.HasChanges() != (tc.kind != KindNoChange) {
				t.Errorf("HasChanges = %v", plan.HasChanges())
			}
		})
	}
}
