package iam

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/input"
)

// PlaceholderThumbprint is sent as the OIDC provider's thumbprint list. IAM
// no longer uses thumbprints for well-known issuers (EKS included: it trusts
// the issuer's TLS certificate chain), but the API and emulators may still
// require a list of 40-hex-digit values.
const PlaceholderThumbprint = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"

// Eventual consistency: a role just created may not be visible to the next
// call for a moment. Calls on a role this run created retry NoSuchEntity.
const (
	consistencyAttempts = 6
	consistencyBackoff  = 250 * time.Millisecond
)

// Executor applies a Plan.
type Executor struct {
	IAM         *iam.Client
	Observer    *Observer
	Options     Options
	Concurrency int
	// Log receives one line per write; nil for none.
	Log io.Writer
	// Progress is called after each role is handled; may be nil.
	Progress    func(done, total int)
	mu          sync.Mutex
	total, done int // roles to change and changed, for Progress
}

// Result is what an apply did.
type Result struct {
	Created, Updated, Deleted, Unchanged int
	ProvidersCreated, ProvidersUpdated   int
	ProvidersDeleted                     int
	Errors                               []error
	// RoleErrors and ProviderErrors say which role (by name) or OIDC
	// provider (by URL) failed, for per-plan status reporting.
	RoleErrors     map[string]error
	ProviderErrors map[string]error
	// Unfinished says, for each role (by name) or OIDC provider (by URL)
	// that failed, which of its planned calls were made and which not.
	Unfinished map[string]Progress
}

// Progress is what apply did and did not do for one failed role or provider.
type Progress struct {
	Done    []string `json:"done"`    // calls made, in order ("AttachRolePolicy arn:...")
	NotDone []string `json:"notDone"` // the failed call first, then the ones never tried
}

func progressOf(done, notDone []Action) Progress {
	p := Progress{Done: []string{}, NotDone: []string{}}
	for _, a := range done {
		p.Done = append(p.Done, callName(a))
	}
	for _, a := range notDone {
		p.NotDone = append(p.NotDone, callName(a))
	}
	return p
}

// callName is an action without its role: "AttachRolePolicy arn:...".
func callName(a Action) string {
	if a.Target != "" {
		return string(a.Op) + " " + a.Target
	}
	return string(a.Op)
}

// Upsert runs the first phase of the plan: OIDC providers first (trust
// policies name them), then role creates and updates with bounded
// concurrency (each role's calls in order). It goes on past a failed role
// and reports every failure in the Result. Delete runs the second phase,
// after the other services had their turn (EKS Pod Identity associations
// need the roles to exist, and must be gone before their role is).
func (e *Executor) Upsert(ctx context.Context, plan *Plan) *Result {
	res := &Result{RoleErrors: map[string]error{}, ProviderErrors: map[string]error{}, Unfinished: map[string]Progress{}}
	e.total, e.done = 0, 0
	for _, rc := range plan.Roles {
		if rc.Kind != KindNoChange {
			e.total++
		}
	}
	for _, pc := range plan.Providers {
		if pc.Kind == KindDelete {
			continue // after the roles that trusted it (Delete)
		}
		for i, a := range pc.Actions {
			if err := e.call(ctx, a, false); err != nil {
				res.Errors = append(res.Errors, fmt.Errorf("OIDC provider %s: %w", pc.URL, err))
				res.ProviderErrors[pc.URL] = err
				res.Unfinished["OIDC provider "+pc.URL] = progressOf(pc.Actions[:i], pc.Actions[i:i+1])
				continue
			}
			if a.Op == OpCreateOIDCProvider {
				res.ProvidersCreated++
			} else {
				res.ProvidersUpdated++
			}
		}
	}
	var upserts []RoleChange
	for _, rc := range plan.Roles {
		switch rc.Kind {
		case KindNoChange:
			res.Unchanged++
		case KindDelete:
		default:
			upserts = append(upserts, rc)
		}
	}
	e.applyRoles(ctx, upserts, res)
	res.sortErrors()
	return res
}

// Apply runs both phases back to back, for a plan no other service's
// changes go between.
func (e *Executor) Apply(ctx context.Context, plan *Plan) *Result {
	res := e.Upsert(ctx, plan)
	e.Delete(ctx, plan, res)
	return res
}

