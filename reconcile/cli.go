package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/buildinfo"
	"github.com/iambind/iambind/kube"
	"github.com/iambind/iambind/reconcile/discovery"
	"github.com/iambind/iambind/reconcile/podidentity"
	"github.com/spf13/cobra"
)

// Version overrides the version read from the build (internal/buildinfo) when
// set at build time: -ldflags "-X github.com/iambind/iambind/reconcile.Version=v1.2.3".
var Version string

// Exit codes.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitChanges = 2 // plan --detailed-exitcode: the plan has changes
	// check: 0 when at least one role admits the subject, 1 otherwise.
)

// DefaultConcurrency bounds parallel IAM calls (one role at a time per
// worker). IAM's control plane throttles around a few requests per second
// per account, so more workers mostly buy throttling.
const DefaultConcurrency = 4

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

type commonFlags struct {
	files       []string
	endpointURL string
	eksEndpoint string
	prune       bool
	adopt       bool
	output      string
	concurrency int
	guardrails  string
	cluster     clusterFlags
	rerun       string // apply: the command line that finishes a failed run
	scale       scaleFlags
}

func (f *commonFlags) register(cmd *cobra.Command, apply bool) {
	cmd.Flags().StringArrayVarP(&f.files, "filename", "f", nil, "rendered manifests: a file, a directory (recursive *.yaml, *.yml, *.json) or - for stdin; repeatable")
	cmd.Flags().StringVar(&f.endpointURL, "endpoint-url", "", "IAM/STS endpoint override, e.g. a local emulator (AWS_ENDPOINT_URL works too)")
	cmd.Flags().StringVar(&f.eksEndpoint, "eks-endpoint-url", "", "EKS endpoint override for Pod Identity associations (default: --endpoint-url; AWS_ENDPOINT_URL_EKS works too)")
	cmd.Flags().BoolVar(&f.prune, "prune", false, "also delete roles owned (tag iambind.dev/owner) by the plan's owners that are no longer in the plan")
	cmd.Flags().BoolVar(&f.adopt, "adopt", false, "take over existing roles with a planned name that lack this owner's tag (tags and reconciles them)")
	if apply {
		cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	} else {
		cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text, json, or markdown (a pull-request comment)")
	}
	cmd.Flags().IntVar(&f.concurrency, "concurrency", DefaultConcurrency, "how many roles are read or written in parallel")
	cmd.Flags().StringVar(&f.guardrails, "guardrails", "", "a Guardrails file (iambind.dev/v1alpha1): every planned role must satisfy it; its permissionsBoundary is added to roles without one (docs/guardrails.md)")
	f.cluster.register(cmd)
	f.scale.register(cmd)
}

