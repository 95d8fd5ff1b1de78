package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/iambind/iambind/reconcile/safety"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/guardrails"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/kube"
	"github.com/iambind/iambind/reconcile/input"
)

// clusterPlan is one plan ConfigMap of the cluster and what became of it.
type clusterPlan struct {
	cm   *corev1.ConfigMap
	role *input.DesiredRole // nil when the ConfigMap did not read as a plan
	err  error              // why the plan failed; nil while it may proceed
}

func (p *clusterPlan) namespace() string { return p.cm.Namespace }
func (p *clusterPlan) name() string      { return p.cm.Namespace + "/" + p.cm.Name }

// refuse records the first reason the plan fails; later ones add nothing.
func (p *clusterPlan) refuse(err error) {
	if p.err == nil && err != nil {
		p.err = err
	}
}

// clusterRun is one plan or apply over a cluster's plan ConfigMaps. Each plan
// is read, checked and decided on its own, so a malformed, refused or
// conflicting plan fails alone (status Error on its ConfigMap, no IAM write
// for its role) while the others converge in the same run.
type clusterRun struct {
	tenancy    safety.Tenancy
	guardrails *guardrails.Guardrails // nil without --guardrails
	client     kubernetes.Interface
	plans      []*clusterPlan
	sas        []input.ServiceAccountRef
	warnings   []string
	preflight  *iam.PreflightSummary // what the preflight checked (preflight.go)
	now        func() time.Time
	whole      *input.WholePlan // set by --shard: the whole plan this run is a part of
	f          *runner          // the run's settings, once reconcile starts
}

// live returns the plans that have not failed, in ConfigMap order.
func (r *clusterRun) live() []*clusterPlan {
	var out []*clusterPlan
	for _, p := range r.plans {
		if p.err == nil {
			out = append(out, p)
		}
	}
	return out
}

// refused returns "ns/name: reason" for every failed plan, sorted.
func (r *clusterRun) refused() []string {
	var out []string
	for _, p := range r.plans {
		if p.err != nil {
			out = append(out, "ConfigMap "+p.name()+": "+p.err.Error())
		}
	}
	sort.Strings(out)
	return out
}

// StopStatusTimeout bounds the status writes of a run that is stopping
// (SIGTERM): the plans it did not finish are marked Error, "interrupted".
const StopStatusTimeout = 10 * time.Second

// runFromCluster is `plan|apply --from-cluster`.
func runFromCluster(ctx context.Context, f *runner, stdout, stderr io.Writer) error {
	c := &f.Cluster
	if f.Prune && c.Namespace != "" {
		return errors.New("--prune with --namespace would delete the owner's roles planned in other namespaces: prune from-cluster considers every namespace, so drop --namespace")
	}
	tenancy, err := safety.NewTenancy(c.Trusted)
	if err != nil {
		return err
	}
	if tenancy.Home, err = safety.LoadHome(c.Clusters); err != nil {
		return err
	}
	cfg, err := kube.Config(c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("connecting to Kubernetes: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("connecting to Kubernetes: %w", err)
	}
	listed, err := kube.ListPlans(ctx, client, c.Selector, c.Namespace)
	if err != nil {
		return fmt.Errorf("listing plan ConfigMaps: %w", err)
	}
	rails, err := safety.LoadGuardrails(f.Guardrails)
	if err != nil {
		return err
	}
	safety.WarnGuardrails(rails, stderr)
	run := &clusterRun{tenancy: tenancy, guardrails: rails, client: client, now: time.Now}
	if err := run.read(listed); err != nil {
		return err
	}
	if err := run.shard(f); err != nil {
		return err
	}
	res, err := run.reconcile(ctx, f, stdout, stderr)
	if f.Command == CommandApply {
		statusCtx := ctx
		if awsapi.StopRequested(ctx) {
			// Stopping: the run's context is about to be cancelled, but
			// the plans must still say what was not finished.
			var cancel context.CancelFunc
			statusCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), StopStatusTimeout)
			defer cancel()
		}
		if serr := run.writeStatus(statusCtx, res, err); serr != nil {
			fmt.Fprintf(stderr, "iambind: warning: writing status onto the plan ConfigMaps: %v\n", serr)
		}
	}
	refused := run.refused()
	if len(refused) == 0 {
		return err
	}
	failed := fmt.Errorf("%d of %d plan(s) failed and were left alone (no IAM write for their roles); the others were %s:\n  %s",
		len(refused), len(run.plans), map[string]string{"plan": "planned", "apply": "applied"}[string(f.Command)], strings.Join(refused, "\n  "))
	if err == nil {
		return failed
	}
	return fmt.Errorf("%w\n%w", err, failed)
}

