package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/iambind/iambind/reconcile/safety"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/input"
)

// accountTarget is one account of the plan and the credentials that reach it.
type accountTarget struct {
	Partition, Account string
	// AssumedRole is the role assumed into the account; "" when the
	// credentials' own account is used directly.
	AssumedRole string
	cfg         aws.Config
	made        *awsapi.Clients // the clients its run built, for the totals
}

// clients builds the account's clients; a nil target is the single-account
// run with the default credential chain.
func (a *accountTarget) clients(ctx context.Context, f *runner) (*awsapi.Clients, error) {
	opts := awsapi.ClientOptions{EndpointURL: f.EndpointURL, Rate: f.Scale.Rate, Limiter: f.Scale.Limiter}
	if a == nil {
		cfg, err := awsapi.LoadConfig(ctx)
		if err != nil {
			return nil, err
		}
		return awsapi.NewClientsFromConfig(cfg, opts), nil
	}
	a.made = awsapi.NewClientsFromConfig(a.cfg, opts)
	return a.made, nil
}

// planOrApply runs plan or apply: the plan's part in each account through
// planOrApplyAccount, concurrently when there are several accounts.
func planOrApply(ctx context.Context, f *runner, in *input.Input, stdout, stderr io.Writer) (*iam.Result, error) {
	if err := f.Scale.validate(); err != nil {
		return nil, err
	}
	whole := in
	shard, _ := input.ParseShard(f.Scale.Shard)
	if shard.Enabled() {
		// The guard judges the whole plan: one shard must not write while
		// another part of the same plan is inconsistent.
		if violations := safety.Guard(in); len(violations) > 0 {
			return nil, fmt.Errorf("consistency guard: nothing was changed:\n  %s", strings.Join(violations, "\n  "))
		}
		whole := len(in.Roles)
		in = shard.Filter(in)
		fmt.Fprintf(stderr, "iambind: shard %s: %d of %d planned roles\n", shard, len(in.Roles), whole)
		if !in.HasPlan() {
			return nil, nil
		}
	}
	groups := input.ByAccount(in)
	if f.Scale.AssumeRole == "" || len(groups) == 0 {
		// One account (or a refusal Validate words): the credentials' own.
		if pins := targetPins(whole, in); len(pins) > 0 {
			return planOrApplyWithTargets(ctx, f, in, pins, stdout, stderr)
		}
		return planOrApplyAccount(ctx, f, in, stdout, stderr, nil)
	}
	return planOrApplyAccounts(ctx, f, groups, targetPins(whole, in), stdout, stderr)
}

// accountRun is the outcome of one account's pipeline.
type accountRun struct {
	target *accountTarget
	res    *iam.Result
	err    error
	stdout bytes.Buffer
}