// Run is the iambind command line; it returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "iambind: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "iambind: %v\n", err)
	return ExitError
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "iambind",
		Short: "Make AWS IAM match the IAM plan rendered by iambind-fn",
		Example: `  kustomize build --enable-alpha-plugins --enable-exec overlays/prod > rendered.yaml
  iambind plan -f rendered.yaml --detailed-exitcode
  iambind apply -f rendered.yaml --prune`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var planFlags, applyFlags commonFlags
	var detailed bool
	planCmd := &cobra.Command{
		Use:   "plan -f FILE|DIR|- ...",
		Short: "Show what apply would change in IAM (reads only)",
		Example: `  kustomize build --enable-alpha-plugins --enable-exec overlays/prod | iambind plan -f -
  iambind plan -f hydrated/ --prune --detailed-exitcode    # CI: exit 2 when IAM would change
  iambind plan --from-cluster -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPlanOrApply(cmd.Context(), "plan", &planFlags, detailed, stdin, stdout, stderr)
		},
	}
	planFlags.register(planCmd, false)
	planCmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are changes, 1 on error")

	applyCmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|- ...",
		Short: "Make IAM match the plan",
		Example: `  iambind apply -f hydrated/ --prune
  kpt fn source pkg | iambind-fn | iambind apply -f -
  iambind apply --from-cluster --prune              # the in-cluster Job
  iambind apply --from-cluster --trusted-namespaces platform   # platform's plans may bind other namespaces`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			applyFlags.rerun = rerunCommand(cmd)
			return runPlanOrApply(cmd.Context(), "apply", &applyFlags, false, stdin, stdout, stderr)
		},
	}
	applyFlags.register(applyCmd, true)

	var checkFiles []string
	var tok Token
	var jwt, eksCluster string
	checkCmd := &cobra.Command{
		Use:   "check -f ... (--sub system:serviceaccount:NS:NAME (--issuer URL [--aud AUD] | --eks-cluster NAME) | --token JWT)",
		Short: "Which planned roles can this ServiceAccount assume (IRSA or EKS Pod Identity), and if not, why (exit 0 if any, 1 if none)",
		Example: `  iambind check -f rendered.yaml --sub system:serviceaccount:shop:orders \
      --issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
  kubectl create token orders -n shop --audience sts.amazonaws.com > token
  iambind check -f rendered.yaml --token @token
  iambind check -f rendered.yaml --sub system:serviceaccount:shop:orders --eks-cluster prod   # EKS Pod Identity`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if eksCluster != "" {
				if jwt != "" || tok.Issuer != "" {
					return fail(errors.New("--eks-cluster checks EKS Pod Identity: give it with --sub only, not with --issuer or --token"))
				}
				return runPodIdentityCheck(checkFiles, tok.Sub, eksCluster, stdin, stdout)
			}
			if jwt != "" {
				return runCheckToken(checkFiles, jwt, stdin, stdout)
			}
			if tok.Sub == "" || tok.Issuer == "" {
				return fail(errors.New("give --sub and --issuer, or --token"))
			}
			return runCheck(checkFiles, tok, stdin, stdout)
		},
	}
	checkCmd.Flags().StringArrayVarP(&checkFiles, "filename", "f", nil, "rendered manifests: a file, a directory or - for stdin; repeatable")
	checkCmd.Flags().StringVar(&tok.Sub, "sub", "", "token subject, system:serviceaccount:NAMESPACE:NAME")
	checkCmd.Flags().StringVar(&tok.Issuer, "issuer", "", "token issuer URL, https://...")
	checkCmd.Flags().StringVar(&tok.Aud, "aud", generator.DefaultAudience, "token audience")
	checkCmd.Flags().StringVar(&eksCluster, "eks-cluster", "", "check EKS Pod Identity in this EKS cluster (its name or ARN) instead of a web-identity token")
	checkCmd.Flags().StringVar(&jwt, "token", "", "a ServiceAccount token (JWT, or @FILE): its iss, sub and aud claims are checked (the signature is IAM's to verify)")

	versionCmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  iambind version",
		Args:    cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			info := buildinfo.Get()
			if Version != "" {
				info.Version = Version
			}
			fmt.Fprintf(stdout, "iambind %s\n", info)
		},
	}
	root.AddCommand(planCmd, applyCmd, checkCmd, newKeygenCommand(stdout), newMigrateCommand(stdout), versionCmd)
	return root
}

func fail(err error) error { return &exitError{code: ExitError, err: err} }

func runPlanOrApply(ctx context.Context, command string, f *commonFlags, detailed bool, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	switch {
	case f.output == "markdown" && command == "plan":
		// A refused plan is a report too: the pull request shows why.
		defer func() {
			var ee *exitError
			if errors.As(err, &ee) && ee.err != nil {
				RenderMarkdownRefusal(stdout, ee.err, nil)
			}
		}()
	case f.output != "text" && f.output != "json":
		formats := "text or json"
		if command == "plan" {
			formats = "text, json or markdown"
		}
		return fail(fmt.Errorf("--output must be %s, not %q", formats, f.output))
	}
	if !f.cluster.enabled && len(f.cluster.trusted) > 0 {
		return fail(errors.New("--trusted-namespaces applies to --from-cluster only (-f reads reviewed output, where every plan is trusted)"))
	}
	if f.cluster.enabled {
		if len(f.files) > 0 {
			return fail(errors.New("give either -f or --from-cluster, not both"))
		}
		return runFromCluster(ctx, command, f, detailed, stdout, stderr)
	}
	in, err := ReadInputs(f.files, stdin)
	if err != nil {
		return fail(err)
	}
	_, err = planOrApply(ctx, command, f, in, detailed, stdout, stderr)
	return err
}