// Delete runs the plan's role deletions (the second phase; see Upsert).
func (e *Executor) Delete(ctx context.Context, plan *Plan, res *Result) {
	e.applyRoles(ctx, deletions(plan), res)
	for _, pc := range plan.Providers {
		if pc.Kind != KindDelete {
			continue
		}
		for _, a := range pc.Actions {
			if err := e.call(ctx, a, false); err != nil {
				res.Errors = append(res.Errors, fmt.Errorf("OIDC provider %s: %w", pc.URL, err))
				res.ProviderErrors[pc.URL] = err
				res.Unfinished["OIDC provider "+pc.URL] = progressOf(nil, pc.Actions)
				continue
			}
			res.ProvidersDeleted++
		}
	}
	res.sortErrors()
}

// KeepDeletions records that the plan's deletions were not run because
// another service's changes failed: a role whose association could not be
// deleted must stay, and deletions wait for a run in which it succeeded.
func KeepDeletions(plan *Plan, res *Result, errs []error) {
	res.Errors = append(res.Errors, errs...)
	for _, rc := range deletions(plan) {
		err := fmt.Errorf("role %s: not deleted this run, since changes to other services failed", rc.Name)
		res.Errors = append(res.Errors, err)
		res.RoleErrors[rc.Name] = err
	}
	res.sortErrors()
}

func deletions(plan *Plan) []RoleChange {
	var out []RoleChange
	for _, rc := range plan.Roles {
		if rc.Kind == KindDelete {
			out = append(out, rc)
		}
	}
	return out
}

func (r *Result) sortErrors() {
	sort.Slice(r.Errors, func(i, j int) bool { return r.Errors[i].Error() < r.Errors[j].Error() })
}

// applyRoles applies a batch of role changes, at most Concurrency at a time.
func (e *Executor) applyRoles(ctx context.Context, batch []RoleChange, res *Result) {
	_ = awsapi.ForEach(ctx, e.Concurrency, len(batch), func(ctx context.Context, i int) error {
		rc := batch[i]
		kind, made, left, err := e.applyRole(ctx, rc)
		e.mu.Lock()
		defer e.mu.Unlock()
		e.done++
		if e.Progress != nil {
			e.Progress(e.done, e.total)
		}
		if err != nil {
			res.Errors = append(res.Errors, err)
			res.RoleErrors[rc.Name] = err
			res.Unfinished["role "+rc.Name] = progressOf(made, left)
			return nil
		}
		switch kind {
		case KindCreate:
			res.Created++
		case KindUpdate, KindReplace:
			res.Updated++
		case KindDelete:
			res.Deleted++
		case KindNoChange:
			res.Unchanged++
		}
		return nil
	})
}

// applyRole runs one role's calls in order and returns what it amounted to;
// on failure also the calls made and those not made (the failed one first).
func (e *Executor) applyRole(ctx context.Context, rc RoleChange) (kind ChangeKind, made, left []Action, err error) {
	kind = rc.Kind
	created := false
	actions := rc.Actions
	for i := 0; i < len(actions); i++ {
		a := actions[i]
		err := e.call(ctx, a, created)
		if a.Op == OpCreateRole && awsapi.IsCode(err, "EntityAlreadyExists") && rc.desired != nil {
			// Another apply (or a run killed after CreateRole) made it:
			// observe it and reconcile what is there, ownership rules included.
			rest, again, rerr := e.reobserve(ctx, rc.desired)
			if rerr != nil {
				return kind, made, actions[i+1:], rerr
			}
			kind = again
			actions = append(actions[:i+1:i+1], rest...)
			continue
		}
		if err != nil {
			return kind, made, actions[i:], err // err already names the role, the call and the AWS error code
		}
		made = append(made, a)
		if a.Op == OpCreateRole {
			created = true
		}
	}
	return kind, made, nil, nil
}

func (e *Executor) reobserve(ctx context.Context, r *input.DesiredRole) ([]Action, ChangeKind, error) {
	o, err := e.Observer.ObserveRole(ctx, r.Name)
	if err != nil {
		return nil, "", err
	}
	if o == nil {
		return nil, "", fmt.Errorf("role %s: CreateRole said EntityAlreadyExists but GetRole finds no such role; run again", r.Name)
	}
	rc, err := DiffRole(r, o, e.Options)
	if err != nil {
		return nil, "", err
	}
	if rc.Kind == KindReplace {
		return nil, "", fmt.Errorf("role %s appeared concurrently at path %s; run again", r.Name, o.Path)
	}
	return rc.Actions, rc.Kind, nil
}

