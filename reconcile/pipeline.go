package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/iambind/iambind/guardrails"
	"github.com/iambind/iambind/reconcile/safety"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/input"
)

// Run is one plan or apply, from the rendered files or from the cluster's
// plan ConfigMaps: it reads, checks, observes, diffs, and prints the plan or
// applies it. The error says why the run failed; the caller turns it, and
// the Outcome, into an exit code.
func Run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) (Outcome, error) {
	f := &runner{Config: cfg}
	err := f.run(ctx, stdin, stdout, stderr)
	return Outcome{HasChanges: f.changes.Load()}, err
}

// runner is a run in progress: its Config, and what it found so far.
type runner struct {
	Config
	// changes is set when any account's plan has changes.
	changes atomic.Bool
}

func (f *runner) run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	switch {
	case f.Output == "markdown" && f.Command == CommandPlan:
		// A refused plan is a report too: the pull request shows why.
		defer func() {
			if err != nil {
				RenderMarkdownRefusal(stdout, err, nil)
			}
		}()
	case f.Output != "text" && f.Output != "json":
		formats := "text or json"
		if f.Command == CommandPlan {
			formats = "text, json or markdown"
		}
		return fmt.Errorf("--output must be %s, not %q", formats, f.Output)
	}
	if !f.Cluster.Enabled && len(f.Cluster.Trusted) > 0 {
		return errors.New("--trusted-namespaces applies to --from-cluster only (-f reads reviewed output, where every plan is trusted)")
	}
	if f.Cluster.Enabled {
		if len(f.Files) > 0 {
			return errors.New("give either -f or --from-cluster, not both")
		}
		return runFromCluster(ctx, f, stdout, stderr)
	}
	in, err := input.ReadInputs(f.Files, stdin)
	if err != nil {
		return err
	}
	_, err = planOrApply(ctx, f, in, stdout, stderr)
	return err
}

// A batch is what one pass of the pipeline reconciles in one account, and
// its unit of refusal: the whole -f input (fileBatch: a problem anywhere
// refuses it all and nothing is written), or each plan ConfigMap of
// --from-cluster (clusterRun: a problem refuses that plan only, and the
// others go on). The pipeline (reconcileBatch) runs the steps in one order
// for both; a batch says how each step's findings refuse.
type batch interface {
	// checkOffline runs the checks that need no AWS: the consistency guard,
	// the guardrails, and for cluster plans their tenancy.
	checkOffline(stderr io.Writer) error
	// input is the input of the plans not refused so far.
	input() *input.Input
	// validate refuses plans that break IAM's limits (quota: the account's
	// trust policy size quota).
	validate(quota int, stderr io.Writer) error
	// checkAccount refuses plans made for another account than the
	// credentials'.
	checkAccount(ctx context.Context, c *sts.Client) error
	// needsObserve is false when no plan is left to observe IAM for.
	needsObserve() bool
	// decide applies the rules that need the observed roles and the
	// policies' documents, before the diff.
	decide(ctx context.Context, rd readers, state *iam.State, opts iam.Options) error
	// mayPrune is false when prune must not run, whatever the flag says.
	mayPrune() bool
	// finish checks the plan (preflight, quotas, prune scope) and records
	// what was checked and the warnings on it.
	finish(ctx context.Context, rd readers, summary *iam.AccountSummary, state *iam.State, plan *Plan, stderr io.Writer) error
	// refused names the plans refused alone ("ConfigMap ns/name: reason").
	refused() []string
	// providerTags are the tags of the OIDC providers this batch creates
	// (nil: none).
	providerTags() func(url string) map[string]string
}

// readers are the preflight's reads of one run, each cached per ARN: the
// policies a plan references (do they exist, may they be attached) and,
// with guardrails, the managed policies' documents.
type readers struct {
	policies  *iam.Preflighter
	documents *iam.DocumentReader
	iam       *iam.Observer // the run's observer, for what prune looks for late
}

// planOrApplyAccount runs plan or apply over the -f input's roles of one
// account (acct nil: the credentials' own); the Result is nil when nothing
// was applied (plan, or a refusal before any write).
func planOrApplyAccount(ctx context.Context, f *runner, in *input.Input, stdout, stderr io.Writer, acct *accountTarget) (*iam.Result, error) {
	return reconcileBatch(ctx, f, &fileBatch{f: f, in: in}, acct, stdout, stderr)
}