func planOrApplyAccounts(ctx context.Context, f *runner, groups []input.AccountPart, pins []*targetPin, stdout, stderr io.Writer) (*iam.Result, error) {
	// Bad input is refused in every account before any account is touched.
	var problems []string
	for _, g := range groups {
		// The account's real trust-policy quota is read in its own run.
		problems = append(problems, safety.Validate(g.In, math.MaxInt).Errors...)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the plan is invalid, nothing was changed:\n  %s", strings.Join(problems, "\n  "))
	}
	if violations := safety.Guard(&input.Input{Roles: allRoles(groups), ServiceAccounts: groups[0].In.ServiceAccounts}); len(violations) > 0 {
		return nil, fmt.Errorf("consistency guard: nothing was changed:\n  %s", strings.Join(violations, "\n  "))
	}

	cfg, err := awsapi.LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	base := awsapi.NewClientsFromConfig(cfg, awsapi.ClientOptions{EndpointURL: f.EndpointURL, Limiter: "none"})
	id, err := base.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("reading the credentials' own account (sts GetCallerIdentity): %w", err)
	}
	callerAccount, callerPartition := aws.ToString(id.Account), "aws"
	if a, err := arn.Parse(aws.ToString(id.Arn)); err == nil {
		callerPartition = a.Partition
	}

	runs := make([]*accountRun, len(groups))
	var stderrMu sync.Mutex // the accounts' warnings share stderr
	var wg sync.WaitGroup
	targets := make([]*accountTarget, len(groups))
	for i, g := range groups {
		t := &accountTarget{Partition: g.Partition, Account: g.Account, cfg: cfg}
		if g.Account != callerAccount || g.Partition != callerPartition {
			t.AssumedRole = strings.NewReplacer("{account}", g.Account, "{partition}", g.Partition).Replace(f.Scale.AssumeRole)
			t.cfg = cfg.Copy()
			// The cache refreshes the session before it expires, so an
			// apply longer than the session's hour keeps going.
			t.cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(base.STS, t.AssumedRole,
				func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "iambind" }))
		}
		targets[i] = t
		runs[i] = &accountRun{target: t}
	}
	cfgFor := func(account string) aws.Config {
		for _, t := range targets {
			if t.Account == account {
				return t.cfg
			}
		}
		if account == callerAccount {
			return cfg
		}
		// An account outside this shard (an association role's, read for
		// its externalIds): reached through the template as well.
		c := cfg.Copy()
		c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(base.STS,
			strings.NewReplacer("{account}", account, "{partition}", callerPartition).Replace(f.Scale.AssumeRole),
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "iambind" }))
		return c
	}
	if len(pins) > 0 {
		if err := checkAccountsReached(ctx, f, pins, cfgFor); err != nil {
			return nil, err
		}
		if err := resolveTargetPins(ctx, f, pins, cfgFor); err != nil {
			return nil, err
		}
	}
	runWave := func(wave []input.AccountPart) {
		for _, g := range wave {
			i := slices.IndexFunc(groups, func(x input.AccountPart) bool { return x.Account == g.Account && x.Partition == g.Partition })
			run := runs[i]
			wg.Add(1)
			go func(g input.AccountPart) {
				defer wg.Done()
				// Each account has its own clients: its own concurrency, call
				// counts and rate limiter (IAM throttles per account).
				run.res, run.err = planOrApplyAccount(ctx, f, g.In, &run.stdout,
					&prefixWriter{w: stderr, prefix: "account " + g.Account + ": ", mu: &stderrMu}, run.target)
			}(g)
		}
		wg.Wait()
	}
	if len(pins) > 0 && f.Command == CommandApply {
		targets, rest := targetFirst(groups)
		if f.Prune {
			// Deletions go the other way: the associations first, then the
			// roles they name.
			runWave(rest)
			runWave(targets)
		} else {
			runWave(targets)
			runWave(rest)
		}
	} else {
		runWave(groups)
	}
	res, err := mergeAccountRuns(f, runs, stdout, stderr)
	// A target role is pinned only when its account's run applied it.
	applied := func(p *targetPin) bool {
		for _, r := range runs {
			if r.target.Account == accountOf(p.target.ARN) {
				return r.err == nil && r.res != nil && r.res.RoleErrors[p.target.Name] == nil
			}
		}
		return false
	}
	return finishTargets(ctx, f, pins, cfgFor, applied, res, err, stdout, stderr)
}

func allRoles(groups []input.AccountPart) []*input.DesiredRole {
	var out []*input.DesiredRole
	for _, g := range groups {
		out = append(out, g.In.Roles...)
	}
	return out
}

// via says how an account was reached, for the report.
func (a *accountTarget) via() string {
	if a.AssumedRole == "" {
		return "the credentials' own account"
	}
	return "assumed " + a.AssumedRole
}