// call makes one IAM write. Removals treat NoSuchEntity as done (the goal
// is reached; a rerun after a crash converges). Calls on a role created in
// this run retry NoSuchEntity briefly (eventual consistency).
func (e *Executor) call(ctx context.Context, a Action, justCreated bool) error {
	backoff := consistencyBackoff
	for attempt := 1; ; attempt++ {
		err := e.do(ctx, a)
		if err != nil && awsapi.IsCode(err, "NoSuchEntity") {
			switch a.Op {
			case OpDeleteInline, OpDetach, OpRemoveFromProfile, OpDeleteRole, OpDeleteBoundary:
				err = nil
			default:
				if justCreated && attempt < consistencyAttempts {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(backoff):
					}
					backoff *= 2
					continue
				}
			}
		}
		if err != nil {
			return &actionError{action: describe(a), err: err}
		}
		e.logf("%s\n", describe(a))
		return nil
	}
}

// actionError names the failed call ("role X: AttachRolePolicy arn:...") and
// the AWS error code, and keeps the cause for errors.As (EntityAlreadyExists
// handling depends on it).
type actionError struct {
	action string
	err    error
}

func (e *actionError) Error() string { return e.action + ": " + awsapi.ErrorText(e.err) }
func (e *actionError) Unwrap() error { return e.err }

func describe(a Action) string {
	s := string(a.Op)
	if a.Target != "" {
		s += " " + a.Target
	}
	if a.Role != "" {
		return "role " + a.Role + ": " + s
	}
	return s
}

func (e *Executor) logf(format string, args ...any) { awsapi.Logf(&e.mu, e.Log, format, args...) }

func (e *Executor) do(ctx context.Context, a Action) error {
	c := e.IAM
	role := aws.String(a.Role)
	var err error
	switch a.Op {
	case OpCreateOIDCProvider:
		in := &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String(a.Target), ClientIDList: a.ClientIDs, ThumbprintList: []string{PlaceholderThumbprint},
		}
		if len(a.Tags) > 0 {
			in.Tags = iamTags(a.Tags)
		}
		_, err = c.CreateOpenIDConnectProvider(ctx, in)
		if awsapi.IsCode(err, "EntityAlreadyExists") {
			err = nil // raced with another apply; its client IDs are checked on the next run
		}
	case OpDeleteOIDCProvider:
		_, err = c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(a.Target)})
		if awsapi.IsCode(err, "NoSuchEntity") {
			err = nil // already gone
		}
	case OpAddClientID:
		for _, id := range a.ClientIDs {
			if _, err = c.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
				OpenIDConnectProviderArn: aws.String(a.Target), ClientID: aws.String(id),
			}); err != nil {
				break
			}
		}
	case OpCreateRole:
		r := a.Desired
		in := &iam.CreateRoleInput{
			RoleName: role, Path: aws.String(r.Path), AssumeRolePolicyDocument: aws.String(a.Document),
			Description: aws.String(r.Description), MaxSessionDuration: aws.Int32(r.MaxSessionDuration),
			Tags: iamTags(a.Tags), // ownership is set at birth: never an untagged role
		}
		if r.PermissionsBoundary != "" {
			in.PermissionsBoundary = aws.String(r.PermissionsBoundary)
		}
		_, err = c.CreateRole(ctx, in)
	case OpUpdateRole:
		// Both fields always: UpdateRole resets the one it is not given.
		_, err = c.UpdateRole(ctx, &iam.UpdateRoleInput{
			RoleName: role, Description: aws.String(a.Desired.Description), MaxSessionDuration: aws.Int32(a.Desired.MaxSessionDuration),
		})
	case OpUpdateTrust:
		_, err = c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: role, PolicyDocument: aws.String(a.Document)})
	case OpPutBoundary:
		_, err = c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: role, PermissionsBoundary: aws.String(a.Target)})
	case OpDeleteBoundary:
		_, err = c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: role})
	case OpTagRole:
		_, err = c.TagRole(ctx, &iam.TagRoleInput{RoleName: role, Tags: iamTags(a.Tags)})
	case OpUntagRole:
		_, err = c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: role, TagKeys: a.TagKeys})
	case OpAttach:
		_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: aws.String(a.Target)})
	case OpDetach:
		_, err = c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: role, PolicyArn: aws.String(a.Target)})
	case OpPutInline:
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String(a.Target), PolicyDocument: aws.String(a.Document)})
	case OpDeleteInline:
		_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String(a.Target)})
	case OpRemoveFromProfile:
		_, err = c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{RoleName: role, InstanceProfileName: aws.String(a.Target)})
	case OpDeleteRole:
		_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role})
	default:
		err = fmt.Errorf("unknown operation %s", a.Op)
	}
	return err
}

func iamTags(m map[string]string) []types.Tag {
	out := make([]types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}
