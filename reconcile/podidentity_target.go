package reconcile

// EKS Pod Identity target roles (spec.podIdentity.targetAccountID): the
// target role's trust must require the externalId EKS gives each
// association that chains into it (sts:ExternalId), a value that exists
// only once the association does. Around the accounts' runs:
//
//   - before: every account a target role lives in must be reachable (else
//     nothing is written, and the account is named); the externalIds of the
//     associations that already exist are read from EKS (in the association
//     role's account) and written into the target role's desired trust, so
//     that a run with nothing to do writes nothing;
//   - the runs: target accounts first (when an account holds only target
//     roles), then the association roles and the associations; with
//     --prune the other way round, so that an association is deleted before
//     the target role it names;
//   - after apply: the associations are read again, and a target role whose
//     externalIds changed (an association made or re-made) gets its trust
//     pinned to them with UpdateAssumeRolePolicy.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/input"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// targetPin is one target role of the plan and the externalIds its trust requires.
type targetPin struct {
	target, assoc *input.DesiredRole
	planned       generator.PolicyDocument // the trust as planned, without sts:ExternalId
	ids           []string                 // the externalIds known before the run
	pending       []string                 // associations whose externalId EKS has yet to make
}

// targetPins pairs each target role of part with its association role,
// looked up in the whole plan: with --shard over several accounts the two
// are in different shards, and the target's shard must still pin it.
func targetPins(whole, part *input.Input) []*targetPin {
	byARN := map[string]*input.DesiredRole{}
	for _, r := range whole.Roles {
		byARN[r.ARN] = r
	}
	var out []*targetPin
	for _, r := range part.Roles {
		if r.PodIdentityTarget == nil {
			continue
		}
		if a := byARN[r.PodIdentityTarget.AssociationRoleARN]; a != nil {
			out = append(out, &targetPin{target: r, assoc: a, planned: r.TrustPolicy})
		}
	}
	return out
}

// checkTargetsReachable refuses, before any write, a plan whose target
// role lives in an account the run cannot reach: without --assume-role only
// the credentials' own account is reached.
func checkTargetsReachable(f *runner, pins []*targetPin) error {
	if f.Scale.AssumeRole != "" {
		return nil
	}
	var problems []string
	for _, p := range pins {
		if ta, aa := accountOf(p.target.ARN), accountOf(p.assoc.ARN); ta != aa {
			problems = append(problems, fmt.Sprintf("role %s (%s): its EKS Pod Identity target role %s is in account %s, which no --assume-role template reaches: give --assume-role 'arn:{partition}:iam::{account}:role/NAME'",
				p.assoc.Name, p.assoc.Source, p.target.ARN, ta))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("refusing to %s, nothing was changed:\n  %s", f.Command, strings.Join(problems, "\n  "))
	}
	return nil
}

// checkAccountsReached refuses, before any write, a target account whose
// credentials (from the --assume-role template) are not that account's.
func checkAccountsReached(ctx context.Context, f *runner, pins []*targetPin, cfgFor func(string) aws.Config) error {
	seen := map[string]bool{}
	var problems []string
	for _, p := range pins {
		account := accountOf(p.target.ARN)
		if seen[account] {
			continue
		}
		seen[account] = true
		client := awsapi.NewClientsFromConfig(cfgFor(account), awsapi.ClientOptions{EndpointURL: f.EndpointURL, Limiter: "none"}).STS
		id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("account %s (EKS Pod Identity target role %s): the --assume-role template does not reach it: %s", account, p.target.ARN, awsapi.ErrorText(err)))
		case aws.ToString(id.Account) != account:
			problems = append(problems, fmt.Sprintf("account %s (EKS Pod Identity target role %s): the --assume-role template gives credentials of account %s", account, p.target.ARN, aws.ToString(id.Account)))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("refusing to %s, nothing was changed:\n  %s", f.Command, strings.Join(problems, "\n  "))
	}
	return nil
}

// observeTargetIDs reads, in the association role's account, the
// externalIds of the associations that chain into the target role, and
// the associations that do not exist (or chain elsewhere) yet.
func observeTargetIDs(ctx context.Context, f *runner, p *targetPin, cfg aws.Config) (ids, pending []string, err error) {
	desired, err := podidentity.DesiredAssociations([]podidentity.Role{{Role: p.assoc.Role, Source: p.assoc.Source}})
	if err != nil {
		return nil, nil, err
	}
	endpoint := f.EKSEndpointURL
	if endpoint == "" {
		endpoint = f.EndpointURL
	}
	client, _ := awsapi.NewEKS(cfg, endpoint)
	state, err := (&podidentity.Observer{EKS: client, Concurrency: f.Concurrency}).Observe(ctx, desired, false)
	if err != nil {
		return nil, nil, fmt.Errorf("target role %s: reading the externalIds of its associations: %w", p.target.ARN, err)
	}
	for _, d := range desired {
		o := state.Associations[d.Key()]
		if o != nil && o.TargetRoleARN == p.target.ARN && o.ExternalID != "" {
			ids = append(ids, o.ExternalID)
		} else {
			pending = append(pending, d.Key())
		}
	}
	return generator.SortedExternalIDs(ids), pending, nil
}