// read parses each plan ConfigMap on its own, exactly as `-f` would read it,
// so a malformed one fails alone; the role gets its ConfigMap's namespace
// as TagNamespace, whatever role.json says.
func (r *clusterRun) read(listed *kube.Plans) error {
	for i := range listed.ConfigMaps {
		p := &clusterPlan{cm: &listed.ConfigMaps[i]}
		p.role, p.err = readClusterPlan(p.cm)
		r.plans = append(r.plans, p)
	}
	stream, err := (&kube.Plans{ServiceAccounts: listed.ServiceAccounts}).YAML()
	if err != nil {
		return err
	}
	in, err := input.ReadDocuments("cluster", stream)
	if err != nil {
		return err
	}
	r.sas = in.ServiceAccounts
	return nil
}

func readClusterPlan(cm *corev1.ConfigMap) (*input.DesiredRole, error) {
	stream, err := (&kube.Plans{ConfigMaps: []corev1.ConfigMap{*cm}}).YAML()
	if err != nil {
		return nil, err
	}
	in, err := input.ReadDocuments("cluster", stream)
	if err != nil {
		return nil, err
	}
	if len(in.Roles) == 2 && in.Roles[1].PodIdentityTarget != nil {
		// A target role lives in another account (or is chained to an
		// association's externalId, pinned after the association exists):
		// the Job acts in its own account, with no --assume-role and no pin.
		return nil, fmt.Errorf("ConfigMap %s/%s plans an EKS Pod Identity target role %s (spec.podIdentity.targetAccountID): the in-cluster Job does not apply target roles; apply this binding with `iambind apply -f` (with --assume-role for the target account)", cm.Namespace, cm.Name, in.Roles[1].ARN)
	}
	if len(in.Roles) != 1 {
		return nil, fmt.Errorf("ConfigMap %s/%s is not a plan (label %s=%s)", cm.Namespace, cm.Name, generator.LabelPlan, generator.PlanRoleValue)
	}
	role := in.Roles[0]
	tags := maps.Clone(role.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[safety.TagNamespace] = cm.Namespace
	role.Tags = tags
	return role, nil
}

// roleGroup is the live plans naming one role (case-insensitively, as IAM),
// by namespace.
type roleGroup struct {
	name       string
	namespaces []string // sorted
	byNS       map[string][]*clusterPlan
}

func (g *roleGroup) claims() []safety.Claim {
	out := make([]safety.Claim, len(g.namespaces))
	for i, ns := range g.namespaces {
		out[i] = safety.Claim{Namespace: ns, Source: "ConfigMap " + g.byNS[ns][0].name()}
	}
	return out
}

// groups gathers the live plans by role name, sorted by name.
func (r *clusterRun) groups() []*roleGroup {
	byName := map[string]*roleGroup{}
	for _, p := range r.live() {
		key := strings.ToLower(p.role.Name)
		g := byName[key]
		if g == nil {
			g = &roleGroup{name: p.role.Name, byNS: map[string][]*clusterPlan{}}
			byName[key] = g
		}
		if g.byNS[p.namespace()] == nil {
			g.namespaces = append(g.namespaces, p.namespace())
		}
		g.byNS[p.namespace()] = append(g.byNS[p.namespace()], p)
	}
	out := slices.Collect(maps.Values(byName))
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	for _, g := range out {
		sort.Strings(g.namespaces)
	}
	return out
}

// settleClaims refuses, before AWS is seen, a role planned differently twice
// in one namespace, and the losers of a cross-namespace claim a trusted
// namespace wins. Names still claimed by several namespaces are decided once
// the role's tags are observed (decideOwnership).
func (r *clusterRun) settleClaims() {
	for _, g := range r.groups() {
		for _, ns := range g.namespaces {
			members := g.byNS[ns]
			for _, p := range members[1:] {
				if !input.SameRole(&members[0].role.Role, &p.role.Role) {
					for _, q := range members {
						q.refuse(fmt.Errorf("role %s is planned twice in namespace %s with different role.json: ConfigMaps %s and %s", g.name, ns, members[0].name(), p.name()))
					}
				}
			}
		}
		if len(g.namespaces) < 2 {
			continue
		}
		for i, err := range r.tenancy.ResolveClaims(g.name, g.claims()) {
			for _, p := range g.byNS[g.namespaces[i]] {
				p.refuse(err)
			}
		}
	}
}

// reconcile runs the pipeline over the cluster's plans, each its own unit
// of refusal. The Result is nil when nothing was applied.
func (r *clusterRun) reconcile(ctx context.Context, f *runner, stdout, stderr io.Writer) (*iam.Result, error) {
	r.f = f
	// The credentials' own account (--rate applies).
	return reconcileBatch(ctx, f, r, nil, stdout, stderr)
}

// checkOffline: tenancy of the trust policy, the guard, the guardrails.
func (r *clusterRun) checkOffline(stderr io.Writer) error {
	if len(r.plans) == 0 {
		if r.f.Prune {
			return errors.New("--prune given but the cluster holds no plan (no ConfigMap labelled iambind.dev/plan=role): refusing to prune, since that would delete every role of the owner")
		}
		fmt.Fprintln(stderr, "iambind: warning: the cluster holds no plan (no ConfigMap labelled iambind.dev/plan=role)")
	}
	for _, p := range r.live() {
		if err := r.checkPlanLimits(p); err != nil {
			p.refuse(err)
			continue
		}
		if home := r.tenancy.Home; home != nil {
			if !r.tenancy.Trusted[p.namespace()] && !home.NameAllowed(p.namespace(), p.role.Name) {
				p.refuse(fmt.Errorf("tenancy: role name %s is not one of namespace %s's names: with --cluster a plan's role name starts with the cluster's roleNamePrefix, then %s- (the names its bindings derive)", p.role.Name, p.namespace(), p.namespace()))
				continue
			}
			// What only the operator decides: issuers, owner, cluster.
			if err := home.Admit(p.namespace(), &p.role.Role); err != nil {
				p.refuse(fmt.Errorf("tenancy: %w", err))
				continue
			}
		}
		if err := r.tenancy.CheckSubjects(p.namespace(), &p.role.Role); err != nil {
			p.refuse(fmt.Errorf("tenancy: %w", err))
			continue
		}
		if v := safety.Guard(&input.Input{Roles: []*input.DesiredRole{p.role}, ServiceAccounts: r.guardedAccounts(p)}); len(v) > 0 {
			p.refuse(fmt.Errorf("consistency guard: %s", strings.Join(v, "; ")))
			continue
		}
		// The operator's guardrails; a compliant role gets the required boundary.
		if r.guardrails != nil {
			if vs := safety.GuardrailViolations(r.guardrails, &input.Input{Roles: []*input.DesiredRole{p.role}})[p.role]; len(vs) > 0 {
				p.refuse(safety.GuardrailError(vs))
			}
		}
	}
	return nil
}

func (r *clusterRun) needsObserve() bool { return len(r.live()) > 0 }

// mayPrune: with every plan refused, the run knows too little to prune.
func (r *clusterRun) mayPrune() bool { return len(r.input().Roles) > 0 }

func (r *clusterRun) validate(quota int, _ io.Writer) error {
	for _, p := range r.live() {
		problems := safety.Validate(&input.Input{Roles: []*input.DesiredRole{p.role}}, quota)
		r.warn(problems.Warnings...)
		if len(problems.Errors) > 0 {
			p.refuse(fmt.Errorf("invalid plan: %s", strings.Join(problems.Errors, "; ")))
		}
	}
	return nil
}

func (r *clusterRun) checkAccount(ctx context.Context, c *sts.Client) error {
	if len(r.live()) > 0 {
		partition, account, err := callerAccount(ctx, c)
		if err != nil {
			return err
		}
		for _, p := range r.live() {
			if pp, pa := input.PlanAccount(&input.Input{Roles: []*input.DesiredRole{p.role}}); pp != partition || pa != account {
				p.refuse(fmt.Errorf("the plan is for account %s (partition %s) but the credentials are for account %s (partition %s)", pa, pp, account, partition))
			}
		}
	}
	r.settleClaims()
	return nil
}

// decide: role ownership per role (tenancy claims, contested names, the
// diff's refusals), then the policies each plan references.
func (r *clusterRun) decide(ctx context.Context, rd readers, state *iam.State, opts iam.Options) error {
	r.capNamespaces(state)
	r.checkAudiences(state)
	r.decideOwnership(state, opts)
	if len(r.live()) == 0 {
		return nil
	}
	var roles []*input.DesiredRole
	for _, p := range r.live() {
		roles = append(roles, p.role)
	}
	found, err := judgeManagedPolicies(ctx, rd.documents, r.guardrails, roles)
	if err != nil {
		return err
	}
	for _, p := range r.live() {
		if vs := found[p.role]; len(vs) > 0 {
			p.refuse(safety.GuardrailError(vs))
		}
	}
	return r.preflightPlans(ctx, rd.policies, state)
}

// finish: prune only what tenancy allows, the account's quotas, and the
// warnings gathered on the way.
func (r *clusterRun) finish(ctx context.Context, rd readers, summary *iam.AccountSummary, state *iam.State, plan *Plan, stderr io.Writer) error {
	r.limitPrune(plan, state)
	if err := r.preflightQuotas(ctx, summary, state, plan, r.f.Cluster.Namespace != ""); err != nil {
		return err
	}
	if err := r.pruneProviders(ctx, rd.iam, plan); err != nil {
		return err
	}
	for _, w := range r.warnings {
		fmt.Fprintf(stderr, "iambind: warning: %s\n", w)
	}
	plan.Warnings = r.warnings
	return nil
}

func (r *clusterRun) warn(ws ...string) {
	for _, w := range ws {
		if !slices.Contains(r.warnings, w) {
			r.warnings = append(r.warnings, w)
		}
	}
}

// guardedAccounts are the ServiceAccounts the guard holds a plan to: those
// of its own namespace (all of them for a trusted plan). A ServiceAccount of
// another namespace that names the role cannot assume it (tenancy keeps the
// trust policy to the plan's namespace) and must not be able to fail it.
func (r *clusterRun) guardedAccounts(p *clusterPlan) []input.ServiceAccountRef {
	var out []input.ServiceAccountRef
	for _, sa := range r.sas {
		if sa.RoleARN == p.role.ARN && (sa.Namespace == p.namespace() || r.tenancy.Trusted[p.namespace()]) {
			out = append(out, sa)
		}
	}
	return out
}

// input is the live plans as one Input, one role per name (the first
// claimant's while a name is still contested: observation is by name).
func (r *clusterRun) input() *input.Input {
	in := &input.Input{Whole: r.whole}
	for _, g := range r.groups() {
		in.Roles = append(in.Roles, g.byNS[g.namespaces[0]][0].role)
	}
	return in
}

// decideOwnership applies the rules that need the observed role: tenancy's
// claim (TagNamespace), a name contested by several namespaces, and the
// ownership refusals of the diff (a foreign role without --adopt, a path
// IAM cannot change) — each refusing its own plans only.
func (r *clusterRun) decideOwnership(state *iam.State, opts iam.Options) {
	for _, g := range r.groups() {
		o := state.Role(g.name)
		errs := make([]error, len(g.namespaces))
		claimed := func(ns string) bool { return g.byNS[ns] != nil || r.refusedIn(ns, g.name) }
		for i, ns := range g.namespaces {
			if r.tenancy.Reclaims(ns, o, claimed) {
				continue // the squatter's plan is gone: the name's own namespace takes it back
			}
			errs[i] = r.tenancy.CheckClaim(ns, g.byNS[ns][0].role, o)
		}
		if len(g.namespaces) > 1 {
			errs = r.tenancy.Contested(g.name, g.claims(), errs)
		}
		for i, ns := range g.namespaces {
			err := errs[i]
			if err != nil {
				err = fmt.Errorf("tenancy: %w", err)
			} else if _, derr := iam.DiffRole(g.byNS[ns][0].role, o, opts); derr != nil {
				err = derr
			}
			for _, p := range g.byNS[ns] {
				p.refuse(err)
			}
		}
	}
}

// limitPrune keeps, of the deletions prune planned, only those tenancy allows
// (MayPrune); the others become warnings.
func (r *clusterRun) limitPrune(plan *Plan, state *iam.State) {
	scope := safety.PruneScope{Failed: map[string]bool{}, OwnerNamespaces: map[string]map[string]bool{}}
	for _, p := range r.plans {
		switch {
		case p.err != nil:
			scope.Failed[p.namespace()] = true
		default:
			o := p.role.Owner()
			if scope.OwnerNamespaces[o] == nil {
				scope.OwnerNamespaces[o] = map[string]bool{}
			}
			scope.OwnerNamespaces[o][p.namespace()] = true
		}
	}
	kept := plan.Roles[:0]
	for _, rc := range plan.Roles {
		if rc.Kind == iam.KindDelete {
			if err := r.tenancy.MayPrune(state.Role(rc.Name), scope); err != nil {
				r.warn("prune: " + err.Error())
				continue
			}
		}
		kept = append(kept, rc)
	}
	plan.Roles = kept
}

// callerAccount is the partition and account of the credentials.
func callerAccount(ctx context.Context, c *sts.Client) (partition, account string, err error) {
	id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", fmt.Errorf("checking the AWS account (sts GetCallerIdentity): %w", err)
	}
	a, err := arn.Parse(aws.ToString(id.Arn))
	if err != nil {
		return "", "", fmt.Errorf("checking the AWS account: caller ARN %q: %w", aws.ToString(id.Arn), err)
	}
	return a.Partition, aws.ToString(id.Account), nil
}

