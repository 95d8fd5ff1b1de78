package iam

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/iambind/iambind/reconcile/input"
)

const (
	arnS3RO    = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
	arnS3Typo  = "arn:aws:iam::aws:policy/AmazonS3ReadOnly"
	arnCustom  = "arn:aws:iam::" + testAccount + ":policy/orders-extra"
	arnBoundry = "arn:aws:iam::" + testAccount + ":policy/boundary"
)

// fakePolicies answers GetPolicy from a set and counts the calls.
type fakePolicies struct {
	exist     map[string]bool
	notAttach map[string]bool
	denied    bool
	calls     atomic.Int64
}

func (f *fakePolicies) GetPolicy(_ context.Context, in *iam.GetPolicyInput, _ ...func(*iam.Options)) (*iam.GetPolicyOutput, error) {
	f.calls.Add(1)
	arn := aws.ToString(in.PolicyArn)
	if f.denied {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: iam:GetPolicy"}
	}
	if !f.exist[arn] {
		return nil, &types.NoSuchEntityException{Message: aws.String("Policy " + arn + " was not found.")}
	}
	return &iam.GetPolicyOutput{Policy: &types.Policy{Arn: in.PolicyArn, IsAttachable: !f.notAttach[arn]}}, nil
}

func rolesWith(t *testing.T, managed [][]string, boundary string) *input.Input {
	t.Helper()
	in := &input.Input{}
	for i, m := range managed {
		r := testRole("r"+string(rune('a'+i)), "prod")
		r.ManagedPolicyARNs = m
		r.PermissionsBoundary = boundary
		in.Roles = append(in.Roles, r)
	}
	return in
}

func TestPolicyARNsToReadSkipsAttached(t *testing.T) {
	in := rolesWith(t, [][]string{{arnS3RO, arnCustom}, {arnS3RO}}, arnBoundry)
	state := NewState()
	o := observedFrom(in.Roles[1]) // has AmazonS3ReadOnlyAccess attached, and the boundary
	o.PermissionsBoundary = arnBoundry
	state.AddRole(o)
	got := PolicyARNsToRead(PolicyRefs(in), state)
	// S3 read-only is proven by the attachment; a boundary in use is not proof.
	if want := []string{arnBoundry, arnCustom}; !reflect.DeepEqual(got, want) {
		t.Fatalf("to read %q, want %q", got, want)
	}
	if got := PolicyARNsToRead(PolicyRefs(in), nil); len(got) != 3 {
		t.Fatalf("nothing observed: %q", got)
	}
}

func TestPreflightNamesRoleBindingFieldAndSuggests(t *testing.T) {
	in := rolesWith(t, [][]string{{arnS3Typo, arnCustom}}, arnBoundry)
	fake := &fakePolicies{exist: map[string]bool{}}
	pf := &Preflighter{IAM: fake, Concurrency: 4}
	res, err := pf.CheckPolicies(context.Background(), in, NewState())
	if err != nil {
		t.Fatal(err)
	}
	msgs := res.PerRole["ra"]
	if len(msgs) != 3 || res.Read != 3 || res.Referenced != 3 {
		t.Fatalf("%+v", res)
	}
	for _, want := range []string{
		"role ra (binding shop/ra): spec.policies.managed: " + arnS3Typo + " does not exist; did you mean AmazonS3ReadOnlyAccess?",
		"role ra (binding shop/ra): spec.policies.managed: " + arnCustom + " does not exist",
		"role ra (binding shop/ra): spec.role.permissionsBoundary: " + arnBoundry + " does not exist",
	} {
		if !strings.Contains(strings.Join(msgs, "\n"), want) {
			t.Errorf("missing %q in\n%s", want, strings.Join(msgs, "\n"))
		}
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("Err() = %v", err)
	}
}

func TestPreflightCachesPerRun(t *testing.T) {
	fake := &fakePolicies{exist: map[string]bool{arnS3RO: true, arnCustom: true}}
	pf := &Preflighter{IAM: fake, Concurrency: 4}
	many := make([][]string, 20)
	for i := range many {
		many[i] = []string{arnS3RO, arnCustom}
	}
	for range 3 { // e.g. three plans of a --from-cluster run
		res, err := pf.CheckPolicies(context.Background(), rolesWith(t, many, ""), NewState())
		if err != nil || len(res.PerRole) != 0 {
			t.Fatalf("%v %+v", err, res)
		}
	}
	if n := fake.calls.Load(); n != 2 || pf.Reads() != 2 {
		t.Fatalf("%d GetPolicy calls (%d counted), want one per distinct ARN: 2", n, pf.Reads())
	}
}

