// Package importer is `iambind import`: it reads what an estate already
// has (annotated ServiceAccounts, Identity Manager WorkloadIdentity and
// irsa-manager IRSA objects, EKS Pod Identity associations, kiam/kube2iam
// annotations), reads each referenced role from IAM (the truth), and writes
// IdentityCluster and IdentityBinding files that render to exactly the live
// roles. Each role is exact (adoption writes tags only), tightened (the same
// ServiceAccounts with a stricter token check; adoption also writes the
// trust) or skipped (not emitted, with the reason). docs/import.md.
package importer

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"k8s.io/client-go/dynamic"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/iam"
)

// Class is how a role imports.
type Class string

const (
	ClassExact     Class = "exact"
	ClassTightened Class = "tightened"
	ClassSkipped   Class = "skipped"
)

// Options of one import.
type Options struct {
	Out   string
	Force bool
	Files []string
	// FromCluster reads the cluster through Kube (of Namespace when set).
	FromCluster bool
	Namespace   string
	// EKSClusterNames maps an IdentityCluster name to its EKS cluster name:
	// that cluster's Pod Identity associations are imported.
	EKSClusterNames map[string]string
	// FunctionPath is the iambind-fn path written into clusters.yaml's
	// function annotation (relative to DIR, or absolute).
	FunctionPath string
	Concurrency  int
	// Strategy forces IAM's read strategy (tests, benchmarks); "" lets the
	// cost model choose.
	Strategy iam.ReadStrategy
}

// Deps are the clients of one import.
type Deps struct {
	IAM *awsiam.Client
	// Account and Partition of the credentials: roles named without an ARN
	// (WorkloadIdentity, IRSA) live there.
	Account, Partition string
	Kube               dynamic.Interface // with FromCluster
	EKS                EKSAPI            // with EKSClusterNames
	// EKSRegion is the region of the EKS clusters (for cluster ARNs).
	EKSRegion string
	// Calls counts the IAM calls (reported).
	Calls *awsapi.CallCounter
}

// RoleResult is one role's outcome.
type RoleResult struct {
	Role    string   `json:"role"`
	ARN     string   `json:"arn,omitempty"`
	Class   Class    `json:"class"`
	Reason  string   `json:"reason,omitempty"`
	Sources []Source `json:"sources"`
	Objects []string `json:"objects"`
	// Binding is the file written (exact, tightened), or the closest
	// binding's YAML for a skipped role, when there is one.
	File    string `json:"file,omitempty"`
	Closest string `json:"closest,omitempty"`

	binding  *generator.IdentityBinding
	clusters []string
}

// Finding is a problem with a reference that is not a role's class: a
// ServiceAccount whose role is missing or does not trust it, a kiam pod.
type Finding struct {
	Object string `json:"object"`
	Source Source `json:"source"`
	Role   string `json:"role,omitempty"`
	// Problem: role-missing, not-trusted, node-role, unsupported, read-failed.
	Problem string `json:"problem"`
	Message string `json:"message"`
	// Binding is what a kiam/kube2iam workload would need.
	Binding string `json:"binding,omitempty"`
}

// Report is the outcome of one import.
type Report struct {
	Out      string             `json:"out"`
	Clusters []string           `json:"clusters"`
	Roles    []RoleResult       `json:"roles"`
	Findings []Finding          `json:"findings"`
	Summary  map[Source]*Counts `json:"summary"`
	Reads    ReadsReport        `json:"iamReads"`
	Ignored  []string           `json:"ignored,omitempty"`
	byClass  map[Class]int      `json:"-"`
	reasons  map[string]int     `json:"-"`
	files    map[string][]byte  `json:"-"`
	clusters []*generator.IdentityCluster
}

// Counts per source: roles by class, skip reasons by kind.
type Counts struct {
	Exact     int            `json:"exact"`
	Tightened int            `json:"tightened"`
	Skipped   int            `json:"skipped"`
	Reasons   map[string]int `json:"skipReasons,omitempty"`
}

// ReadsReport says how IAM was read.
type ReadsReport struct {
	Strategy string `json:"strategy"`
	Roles    int    `json:"roles"`
	// Calls is the number of IAM read calls made (with Deps.Calls).
	Calls int64 `json:"calls"`
}

// Run imports: sources → IAM → classes → files in opts.Out.
func Run(ctx context.Context, opts Options, deps Deps, stdin io.Reader) (*Report, error) {
	if opts.Out == "" {
		return nil, fmt.Errorf("--out is required")
	}
	if err := checkOut(opts.Out, opts.Force); err != nil {
		return nil, err
	}
	if len(opts.Files) == 0 && !opts.FromCluster && len(opts.EKSClusterNames) == 0 {
		return nil, fmt.Errorf("nothing to import: give -f, --from-cluster or --eks-cluster-name")
	}
	src := &Sources{}
	if err := src.ReadFiles(opts.Files, stdin); err != nil {
		return nil, err
	}
	if opts.FromCluster {
		if err := src.ReadCluster(ctx, deps.Kube, opts.Namespace); err != nil {
			return nil, err
		}
	}
	for _, ic := range slices.Sorted(maps.Keys(opts.EKSClusterNames)) {
		if err := src.ReadPodIdentity(ctx, deps.EKS, ic, opts.EKSClusterNames[ic]); err != nil {
			return nil, err
		}
	}
	rep, err := plan(ctx, opts, deps, src)
	if err != nil {
		return nil, err
	}
	if deps.Calls != nil {
		rep.Reads.Calls = deps.Calls.Reads()
	}
	if err := writeOut(opts.Out, opts.Force, rep.files); err != nil {
		return nil, err
	}
	return rep, nil
}