// planOrApplyAccount runs plan or apply over the desired roles of one
// account (acct nil: the credentials' own); the Result is nil when nothing
// was applied (plan, or a refusal before any write).
func planOrApplyAccount(ctx context.Context, command string, f *commonFlags, in *Input, detailed bool, stdout, stderr io.Writer, acct *accountTarget) (*Result, error) {
	if !in.HasPlan() {
		if f.prune {
			return nil, fail(errors.New("--prune given but the input holds no plan (no ConfigMap labelled iambind.dev/plan=role): refusing to prune, since that would delete every role of the owner; check the -f paths"))
		}
		if len(in.Discovery) == 0 {
			fmt.Fprintln(stderr, "iambind: warning: the input holds no plan (no ConfigMap labelled iambind.dev/plan=role)")
		}
	}
	if violations := Guard(in); len(violations) > 0 {
		return nil, fail(fmt.Errorf("consistency guard: nothing was changed:\n  %s", strings.Join(violations, "\n  ")))
	}
	if err := enforceGuardrails(f.guardrails, in); err != nil {
		return nil, fail(err)
	}

	clients, err := acct.clients(ctx, f)
	if err != nil {
		return nil, fail(err)
	}
	quota := generator.DefaultMaxTrustPolicySize
	summary := NewAccountSummary(clients.IAM) // read at most once, shared with the preflight
	if TrustPolicyOverDefault(in) {
		// Only then does the account's real quota matter: read it.
		sum, err := summary.Get(ctx)
		if err != nil {
			return nil, fail(fmt.Errorf("reading the trust policy size quota: %w", err))
		}
		if q, ok := sum["AssumeRolePolicySizeQuota"]; ok && q > 0 {
			quota = int(q)
		}
	}
	problems := Validate(in, quota)
	for _, w := range problems.Warnings {
		fmt.Fprintf(stderr, "iambind: warning: %s\n", w)
	}
	if len(problems.Errors) > 0 {
		return nil, fail(fmt.Errorf("the plan is invalid, nothing was changed:\n  %s", strings.Join(problems.Errors, "\n  ")))
	}
	if in.HasPlan() {
		if err := checkAccount(ctx, clients.STS, in); err != nil {
			return nil, fail(err)
		}
	}

	observer := &Observer{IAM: clients.IAM, Concurrency: f.concurrency, Rate: f.scale.rate, Summary: summary}
	state, err := observer.Observe(ctx, in, f.prune)
	if err != nil {
		return nil, fail(fmt.Errorf("observing IAM: %w", err))
	}
	opts := Options{Prune: f.prune, Adopt: f.adopt}
	plan, err := Diff(in, state, opts)
	if err == nil {
		plan.Discovery, err = planDiscovery(ctx, clients, in, opts)
	}
	if err != nil {
		return nil, fail(fmt.Errorf("refusing to %s, nothing was changed:\n  %s", command, strings.ReplaceAll(err.Error(), "\n", "\n  ")))
	}
	plan.Warnings = problems.Warnings
	pf := &Preflighter{IAM: clients.IAM, Concurrency: f.concurrency}
	if err := preflight(ctx, pf, summary, in, state, plan, stderr); err != nil {
		return nil, fail(err)
	}
	if err := addPodIdentity(ctx, command, f, clients, in, state, plan, opts); err != nil {
		return nil, err
	}
	return renderOrApply(ctx, command, f, clients, observer, opts, plan, nil, detailed, stdout, stderr)
}