func TestPreflightNotAttachableAndAccessDenied(t *testing.T) {
	slr := "arn:aws:iam::aws:policy/aws-service-role/AmazonEKSServiceRolePolicy"
	fake := &fakePolicies{exist: map[string]bool{slr: true}, notAttach: map[string]bool{slr: true}}
	res, err := (&Preflighter{IAM: fake}).CheckPolicies(context.Background(), rolesWith(t, [][]string{{slr}}, ""), nil)
	if err != nil || !strings.Contains(strings.Join(res.PerRole["ra"], ""), "cannot be attached") {
		t.Fatalf("%v %+v", err, res)
	}
	// AccessDenied: not a crash and not a refusal, a warning that says what to grant.
	denied := &fakePolicies{denied: true}
	res, err = (&Preflighter{IAM: denied}).CheckPolicies(context.Background(), rolesWith(t, [][]string{{arnS3RO}, {arnS3RO}}, ""), nil)
	if err != nil || len(res.PerRole) != 0 || len(res.Warnings) != 1 ||
		!strings.Contains(res.Warnings[0], "AccessDenied") || !strings.Contains(res.Warnings[0], "iam:GetPolicy") {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestPreflightCancelledContextIsAnError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fake := &fakePolicies{denied: true}
	_, err := (&Preflighter{IAM: fake}).CheckPolicies(ctx, rolesWith(t, [][]string{{arnS3RO}}, ""), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// The role and attached-policy quotas cannot be lowered in moto 5.2.1
// (AccountSummary hard-codes RolesQuota 1000 and AttachedPoliciesPerRoleQuota
// 10), so a lowered quota is tested here through a stubbed summary; the
// integration test TestIntegrationRoleQuotaRefused hits moto's real 1000.
func TestQuotas(t *testing.T) {
	plan := func(creates, deletes int, managed int) *Plan {
		p := &Plan{}
		for i := range creates {
			r := testRole("new"+string(rune('a'+i)), "prod")
			r.ManagedPolicyARNs = nil
			for j := range managed {
				r.ManagedPolicyARNs = append(r.ManagedPolicyARNs, arnCustom+string(rune('a'+j)))
			}
			p.Roles = append(p.Roles, RoleChange{Name: r.Name, Kind: KindCreate, desired: r})
		}
		for i := range deletes {
			p.Roles = append(p.Roles, RoleChange{Name: "old" + string(rune('a'+i)), Kind: KindDelete})
		}
		return p
	}
	bulk := func(n int) *State {
		s := NewState()
		s.AllRoles = true
		for i := range n {
			s.AddRole(&ObservedRole{Name: "existing" + strconv.Itoa(i), Tags: map[string]string{}})
		}
		return s
	}
	reads := 0
	summary := func(m map[string]int32) *AccountSummary {
		return &AccountSummary{Read: func(context.Context) (map[string]int32, error) { reads++; return m, nil }}
	}
	lowered := map[string]int32{"Roles": 3, "RolesQuota": 4, "AttachedPoliciesPerRoleQuota": 10}

	// Far from the defaults: the summary is not read at all.
	probs, err := CheckQuotas(context.Background(), summary(lowered), plan(2, 0, 1), bulk(3))
	if err != nil || len(probs) != 0 || reads != 0 {
		t.Fatalf("far from the defaults: %v %v, %d reads", probs, err, reads)
	}
	// The figures alone: 3 roles + 2 created > a quota of 4.
	got := QuotaProblems(FiguresOf(plan(2, 0, 1), bulk(3)), lowered)
	if len(got) != 1 || !strings.Contains(got[0], "creates 2 role(s) (and deletes 0) in an account that has 3: 5 roles, over the account's quota of 4") {
		t.Fatalf("%q", got)
	}
	// Pruning makes room.
	if got := QuotaProblems(FiguresOf(plan(2, 1, 1), bulk(3)), lowered); len(got) != 0 {
		t.Fatalf("with a delete: %q", got)
	}
	// Near the default (801 roles + 1): read once, refused against the real figure.
	probs, err = CheckQuotas(context.Background(), summary(map[string]int32{"Roles": 1000, "RolesQuota": 1000}), plan(1, 0, 1), bulk(801))
	if err != nil || len(probs) != 1 || reads != 1 {
		t.Fatalf("near the default: %q %v, %d reads", probs, err, reads)
	}
	// 11 managed policies: read, and refused under the default per-role quota, fine under a raised one.
	probs, _ = CheckQuotas(context.Background(), summary(map[string]int32{"AttachedPoliciesPerRoleQuota": 10}), plan(1, 0, 11), NewState())
	if len(probs) != 1 || !strings.Contains(probs[0], "role newa: 11 managed policies, over the account's quota of 10") {
		t.Fatalf("%q", probs)
	}
	probs, _ = CheckQuotas(context.Background(), summary(map[string]int32{"AttachedPoliciesPerRoleQuota": 20}), plan(1, 0, 11), NewState())
	if len(probs) != 0 {
		t.Fatalf("raised quota: %q", probs)
	}
	// One read per run, shared.
	s := summary(lowered)
	reads = 0
	for range 3 {
		if _, err := s.Get(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 1 || !s.WasRead() {
		t.Fatalf("%d reads", reads)
	}
}

func TestFairShare(t *testing.T) {
	many := []string{"team-a-01", "team-a-02", "team-a-03", "team-a-04", "team-a-05", "team-a-06"}
	got := FairShare(3, map[string][]string{"team-a": many, "team-b": {"team-b-x"}})
	want := []string{"team-a-03", "team-a-04", "team-a-05", "team-a-06"}
	if !slices.Equal(got, want) {
		t.Errorf("left out %v, want %v: team-b's one role fits, team-a gets the rest of the room", got, want)
	}
	if got := FairShare(10, map[string][]string{"a": {"a-1"}, "b": {"b-1"}}); len(got) != 0 {
		t.Errorf("everything fits, yet %v left out", got)
	}
	if got := FairShare(0, map[string][]string{"a": {"a-1"}}); !slices.Equal(got, []string{"a-1"}) {
		t.Errorf("no room: %v", got)
	}
}