// mergeAccountRuns writes every account's report, in account order, and
// the totals; the run fails when any account failed.
func mergeAccountRuns(f *runner, runs []*accountRun, stdout, stderr io.Writer) (*iam.Result, error) {
	total := &iam.Result{RoleErrors: map[string]error{}, ProviderErrors: map[string]error{}}
	applied := false
	var failures []string
	for _, r := range runs {
		if r.res != nil {
			applied = true
			total.Created += r.res.Created
			total.Updated += r.res.Updated
			total.Deleted += r.res.Deleted
			total.Unchanged += r.res.Unchanged
			total.ProvidersCreated += r.res.ProvidersCreated
			total.ProvidersUpdated += r.res.ProvidersUpdated
			total.Errors = append(total.Errors, r.res.Errors...)
			for k, v := range r.res.RoleErrors {
				total.RoleErrors[k] = v
			}
			for k, v := range r.res.ProviderErrors {
				total.ProviderErrors[k] = v
			}
		}
		if r.err != nil {
			failures = append(failures, fmt.Sprintf("account %s: %s", r.target.Account, strings.ReplaceAll(r.err.Error(), "\n", "\n  ")))
		}
	}
	if f.Output == "json" {
		if err := writeAccountsJSON(string(f.Command), runs, stdout); err != nil {
			return nil, err
		}
	} else {
		for _, r := range runs {
			fmt.Fprintf(stdout, "== account %s (%s), %s\n", r.target.Account, r.target.Partition, r.target.via())
			stdout.Write(r.stdout.Bytes())
			if r.err != nil {
				fmt.Fprintf(stdout, "account %s: failed (see stderr)\n", r.target.Account)
			}
		}
		if applied {
			var reads, writes, retries, throttled int64
			for _, r := range runs {
				if c := r.target.made; c != nil {
					reads, writes, retries = reads+c.Calls.Reads(), writes+c.Calls.Writes(), retries+c.Calls.Retries()
					if c.Limiter != nil {
						throttled += c.Limiter.Throttled()
					}
				}
			}
			line := fmt.Sprintf("total over %d accounts: %s", len(runs), ApplySummary(total, reads, writes))
			if retries > 0 {
				line += fmt.Sprintf(" (+%d retried attempts, %d throttled)", retries, throttled)
			}
			fmt.Fprintln(stdout, line)
		}
	}
	if !applied {
		total = nil
	}
	if len(failures) > 0 {
		return total, fmt.Errorf("%d of %d account(s) failed:\n  %s", len(failures), len(runs), strings.Join(failures, "\n  "))
	}
	return total, nil
}