// renderOrApply prints the plan (plan) or executes it and prints the
// summary (apply). refused are the plans that failed alone (--from-cluster),
// listed among the JSON errors; the caller decides the exit code for them.
func renderOrApply(ctx context.Context, command string, f *commonFlags, clients *Clients, observer *Observer, opts Options,
	plan *Plan, refused []string, detailed bool, stdout, stderr io.Writer) (*Result, error) {
	podIdentity := plan.podIdentityRoom // nil when the plan has no EKS Pod Identity associations
	if command == "plan" {
		switch f.output {
		case "markdown":
			RenderMarkdown(stdout, plan)
		case "json":
			doc := NewJSONDocument("plan", plan)
			doc.Errors = append(doc.Errors, refused...)
			doc.IAMCalls = JSONCalls{Reads: clients.Calls.Reads(), Writes: clients.Calls.Writes(), Retries: clients.Calls.Retries()}
			if podIdentity != nil {
				doc.EKSCalls = &JSONCalls{Reads: podIdentity.calls.Reads(), Writes: podIdentity.calls.Writes(), Retries: podIdentity.calls.Retries()}
			}
			doc.S3Calls = s3Calls(clients, plan)
			if err := WriteJSON(stdout, doc); err != nil {
				return nil, fail(err)
			}
		default:
			RenderText(stdout, plan)
		}
		if detailed && plan.HasChanges() {
			return nil, &exitError{code: ExitChanges}
		}
		return nil, nil
	}

	if f.output == "text" {
		RenderText(stdout, plan)
	}
	ex := &Executor{IAM: clients.IAM, Observer: observer, Options: opts, Concurrency: f.concurrency}
	if f.output == "text" {
		ex.Log = stdout
		ex.Progress = progressReporter(stderr)
	}
	// Issuers first: IAM and token verifiers fetch them once the provider exists.
	dres := applyDiscovery(ctx, clients, plan, ex.Log)
	var piResult *podidentity.Result
	if podIdentity != nil {
		ex.AfterUpserts = podIdentity.applier(plan.PodIdentity, ex.Log, &piResult)
	}
	res := ex.Apply(ctx, plan)
	res.Errors = append(dres.Errors, res.Errors...)
	if piResult != nil {
		for role, err := range piResult.RoleErrors {
			if _, failed := res.RoleErrors[role]; !failed {
				res.RoleErrors[role] = err // a plan's status says Error when its associations failed
			}
		}
	}
	reads, writes := clients.Calls.Reads(), clients.Calls.Writes()
	if f.output == "json" {
		doc := NewJSONDocument("apply", plan)
		doc.IAMCalls = JSONCalls{Reads: reads, Writes: writes, Retries: clients.Calls.Retries()}
		doc.S3Calls = s3Calls(clients, plan)
		doc.Result = &JSONResult{Created: res.Created, Updated: res.Updated, Deleted: res.Deleted, Unchanged: res.Unchanged,
			IAMCalls: doc.IAMCalls, Errors: append([]string{}, refused...), Discovery: discoveryResult(plan, dres)}
		for _, e := range res.Errors {
			doc.Result.Errors = append(doc.Result.Errors, e.Error())
		}
		doc.Errors = doc.Result.Errors
		if podIdentity != nil {
			calls := JSONCalls{Reads: podIdentity.calls.Reads(), Writes: podIdentity.calls.Writes(), Retries: podIdentity.calls.Retries()}
			doc.EKSCalls = &calls
			pr := &JSONPodIdentityResult{EKSCalls: calls}
			if piResult != nil {
				pr.Created, pr.Updated, pr.Deleted, pr.Unchanged = piResult.Created, piResult.Updated, piResult.Deleted, piResult.Unchanged
			}
			doc.Result.PodIdentityAssociations = pr
		}
		if len(res.Unfinished) > 0 {
			doc.Result.Unfinished, doc.Result.Rerun = res.Unfinished, f.rerun
		}
		if err := WriteJSON(stdout, doc); err != nil {
			return res, fail(err)
		}
	} else {
		summary := ApplySummary(res, reads, writes)
		if n := clients.Calls.Retries(); n > 0 {
			summary += fmt.Sprintf(" (+%d retried attempts)", n)
		}
		if plan.Discovery != nil {
			summary += "; " + discovery.ApplySummary(dres, clients.S3Calls.Reads(), clients.S3Calls.Writes())
		}
		fmt.Fprintln(stdout, summary)
		if podIdentity != nil {
			r := piResult
			if r == nil {
				r = &podidentity.Result{}
			}
			fmt.Fprintln(stdout, podidentity.ApplySummary(r, podIdentity.calls.Reads(), podIdentity.calls.Writes()))
		}
		fmt.Fprint(stdout, FailureReport(res, f.rerun))
	}
	if len(res.Errors) > 0 {
		msgs := make([]string, len(res.Errors))
		for i, e := range res.Errors {
			msgs[i] = e.Error()
		}
		return res, fail(fmt.Errorf("apply failed for %d item(s); after fixing the cause, finish with: %s\n  %s",
			len(res.Errors), f.rerun, strings.Join(msgs, "\n  ")))
	}
	return res, nil
}