// roleGroup is every reference to one role.
type roleGroup struct {
	name string // as first referenced
	arn  string
	refs []Ref
}

func plan(ctx context.Context, opts Options, deps Deps, src *Sources) (*Report, error) {
	rep := &Report{Out: opts.Out, Summary: map[Source]*Counts{}, byClass: map[Class]int{}, reasons: map[string]int{},
		Ignored: append(slices.Clone(src.Ignored), src.Unsupported...), Findings: []Finding{}, Roles: []RoleResult{}}
	groups := map[string]*roleGroup{}
	var order []string
	for _, r := range src.Refs {
		account := deps.Account
		if r.RoleARN != "" {
			a, _ := ParseRoleARN(r.RoleARN)
			account = a.Account
		}
		if account != deps.Account {
			rep.Findings = append(rep.Findings, Finding{Object: r.Object, Source: r.Source, Role: r.RoleARN, Problem: "other-account",
				Message: fmt.Sprintf("role %s is in account %s; the credentials are of account %s: import that account with its own credentials", r.RoleARN, account, deps.Account)})
			continue
		}
		key := strings.ToLower(r.RoleName)
		g := groups[key]
		if g == nil {
			g = &roleGroup{name: r.RoleName}
			groups[key] = g
			order = append(order, key)
		}
		if g.arn == "" {
			g.arn = r.RoleARN
		}
		g.refs = append(g.refs, r)
	}
	sort.Strings(order)
	names := make([]string, len(order))
	for i, k := range order {
		names[i] = groups[k].name
	}
	reads, err := readRoles(ctx, deps.IAM, names, max(opts.Concurrency, 1), opts.Strategy)
	if err != nil {
		return nil, err
	}
	rep.Reads = ReadsReport{Strategy: string(reads.strategy), Roles: len(names)}

	// First pass: each role's trust, and the issuers they trust.
	type analysed struct {
		g    *roleGroup
		role *iam.ObservedRole
		lt   *liveTrust
		res  RoleResult
	}
	var all []*analysed
	issuers := map[issuerKey]bool{}
	for _, k := range order {
		g := groups[k]
		a := &analysed{g: g, res: resultFor(g)}
		all = append(all, a)
		if err := reads.failed[k]; err != nil {
			a.res.Class, a.res.Reason = ClassSkipped, "role could not be read: "+err.Error()
			continue
		}
		o := reads.roles[k]
		if o == nil {
			a.res.Class, a.res.Reason = ClassSkipped, "role does not exist"
			for _, r := range g.refs {
				rep.Findings = append(rep.Findings, Finding{Object: r.Object, Source: r.Source, Role: g.name, Problem: "role-missing",
					Message: fmt.Sprintf("role %s does not exist in account %s", g.name, deps.Account)})
			}
			continue
		}
		a.role = o
		a.res.ARN = o.ARN
		if g.arn != "" && g.arn != o.ARN {
			for _, r := range g.refs {
				if r.RoleARN != "" && r.RoleARN != o.ARN {
					rep.Findings = append(rep.Findings, Finding{Object: r.Object, Source: r.Source, Role: g.name, Problem: "arn-mismatch",
						Message: fmt.Sprintf("names %s but the role's ARN is %s (another path)", r.RoleARN, o.ARN)})
				}
			}
		}
		lt, reason := readTrust(o.TrustPolicy)
		if lt == nil {
			a.res.Class, a.res.Reason = ClassSkipped, reason
			continue
		}
		a.lt = lt
		for _, is := range lt.issuers {
			issuers[is] = true
		}
		// References the trust does not admit.
		for _, r := range g.refs {
			if r.Source == SourcePodIdentity {
				if !lt.podIdentity {
					rep.Findings = append(rep.Findings, Finding{Object: r.Object, Source: r.Source, Role: g.name, Problem: "not-trusted",
						Message: fmt.Sprintf("role %s does not trust %s", g.name, generator.PodIdentityPrincipal)})
				}
				continue
			}
			for _, s := range r.Subjects {
				if !admits(lt.subjects, s) {
					rep.Findings = append(rep.Findings, Finding{Object: r.Object, Source: r.Source, Role: g.name, Problem: "not-trusted",
						Message: fmt.Sprintf("role %s does not trust ServiceAccount %s", g.name, s)})
				}
			}
		}
	}

	clusters, err := nameClusters(ctx, opts, deps, issuers, src)
	if err != nil {
		return nil, err
	}
	rep.clusters = clusters.list()
	usedClusters := map[string]bool{}
	bindingNames := map[string]bool{}
	results := make([]*RoleResult, len(all))
	for i, a := range all {
		if a.lt != nil {
			a.res = classify(a.g, a.role, a.lt, clusters, deps, bindingNames)
		}
		results[i] = &a.res
	}
	groups2 := make([]*roleGroup, len(all))
	for i, a := range all {
		groups2[i] = a.g
	}
	resolveClaims(results, groups2)
	for _, a := range all {
		if a.res.Class != ClassSkipped {
			for _, c := range a.res.clusters {
				usedClusters[c] = true
			}
		}
		rep.add(a.res)
	}
	for _, n := range src.NodeRole {
		rep.Findings = append(rep.Findings, nodeRoleFinding(n))
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool { return rep.Findings[i].Object < rep.Findings[j].Object })
	if err := renderTogether(rep, usedClusters); err != nil {
		return nil, err
	}
	rep.files, err = renderFiles(rep, usedClusters, opts.FunctionPath)
	if err != nil {
		return nil, err
	}
	for _, c := range rep.clusters {
		if usedClusters[c.Metadata.Name] {
			rep.Clusters = append(rep.Clusters, c.Metadata.Name)
		}
	}
	return rep, nil
}