// writeStatus records each plan's outcome on its ConfigMap — Synced, or
// Error with the reason — and writes only the outcomes that changed
// (kube.Current), in parallel: a no-op run writes nothing. runErr without a
// Result is a failure before any IAM write; it becomes the reason of every
// plan that had not failed on its own.
func (r *clusterRun) writeStatus(ctx context.Context, res *iam.Result, runErr error) error {
	var updates []kube.Update
	for _, p := range r.plans {
		st := kube.Status{Phase: kube.Synced, RoleJSON: p.cm.Data[generator.PlanKeyRole], Time: r.now()}
		switch {
		case p.err != nil:
			st.Phase, st.Message = kube.Error, p.err.Error()
		case res == nil && runErr != nil:
			st.Phase, st.Message = kube.Error, firstLine(runErr.Error())
		case res != nil:
			if err := res.RoleErrors[p.role.Name]; err != nil {
				st.Phase, st.Message = kube.Error, err.Error()
			}
			for _, pr := range p.role.OIDCProviders {
				if err := res.ProviderErrors[pr.URL]; err != nil {
					st.Phase, st.Message = kube.Error, "OIDC provider "+pr.URL+": "+err.Error()
				}
			}
		}
		if !kube.Current(p.cm, st) {
			updates = append(updates, kube.Update{Namespace: p.cm.Namespace, Name: p.cm.Name, Status: st})
		}
	}
	return errors.Join(kube.WriteStatuses(ctx, r.client, updates, kube.DefaultStatusWorkers)...)
}