// reconcileBatch is the pipeline: checks without AWS, the account's
// clients, validation, the account check, observation, the decisions that
// need the observed state, the diff of every service, the preflight, then
// the plan rendered or applied.
func reconcileBatch(ctx context.Context, f *runner, b batch, acct *accountTarget, stdout, stderr io.Writer) (*iam.Result, error) {
	if err := b.checkOffline(stderr); err != nil {
		return nil, err
	}
	clients, err := acct.clients(ctx, f)
	if err != nil {
		return nil, err
	}
	summary := iam.NewAccountSummary(clients.IAM) // read at most once, shared with the preflight
	quota, err := trustPolicyQuota(ctx, summary, b.input())
	if err != nil {
		return nil, err
	}
	if err := b.validate(quota, stderr); err != nil {
		return nil, err
	}
	if err := b.checkAccount(ctx, clients.STS); err != nil {
		return nil, err
	}

	opts := iam.Options{Prune: f.Prune, Adopt: f.Adopt, NoDocumentDiffs: f.Output == "json", ProviderTags: b.providerTags()}
	observer := &iam.Observer{IAM: clients.IAM, Concurrency: f.Concurrency, Rate: f.Scale.Rate, Summary: summary}
	state := iam.NewState()
	if b.needsObserve() {
		if state, err = observer.Observe(ctx, b.input(), f.Prune); err != nil {
			return nil, fmt.Errorf("observing IAM: %w", err)
		}
	}
	rd := readers{policies: &iam.Preflighter{IAM: clients.IAM, Concurrency: f.Concurrency},
		documents: &iam.DocumentReader{IAM: clients.IAM, Concurrency: f.Concurrency}, iam: observer}
	if err := b.decide(ctx, rd, state, opts); err != nil {
		return nil, err
	}

	in := b.input()
	opts.Prune = f.Prune && b.mayPrune()
	iamPlan, err := iam.Diff(in, state, opts)
	plan := &Plan{Plan: iamPlan}
	if err == nil {
		plan.Discovery, err = planDiscovery(ctx, clients, in, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("refusing to %s, nothing was changed:\n  %s", f.Command, strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	if err := b.finish(ctx, rd, summary, state, plan, stderr); err != nil {
		return nil, err
	}
	// finish may have refused plans (the quota's fair share): what is left goes on.
	podIdentity, err := addPodIdentity(ctx, f, clients, b.input(), state, plan, opts)
	if err != nil {
		return nil, err
	}
	return renderOrApply(ctx, f, clients, podIdentity, observer, opts, plan, b.refused(), stdout, stderr)
}

// trustPolicyQuota is the account's trust policy size quota: the default,
// unless a planned trust policy is bigger, and only then read from the
// account.
func trustPolicyQuota(ctx context.Context, summary *iam.AccountSummary, in *input.Input) (int, error) {
	quota := generator.DefaultMaxTrustPolicySize
	if safety.TrustPolicyOverDefault(in) {
		sum, err := summary.Get(ctx)
		if err != nil {
			return 0, fmt.Errorf("reading the trust policy size quota: %w", err)
		}
		if q, ok := sum["AssumeRolePolicySizeQuota"]; ok && q > 0 {
			quota = int(q)
		}
	}
	return quota, nil
}

// fileBatch is an -f input (or its part in one account): one unit of
// refusal.
type fileBatch struct {
	f        *runner
	in       *input.Input
	rails    *guardrails.Guardrails // --guardrails, nil without
	warnings []string               // validation's, kept for the plan
}

func (b *fileBatch) input() *input.Input { return b.in }
func (b *fileBatch) needsObserve() bool  { return true }
func (b *fileBatch) mayPrune() bool      { return true }
func (b *fileBatch) refused() []string   { return nil }

// providerTags: -f leaves providers untagged, as it always did.
func (b *fileBatch) providerTags() func(string) map[string]string { return nil }

func (b *fileBatch) checkOffline(stderr io.Writer) error {
	in := b.in
	if !in.HasPlan() {
		if b.f.Prune {
			return errors.New("--prune given but the input holds no plan (no ConfigMap labelled iambind.dev/plan=role): refusing to prune, since that would delete every role of the owner; check the -f paths")
		}
		if len(in.Discovery) == 0 {
			fmt.Fprintln(stderr, "iambind: warning: the input holds no plan (no ConfigMap labelled iambind.dev/plan=role)")
		}
	}
	if violations := safety.Guard(in); len(violations) > 0 {
		return fmt.Errorf("consistency guard: nothing was changed:\n  %s", strings.Join(violations, "\n  "))
	}
	rails, err := safety.LoadGuardrails(b.f.Guardrails)
	if err != nil {
		return err
	}
	b.rails = rails
	safety.WarnGuardrails(rails, stderr)
	return safety.EnforceGuardrails(rails, b.f.Guardrails, in)
}

func (b *fileBatch) validate(quota int, stderr io.Writer) error {
	problems := safety.Validate(b.in, quota)
	for _, w := range problems.Warnings {
		fmt.Fprintf(stderr, "iambind: warning: %s\n", w)
	}
	if len(problems.Errors) > 0 {
		return fmt.Errorf("the plan is invalid, nothing was changed:\n  %s", strings.Join(problems.Errors, "\n  "))
	}
	b.warnings = problems.Warnings
	return nil
}

func (b *fileBatch) checkAccount(ctx context.Context, c *sts.Client) error {
	if !b.in.HasPlan() {
		return nil
	}
	return checkAccount(ctx, c, b.in)
}

// decide: the guardrails judge the managed policies by their documents
// (ownership needs nothing here: the diff refuses a role of another owner,
// and the whole input with it).
func (b *fileBatch) decide(ctx context.Context, rd readers, _ *iam.State, _ iam.Options) error {
	found, err := judgeManagedPolicies(ctx, rd.documents, b.rails, b.in.Roles)
	if err != nil || len(found) == 0 {
		return err
	}
	var lines []string
	for _, r := range b.in.Roles { // sorted: stable output
		for _, v := range found[r] {
			lines = append(lines, v.String()+" ("+r.Source+")")
		}
	}
	return fmt.Errorf("guardrails %s refused %d role(s) for what their managed policies grant, nothing was changed:\n  %s",
		b.f.Guardrails, len(found), strings.Join(lines, "\n  "))
}

func (b *fileBatch) finish(ctx context.Context, rd readers, summary *iam.AccountSummary, state *iam.State, plan *Plan, stderr io.Writer) error {
	plan.Warnings = b.warnings
	return preflight(ctx, rd.policies, summary, b.in, state, plan, stderr)
}

// renderOrApply prints the plan (plan) or applies it and prints what was
// done (apply). refused are the plans that failed alone (--from-cluster),
// listed among the JSON errors; the caller decides the exit code for them.
// podIdentity is nil when the plan has no EKS Pod Identity associations.
func renderOrApply(ctx context.Context, f *runner, clients *awsapi.Clients, podIdentity *podIdentityRoom,
	observer *iam.Observer, opts iam.Options, plan *Plan, refused []string, stdout, stderr io.Writer) (*iam.Result, error) {
	if f.Command == CommandPlan {
		if err := renderPlan(f, clients, podIdentity, plan, refused, stdout); err != nil {
			return nil, err
		}
		if plan.HasChanges() {
			f.changes.Store(true)
		}
		return nil, nil
	}
	var log io.Writer
	var progress func(done, total int)
	if f.Output == "text" {
		RenderText(stdout, plan)
		log, progress = stdout, progressReporter(stderr)
	}
	done := applyPlan(ctx, f, clients, podIdentity, observer, opts, plan, log, progress)
	res := done.iam
	if err := renderApplied(f, clients, podIdentity, plan, refused, done, stdout); err != nil {
		return res, err
	}
	if len(res.Errors) > 0 {
		msgs := make([]string, len(res.Errors))
		for i, e := range res.Errors {
			msgs[i] = e.Error()
		}
		if done.interrupted {
			return res, fmt.Errorf("apply was interrupted with %d item(s) not finished; run the same command again to finish: %s\n  %s",
				len(res.Errors), f.Rerun, strings.Join(msgs, "\n  "))
		}
		return res, fmt.Errorf("apply failed for %d item(s); after fixing the cause, finish with: %s\n  %s",
			len(res.Errors), f.Rerun, strings.Join(msgs, "\n  "))
	}
	return res, nil
}

// checkAccount refuses to run a plan made for another account or partition
// than the credentials' (e.g. a prod plan with staging credentials).
func checkAccount(ctx context.Context, c *sts.Client, in *input.Input) error {
	partition, account := input.PlanAccount(in)
	id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("checking the AWS account (sts GetCallerIdentity): %w", err)
	}
	got := aws.ToString(id.Account)
	gotPartition := partition
	if a, err := arn.Parse(aws.ToString(id.Arn)); err == nil {
		gotPartition = a.Partition
	}
	if got != account || gotPartition != partition {
		return fmt.Errorf("the plan is for account %s (partition %s) but the credentials are for account %s (partition %s): nothing was changed",
			account, partition, got, gotPartition)
	}
	return nil
}