// prefixWriter prefixes each line written to w (one account's warnings on
// the shared stderr); writes are line-buffered and serialised.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
	// mu serialises the writers that share w.
	mu *sync.Mutex
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		line := p.buf[:i+1]
		// "iambind: warning: x" becomes "iambind: account A: warning: x".
		if rest, ok := bytes.CutPrefix(line, []byte("iambind: ")); ok {
			fmt.Fprintf(p.w, "iambind: %s%s", p.prefix, rest)
		} else {
			fmt.Fprintf(p.w, "%s%s", p.prefix, line)
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// writeAccountsJSON merges the accounts' JSON documents: the top level has
// the totals and every role and provider (account by account), and
// "accounts" each account's own summary, calls and result.
func writeAccountsJSON(command string, runs []*accountRun, w io.Writer) error {
	type rawDoc struct {
		HasChanges    bool              `json:"hasChanges"`
		Summary       JSONSummary       `json:"summary"`
		Owners        []string          `json:"owners"`
		Prune         bool              `json:"prune"`
		OIDCProviders []json.RawMessage `json:"oidcProviders"`
		Roles         []json.RawMessage `json:"roles"`
		// The associations of every account (each account's EKS).
		PodIdentityAssociations []json.RawMessage `json:"podIdentityAssociations,omitempty"`
		Warnings                []string          `json:"warnings"`
		Errors                  []string          `json:"errors"`
		IAMCalls                JSONCalls         `json:"iamCalls"`
		Result                  *JSONResult       `json:"result,omitempty"`
	}
	type account struct {
		Account     string      `json:"account"`
		Partition   string      `json:"partition"`
		AssumedRole string      `json:"assumedRole,omitempty"`
		HasChanges  bool        `json:"hasChanges"`
		Summary     JSONSummary `json:"summary"`
		IAMCalls    JSONCalls   `json:"iamCalls"`
		Result      *JSONResult `json:"result,omitempty"`
		Errors      []string    `json:"errors"`
	}
	type merged struct {
		FormatVersion int    `json:"formatVersion"`
		Command       string `json:"command"`
		rawDoc
		Accounts []account `json:"accounts"`
	}
	m := merged{FormatVersion: JSONFormatVersion, Command: command, Accounts: []account{}}
	m.Owners, m.OIDCProviders, m.Roles, m.Warnings, m.Errors = []string{}, []json.RawMessage{}, []json.RawMessage{}, []string{}, []string{}
	owners := map[string]bool{}
	for _, r := range runs {
		a := account{Account: r.target.Account, Partition: r.target.Partition, AssumedRole: r.target.AssumedRole, Errors: []string{}}
		var d rawDoc
		if r.stdout.Len() > 0 {
			if err := json.Unmarshal(r.stdout.Bytes(), &d); err != nil {
				return fmt.Errorf("account %s: internal: its JSON document: %w", r.target.Account, err)
			}
		}
		if r.err != nil {
			d.Errors = append(d.Errors, r.err.Error())
		}
		a.HasChanges, a.Summary, a.IAMCalls, a.Result, a.Errors = d.HasChanges, d.Summary, d.IAMCalls, d.Result, append(a.Errors, d.Errors...)
		m.Accounts = append(m.Accounts, a)
		m.HasChanges = m.HasChanges || d.HasChanges
		m.Prune = m.Prune || d.Prune
		m.Summary.Create += d.Summary.Create
		m.Summary.Update += d.Summary.Update
		m.Summary.Replace += d.Summary.Replace
		m.Summary.Delete += d.Summary.Delete
		m.Summary.NoChange += d.Summary.NoChange
		m.Summary.OIDCProvidersToCreate += d.Summary.OIDCProvidersToCreate
		m.Summary.OIDCProvidersToUpdate += d.Summary.OIDCProvidersToUpdate
		m.IAMCalls.Reads += d.IAMCalls.Reads
		m.IAMCalls.Writes += d.IAMCalls.Writes
		m.IAMCalls.Retries += d.IAMCalls.Retries
		if d.Result != nil {
			if m.Result == nil {
				m.Result = &JSONResult{Errors: []string{}}
			}
			m.Result.Created += d.Result.Created
			m.Result.Updated += d.Result.Updated
			m.Result.Deleted += d.Result.Deleted
			m.Result.Unchanged += d.Result.Unchanged
			m.Result.IAMCalls.Reads += d.Result.IAMCalls.Reads
			m.Result.IAMCalls.Writes += d.Result.IAMCalls.Writes
			m.Result.IAMCalls.Retries += d.Result.IAMCalls.Retries
			for _, e := range d.Result.Errors {
				m.Result.Errors = append(m.Result.Errors, "account "+r.target.Account+": "+e)
			}
		}
		for _, o := range d.Owners {
			if !owners[o] {
				owners[o] = true
				m.Owners = append(m.Owners, o)
			}
		}
		m.OIDCProviders = append(m.OIDCProviders, d.OIDCProviders...)
		m.Roles = append(m.Roles, d.Roles...)
		m.PodIdentityAssociations = append(m.PodIdentityAssociations, d.PodIdentityAssociations...)
		for _, x := range d.Warnings {
			m.Warnings = append(m.Warnings, "account "+r.target.Account+": "+x)
		}
		for _, x := range d.Errors {
			m.Errors = append(m.Errors, "account "+r.target.Account+": "+x)
		}
	}
	sort.Strings(m.Owners)
	return WriteJSON(w, m)
}