// firstLine keeps what happened and its first reason, on one line.
func firstLine(s string) string {
	lines := strings.SplitN(s, "\n", 3)
	if len(lines) > 1 {
		return lines[0] + " " + strings.TrimSpace(lines[1])
	}
	return s
}

// progressReporter prints "roles done/total" on stderr when it is a terminal,
// and nothing otherwise (CI logs and pipes stay clean).
func progressReporter(stderr io.Writer) func(done, total int) {
	f, ok := stderr.(*os.File)
	if !ok {
		return nil
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(f, "\r\033[Kapplying: %d/%d roles", done, total)
		if done == total {
			fmt.Fprint(f, "\r\033[K")
		}
	}
}

// shard narrows a --from-cluster run to its part of the plans (--shard):
// the other parts' plans are neither reconciled nor given a status by this
// run, and prune deletes only this part's share. --assume-role is refused
// there (one account per in-cluster run, its pod's credentials).
func (r *clusterRun) shard(f *runner) error {
	if err := f.Scale.validate(); err != nil {
		return err
	}
	if f.Scale.AssumeRole != "" {
		return fmt.Errorf("--assume-role is not supported with --from-cluster: run one reconcile per account, each with that account's credentials")
	}
	s, _ := input.ParseShard(f.Scale.Shard)
	if !s.Enabled() {
		return nil
	}
	whole := &input.Input{}
	for _, p := range r.plans {
		if p.role != nil {
			whole.Roles = append(whole.Roles, p.role)
		}
	}
	part := s.Filter(whole)
	mine := map[*input.DesiredRole]bool{}
	for _, role := range part.Roles {
		mine[role] = true
	}
	kept := r.plans[:0]
	for _, p := range r.plans {
		if p.role == nil || mine[p.role] {
			kept = append(kept, p)
		}
	}
	r.plans = kept
	r.whole = part.Whole
	return nil
}