// resolveTargetPins writes the known externalIds into each target role's
// desired trust (before the runs diff it).
func resolveTargetPins(ctx context.Context, f *runner, pins []*targetPin, cfgFor func(string) aws.Config) error {
	for _, p := range pins {
		ids, pending, err := observeTargetIDs(ctx, f, p, cfgFor(accountOf(p.assoc.ARN)))
		if err != nil {
			return fmt.Errorf("refusing to %s, nothing was changed:\n  %v", f.Command, err)
		}
		p.ids, p.pending = ids, pending
		p.target.TrustPolicy = generator.PinExternalIDs(p.planned, ids)
	}
	return nil
}

// notePendingPins tells, in a text plan, which target trusts get an
// externalId only after apply.
func notePendingPins(f *runner, pins []*targetPin, w io.Writer) {
	if f.Output == "json" {
		return // the associations carry "externalId": "(known after apply)"
	}
	for _, p := range pins {
		if len(p.pending) == 0 {
			continue
		}
		verb := "is pinned"
		if f.Command == CommandPlan {
			verb = "will be pinned"
		}
		fmt.Fprintf(w, "~ EKS Pod Identity target role %s: its trust %s to the %s of association(s) %s: %s\n",
			p.target.ARN, verb, generator.ConditionExternalID, strings.Join(p.pending, ", "), podidentity.KnownAfterApply)
	}
}

// repinTargets runs after apply: a target role whose associations'
// externalIds changed gets its trust pinned to them.
func repinTargets(ctx context.Context, f *runner, pins []*targetPin, cfgFor func(string) aws.Config, applied func(*targetPin) bool, w io.Writer) error {
	var problems []string
	for _, p := range pins {
		if !applied(p) {
			// Its account's run failed or refused the role (say, another
			// owner's): the role is not iambind's to change.
			problems = append(problems, fmt.Sprintf("target role %s: not pinned to its associations' externalId, as its changes were not applied", p.target.ARN))
			continue
		}
		ids, pending, err := observeTargetIDs(ctx, f, p, cfgFor(accountOf(p.assoc.ARN)))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if slices.Equal(ids, p.ids) {
			continue
		}
		trust := generator.PinExternalIDs(p.planned, ids)
		doc, err := generator.MarshalJSON(trust, false)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		client := awsapi.NewClientsFromConfig(cfgFor(accountOf(p.target.ARN)), awsapi.ClientOptions{EndpointURL: f.EndpointURL, Limiter: "none"}).IAM
		if _, err := client.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String(p.target.Name), PolicyDocument: aws.String(string(doc))}); err != nil {
			problems = append(problems, fmt.Sprintf("target role %s: pinning its trust to the associations' externalId: UpdateAssumeRolePolicy: %s", p.target.ARN, awsapi.ErrorText(err)))
			continue
		}
		p.ids = ids
		note := ""
		if len(pending) > 0 {
			note = fmt.Sprintf(" (%s still to be made: the next apply pins them)", strings.Join(pending, ", "))
		}
		fmt.Fprintf(w, "EKS Pod Identity target role %s: UpdateAssumeRolePolicy (%s pinned to %d association externalId(s))%s\n",
			p.target.ARN, generator.ConditionExternalID, len(ids), note)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// targetFirst orders account groups for apply: the accounts that hold
// only target roles come first, so a target role exists before the
// association that names it.
func targetFirst(groups []input.AccountPart) (first, rest []input.AccountPart) {
	for _, g := range groups {
		onlyTargets := len(g.In.Roles) > 0 && len(g.In.Discovery) == 0
		for _, r := range g.In.Roles {
			onlyTargets = onlyTargets && r.PodIdentityTarget != nil
		}
		if onlyTargets {
			first = append(first, g)
		} else {
			rest = append(rest, g)
		}
	}
	return first, rest
}

// planOrApplyWithTargets is the one-account run of a plan with target
// roles (in that same account, or refused before any write).
func planOrApplyWithTargets(ctx context.Context, f *runner, in *input.Input, pins []*targetPin, stdout, stderr io.Writer) (*iam.Result, error) {
	if err := checkTargetsReachable(f, pins); err != nil {
		return nil, err
	}
	cfg, err := awsapi.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	cfgFor := func(string) aws.Config { return cfg }
	if err := resolveTargetPins(ctx, f, pins, cfgFor); err != nil {
		return nil, err
	}
	res, err := planOrApplyAccount(ctx, f, in, stdout, stderr, nil)
	applied := func(p *targetPin) bool { return err == nil && res != nil && res.RoleErrors[p.target.Name] == nil }
	return finishTargets(ctx, f, pins, cfgFor, applied, res, err, stdout, stderr)
}

// finishTargets notes the pending pins of a plan, and after apply pins the
// target trusts; a failed pin fails the run.
func finishTargets(ctx context.Context, f *runner, pins []*targetPin, cfgFor func(string) aws.Config, applied func(*targetPin) bool, res *iam.Result, err error, stdout, stderr io.Writer) (*iam.Result, error) {
	if len(pins) == 0 {
		return res, err
	}
	log := stdout
	if f.Output == "json" {
		log = stderr
	}
	if f.Command != CommandApply || res == nil {
		if err == nil {
			notePendingPins(f, pins, log)
		}
		return res, err
	}
	if perr := repinTargets(ctx, f, pins, cfgFor, applied, log); perr != nil {
		if err == nil {
			return res, perr
		}
		return res, fmt.Errorf("%w\n%v", err, perr)
	}
	return res, err
}