func resultFor(g *roleGroup) RoleResult {
	res := RoleResult{Role: g.name, ARN: g.arn}
	srcSeen := map[Source]bool{}
	for _, r := range g.refs {
		if !srcSeen[r.Source] {
			srcSeen[r.Source] = true
			res.Sources = append(res.Sources, r.Source)
		}
		res.Objects = append(res.Objects, r.Object)
	}
	slices.Sort(res.Sources)
	slices.Sort(res.Objects)
	return res
}

func (rep *Report) add(res RoleResult) {
	rep.Roles = append(rep.Roles, res)
	rep.byClass[res.Class]++
	for _, s := range res.Sources {
		c := rep.Summary[s]
		if c == nil {
			c = &Counts{}
			rep.Summary[s] = c
		}
		switch res.Class {
		case ClassExact:
			c.Exact++
		case ClassTightened:
			c.Tightened++
		default:
			c.Skipped++
			if c.Reasons == nil {
				c.Reasons = map[string]int{}
			}
			c.Reasons[reasonKind(res.Reason)]++
		}
	}
}

// reasonKind is a short, countable kind of a skip reason.
func reasonKind(reason string) string {
	switch {
	case strings.HasPrefix(reason, "role could not be read"):
		return "unreadable"
	case reason == "role does not exist":
		return "missing"
	case strings.HasPrefix(reason, "principal"):
		return "other principal"
	case strings.Contains(reason, "Effect is"):
		return "deny or other effect"
	case strings.HasPrefix(reason, "condition"):
		return "other condition"
	case strings.HasPrefix(reason, "trust policy"):
		return "unsupported trust policy"
	case strings.HasPrefix(reason, "ServiceAccount"):
		return "shared ServiceAccount"
	}
	return "not expressible"
}

func admits(subjects []generator.ServiceAccount, s Subject) bool {
	for _, t := range subjects {
		if t.Namespace == s.Namespace && globMatch(t.Name, s.Name) {
			return true
		}
	}
	return false
}

// globMatch is IAM's StringLike: * any run, ? one character.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
}

// resolveClaims keeps every ServiceAccount in one binding: a ServiceAccount
// carries one role, so when several emitted roles trust it, the role its
// annotation names keeps it (else the first by name) and the others, whose
// trust no binding without it can express, are skipped.
func resolveClaims(results []*RoleResult, groups []*roleGroup) {
	claims := map[Subject][]int{}
	for i, r := range results {
		if r.binding == nil || r.Class == ClassSkipped {
			continue
		}
		for _, sa := range r.binding.Spec.ServiceAccounts {
			if strings.ContainsAny(sa.Name, "*?") {
				continue
			}
			ns := sa.Namespace
			if ns == "" {
				ns = r.binding.Metadata.Namespace
			}
			k := Subject{ns, sa.Name}
			claims[k] = append(claims[k], i)
		}
	}
	subjects := slices.SortedFunc(maps.Keys(claims), func(a, b Subject) int { return strings.Compare(a.String(), b.String()) })
	for _, sa := range subjects {
		idx := claims[sa]
		var live []int
		for _, i := range idx {
			if results[i].Class != ClassSkipped {
				live = append(live, i)
			}
		}
		if len(live) < 2 {
			continue
		}
		keep := live[0]
		for _, i := range live {
			for _, r := range groups[i].refs {
				if r.Source == SourceServiceAccount && len(r.Subjects) > 0 && r.Subjects[0] == sa {
					keep = i
				}
			}
		}
		for _, i := range live {
			if i == keep {
				continue
			}
			r := results[i]
			r.Class = ClassSkipped
			r.Reason = fmt.Sprintf("ServiceAccount %s is also trusted by role %s, which keeps it (a ServiceAccount carries one role)", sa, results[keep].Role)
			r.Closest = bindingYAML(r.binding)
			r.binding, r.clusters = nil, nil
		}
	}
}