// checkAudiences refuses, with --cluster, a plan whose trust names an
// audience the cluster's OIDC provider does not already accept: the
// provider is shared by every tenant, so a tenant's audience is never added
// to it (the operator adds audiences; the default one is always there).
func (r *clusterRun) checkAudiences(state *iam.State) {
	if r.tenancy.Home == nil {
		return
	}
	for _, p := range r.live() {
		accepted := []string{generator.DefaultAudience}
		for _, prov := range p.role.OIDCProviders {
			if o := state.Providers[prov.ARN]; o != nil {
				accepted = append(accepted, o.ClientIDs...)
			}
		}
		for _, aud := range safety.Audiences(&p.role.Role) {
			if !slices.Contains(accepted, aud) {
				p.refuse(fmt.Errorf("tenancy: the trust policy names audience %q, which the cluster's OIDC provider does not accept: a plan may not add an audience to the shared provider (the operator adds it)", aud))
				break
			}
		}
	}
}

// refusedIn reports whether a refused plan of namespace ns names the role:
// its claim stands while its plan is broken (a typo must not hand its role
// to another namespace).
func (r *clusterRun) refusedIn(ns, role string) bool {
	for _, p := range r.plans {
		if p.err != nil && p.role != nil && p.namespace() == ns && strings.EqualFold(p.role.Name, role) {
			return true
		}
	}
	return false
}