// checkAccount refuses to run a plan made for another account or partition
// than the credentials' (e.g. a prod plan with staging credentials).
func checkAccount(ctx context.Context, c *sts.Client, in *Input) error {
	partition, account := PlanAccount(in)
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

// runCheckToken checks the claims of a real ServiceAccount token.
func runCheckToken(files []string, jwt string, stdin io.Reader, stdout io.Writer) error {
	if rest, ok := strings.CutPrefix(jwt, "@"); ok {
		data, err := os.ReadFile(rest)
		if err != nil {
			return fail(fmt.Errorf("--token: %w", err))
		}
		jwt = strings.TrimSpace(string(data))
	}
	iss, sub, auds, err := kube.DecodeTokenClaims(jwt)
	if err != nil {
		return fail(fmt.Errorf("--token: %w", err))
	}
	if len(auds) == 0 {
		return fail(errors.New("--token: the token has no aud claim"))
	}
	admitted := 0
	for i, aud := range auds {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		err := runCheck(files, Token{Issuer: iss, Sub: sub, Aud: aud}, stdin, stdout)
		var ee *exitError
		switch {
		case err == nil:
			admitted++
		case errors.As(err, &ee) && ee.err == nil:
		default:
			return err
		}
	}
	if admitted == 0 {
		return &exitError{code: ExitError}
	}
	return nil
}

func runCheck(files []string, tok Token, stdin io.Reader, stdout io.Writer) error {
	if !strings.HasPrefix(tok.Sub, "system:serviceaccount:") || strings.Count(tok.Sub, ":") != 3 {
		return fail(fmt.Errorf("--sub %q must be system:serviceaccount:NAMESPACE:NAME", tok.Sub))
	}
	if !strings.HasPrefix(tok.Issuer, "https://") {
		return fail(fmt.Errorf("--issuer %q must be an https:// URL", tok.Issuer))
	}
	in, err := ReadInputs(files, stdin)
	if err != nil {
		return fail(err)
	}
	if len(in.Roles) == 0 {
		return fail(errors.New("the input holds no plan (no ConfigMap labelled iambind.dev/plan=role)"))
	}
	results := Check(in, tok)
	n := RenderCheck(stdout, tok, results)
	if n == 0 {
		return &exitError{code: ExitError}
	}
	return nil
}

// RenderCheck prints the verdicts and returns how many roles admit the token.
func RenderCheck(w io.Writer, tok Token, results []CheckResult) int {
	n := 0
	for _, r := range results {
		if r.Admitted {
			n++
		}
	}
	fmt.Fprintf(w, "subject %s, issuer %s, audience %s\n", tok.Sub, tok.Issuer, tok.Aud)
	renderVerdicts(w, results, n)
	return n
}

// renderVerdicts prints which roles admit a subject and why the others do not.
func renderVerdicts(w io.Writer, results []CheckResult, n int) {
	if n > 0 {
		fmt.Fprintf(w, "can assume %d role(s):\n", n)
		for _, r := range results {
			if r.Admitted {
				fmt.Fprintf(w, "  ✓ %s (%s)\n", r.Role, r.ARN)
			}
		}
	} else {
		fmt.Fprintln(w, "can assume no planned role")
	}
	var misses []CheckResult
	for _, r := range results {
		if !r.Admitted {
			misses = append(misses, r)
		}
	}
	if len(misses) > 0 {
		fmt.Fprintln(w, "cannot assume:")
		for _, r := range misses {
			fmt.Fprintf(w, "  ✗ %s (%s):\n", r.Role, r.ARN)
			for _, why := range r.Reasons {
				fmt.Fprintf(w, "      %s\n", why)
			}
		}
	}
}

// Main is the iambind entry point for cmd/iambind.
func Main() int {
	return Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}