// capNamespaces applies the operator's cap on the roles one namespace's
// plans may hold (--max-roles-per-namespace): roles already in IAM are kept
// first, then new ones in name order; the plans beyond the cap fail alone.
// Trusted namespaces are not capped.
func (r *clusterRun) capNamespaces(state *iam.State) {
	limit := r.f.Cluster.MaxRolesPerNamespace
	if limit <= 0 {
		return
	}
	byNS := map[string][]*clusterPlan{}
	for _, p := range r.live() {
		if !r.tenancy.Trusted[p.namespace()] {
			byNS[p.namespace()] = append(byNS[p.namespace()], p)
		}
	}
	for ns, plans := range byNS {
		var names []string // distinct roles, existing first, then by name
		seen := map[string]bool{}
		for _, p := range plans {
			if k := strings.ToLower(p.role.Name); !seen[k] {
				seen[k] = true
				names = append(names, p.role.Name)
			}
		}
		sort.Slice(names, func(i, j int) bool {
			ei, ej := state.Role(names[i]) != nil, state.Role(names[j]) != nil
			if ei != ej {
				return ei
			}
			return names[i] < names[j]
		})
		if len(names) <= limit {
			continue
		}
		over := map[string]bool{}
		for _, n := range names[limit:] {
			over[strings.ToLower(n)] = true
		}
		for _, p := range plans {
			if over[strings.ToLower(p.role.Name)] {
				p.refuse(fmt.Errorf("tenancy: namespace %s plans %d roles, more than its limit of %d (--max-roles-per-namespace): this plan's role is beyond it", ns, len(names), limit))
			}
		}
	}
}

// providerTags: with --cluster, a provider the Job creates carries the
// owner and cluster of the home cluster whose issuer it is, so that prune
// can later tell it from providers made by others.
func (r *clusterRun) providerTags() func(string) map[string]string {
	home := r.tenancy.Home
	if home == nil {
		return nil
	}
	return func(url string) map[string]string {
		c := home.ByIssuer(url)
		if c == nil {
			return nil
		}
		return map[string]string{generator.TagManagedBy: generator.ManagedByValue, generator.TagOwner: c.Spec.Owner, safety.TagCluster: c.Metadata.Name}
	}
}

// pruneProviders plans, with --cluster and --prune, the deletion of the OIDC
// providers this cluster's Job made (its owner and cluster tags) for an
// issuer that is not the cluster's any more: one an earlier version let a
// tenant plan, or the issuer of a cluster since rebuilt. A provider it did
// not make is never touched.
func (r *clusterRun) pruneProviders(ctx context.Context, ob *iam.Observer, plan *Plan) error {
	home := r.tenancy.Home
	if home == nil || !r.f.Prune {
		return nil
	}
	stale, err := ob.ProvidersTagged(ctx, func(tags map[string]string) bool {
		return slices.Contains(home.Names(), tags[safety.TagCluster]) && slices.Contains(home.Owners(), tags[generator.TagOwner])
	})
	if err != nil {
		return fmt.Errorf("observing IAM: %w", err)
	}
	for _, p := range stale {
		if home.ByIssuer(p.URL) == nil {
			plan.Providers = append(plan.Providers, iam.PruneProvider(p.URL, p.ARN))
		}
	}
	return nil
}

// checkPlanLimits applies the operator's caps on one tenant plan
// (--max-policies-per-role, --max-plan-bytes); trusted namespaces are not
// capped.
func (r *clusterRun) checkPlanLimits(p *clusterPlan) error {
	if r.tenancy.Trusted[p.namespace()] {
		return nil
	}
	c := r.f.Cluster
	if n := len(p.role.ManagedPolicyARNs) + len(p.role.InlinePolicies); c.MaxPoliciesPerRole > 0 && n > c.MaxPoliciesPerRole {
		return fmt.Errorf("tenancy: role %s has %d policies (managed and inline), more than the limit of %d per role (--max-policies-per-role)", p.role.Name, n, c.MaxPoliciesPerRole)
	}
	if c.MaxPlanBytes > 0 {
		size := 0
		for k, v := range p.cm.Data {
			size += len(k) + len(v)
		}
		if size > c.MaxPlanBytes {
			return fmt.Errorf("tenancy: the plan is %d bytes, more than the limit of %d (--max-plan-bytes)", size, c.MaxPlanBytes)
		}
	}
	return nil
}
