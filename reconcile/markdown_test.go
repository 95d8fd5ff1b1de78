package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/iam"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/iambind/iambind/internal/clitest"
	"github.com/iambind/iambind/internal/golden"
	"github.com/iambind/iambind/reconcile/input"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// markdownCases are plans of the committed examples' rendered output against
// made-up IAM states: every kind of change the diff produces.
func markdownCases(t *testing.T) map[string]*Plan {
	t.Helper()
	read := func(paths ...string) *input.Input {
		for i, p := range paths {
			paths[i] = filepath.Join("..", p)
		}
		in, err := input.ReadInputs(paths, nil)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	diff := func(in *input.Input, state *iam.State, opts iam.Options) *Plan {
		p, err := iam.Diff(in, state, opts)
		if err != nil {
			t.Fatal(err)
		}
		return &Plan{Plan: p}
	}
	cases := map[string]*Plan{}

	// A first apply: every role and provider to create.
	kt := read("examples/kustomize-transformer/expected.yaml")
	cases["kustomize-transformer-create"] = diff(kt, iam.NewState(), iam.Options{})

	// Drift on every field of one role, the other in sync, a role to prune,
	// and the provider already there with one audience missing.
	mc := read("examples/multi-cluster/expected.yaml")
	state := iam.NewState()
	state.AllRoles = true
	for i, r := range mc.Roles {
		o := observedFrom(r)
		if i == 0 {
			o.Description = "edited by hand"
			o.MaxSessionDuration = 7200
			o.PermissionsBoundary = "arn:aws:iam::111122223333:policy/old-boundary"
			o.TrustPolicy = strings.Replace(o.TrustPolicy, "system:serviceaccount:", "system:serviceaccount:x", 1)
			o.ManagedPolicyARNs = append(o.ManagedPolicyARNs, "arn:aws:iam::aws:policy/AdministratorAccess")
			o.InlinePolicies["debug"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
			o.Tags["team"] = "someone"
		}
		state.AddRole(o)
	}
	gone := observedFrom(testRole("retired-reports", mc.Roles[0].Owner()))
	gone.ARN = "arn:aws:iam::111122223333:role/iambind/retired-reports"
	state.AddRole(gone)
	for _, r := range mc.Roles {
		for _, p := range r.OIDCProviders {
			state.Providers[p.ARN] = &iam.ObservedProvider{ARN: p.ARN, ClientIDs: []string{"other-audience"}}
		}
	}
	plan := diff(mc, state, iam.Options{Prune: true})
	plan.Warnings = []string{"ConfigMap analytics/iambind-etl: managed policy AdministratorAccess grants every permission"}
	cases["multi-cluster-drift-prune"] = plan

	// A path change (replace) and an adoption, in the kpt package's plans.
	kp := read("examples/kpt-package/iambind/analytics")
	state = iam.NewState()
	for i, r := range kp.Roles {
		o := observedFrom(r)
		if i == 0 {
			o.Path = "/legacy/"
		} else {
			o.Tags = map[string]string{}
		}
		state.AddRole(o)
	}
	cases["kpt-package-replace-adopt"] = diff(kp, state, iam.Options{Adopt: true})

	// Nothing to do.
	state = iam.NewState()
	for _, r := range kt.Roles {
		state.AddRole(observedFrom(r))
		for _, p := range r.OIDCProviders {
			state.Providers[p.ARN] = &iam.ObservedProvider{ARN: p.ARN, ClientIDs: p.Audiences}
		}
	}
	cases["kustomize-transformer-no-changes"] = diff(kt, state, iam.Options{})

	// Pod Identity associations to create and delete, and an owned role
	// that left the plan (kept: no --prune).
	pi := diff(kt, state, iam.Options{})
	pi.PodIdentity = &podidentity.Plan{Changes: []podidentity.Change{
		{Cluster: "prod", Region: "us-west-2", Namespace: "shop", ServiceAccount: "orders", Kind: podidentity.KindCreate,
			RoleARN: "arn:aws:iam::111122223333:role/iambind/shop-orders", Owner: "prod-usw2"},
		{Cluster: "prod", Region: "us-west-2", Namespace: "shop", ServiceAccount: "retired", Kind: podidentity.KindDelete,
			RoleARNBefore: "arn:aws:iam::111122223333:role/iambind/shop-retired", AssociationID: "a-0123456789abcdef0", Owner: "prod-usw2"},
	}}
	pi.Orphans = []iam.OrphanRole{{Name: "shop-retired", ARN: "arn:aws:iam::111122223333:role/iambind/shop-retired", Owner: "prod-usw2"}}
	cases["pod-identity-and-orphans"] = pi
	return cases
}

func TestRenderMarkdownGolden(t *testing.T) {
	var diagrams []string
	for name, plan := range markdownCases(t) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			RenderMarkdown(&buf, plan)
			got := buf.String()
			var again bytes.Buffer
			RenderMarkdown(&again, plan)
			if again.String() != got {
				t.Fatal("markdown is not deterministic")
			}
			golden.Check(t, filepath.Join("testdata", "markdown", name+".md"), got)
			var textPlan bytes.Buffer
			RenderText(&textPlan, plan)
			checkMarkdownShowsTextPlan(t, textPlan.String(), got)
			diagrams = append(diagrams, checkMarkdownStructure(t, got, plan)...)
		})
	}
	if len(diagrams) < 4 {
		t.Fatalf("only %d Mermaid diagrams", len(diagrams))
	}
	checkMermaid(t, diagrams...)
}

func TestRenderMarkdownRefusal(t *testing.T) {
	in := &input.Input{Roles: []*input.DesiredRole{testRole("orders", "prod")}}
	state := iam.NewState()
	o := observedFrom(testRole("orders", "prod"))
	o.Tags[generator.TagOwner] = "someone-else"
	state.AddRole(o)
	_, err := iam.Diff(in, state, iam.Options{})
	if err == nil {
		t.Fatal("expected a refusal")
	}
	var buf bytes.Buffer
	RenderMarkdownRefusal(&buf, errors.New("refusing to plan, nothing was changed:\n  "+err.Error()), nil)
	got := buf.String()
	golden.Check(t, filepath.Join("testdata", "markdown", "refusal-not-owned.md"), got)
	if !strings.Contains(got, "⛔ refused") || !strings.Contains(got, `its iambind.dev/owner tag is "someone-else"`) {
		t.Errorf("refusal report lacks the reason:\n%s", got)
	}
	checkCommonMark(t, got)
}

var textRoleLine = regexp.MustCompile(`^\S+ (create|update|replace|delete|no change) role (\S+) \((\S+)\)( \[adopt\])?$`)
var textProviderLine = regexp.MustCompile(`^\S+ (create|update|no change) OIDC provider (https://\S+?):?( |$)`)

// checkMarkdownShowsTextPlan reads the text plan line by line and finds each
// change in the markdown: roles and providers in the tables with their
// action, reasons, every field change line, and every line of every document
// diff (inside a diff block).
func checkMarkdownShowsTextPlan(t *testing.T, textPlan, md string) {
	t.Helper()
	mdLines := map[string]bool{}
	for _, l := range strings.Split(md, "\n") {
		mdLines[l] = true
	}
	mark := map[string]string{"create": "create", "update": "update", "replace": "replace", "delete": "delete", "no change": "no change"}
	for _, line := range strings.Split(strings.TrimRight(textPlan, "\n"), "\n") {
		switch {
		case textRoleLine.MatchString(line):
			m := textRoleLine.FindStringSubmatch(line)
			row := regexp.MustCompile(`(?m)^\| ` + "`" + regexp.QuoteMeta(m[2]) + "`" + ` \| ` + "`" + regexp.QuoteMeta(accountOf(m[3])) + "`" +
				` \| \S+ ` + regexp.QuoteMeta(mark[m[1]]) + regexp.QuoteMeta(strings.Replace(m[4], " [adopt]", " (adopt)", 1)) + ` \|`)
			if !row.MatchString(md) {
				t.Errorf("role line %q has no table row", line)
			}
			if m[1] != "no change" && !strings.Contains(md, "<code>"+m[2]+"</code> (<code>"+m[3]+"</code>)</summary>") {
				t.Errorf("role line %q has no details section", line)
			}
		case textProviderLine.MatchString(line):
			m := textProviderLine.FindStringSubmatch(line)
			if !regexp.MustCompile(`(?m)^\| ` + "`" + regexp.QuoteMeta(m[2]) + "`" + ` \| .* ` + m[1] + ` \|`).MatchString(md) {
				t.Errorf("provider line %q has no table row", line)
			}
		case strings.Contains(line, " EKS Pod Identity association "):
			if !mdLines[line] {
				t.Errorf("association line %q missing", line)
			}
		case strings.Contains(line, " is no longer planned: "):
			if !strings.Contains(md, "- "+mdText(line)) {
				t.Errorf("orphan line %q missing", line)
			}
		case strings.HasPrefix(line, "Plan: "):
			if !strings.Contains(md, mdText(line)) {
				t.Errorf("summary %q missing", line)
			}
		case strings.HasPrefix(line, "    # "):
			if !strings.Contains(md, mdText(strings.TrimPrefix(line, "    # "))) {
				t.Errorf("reason %q missing", line)
			}
		case strings.HasPrefix(line, "      "): // a document diff line
			if !mdLines[strings.TrimPrefix(line, "      ")] {
				t.Errorf("diff line %q missing", line)
			}
		case strings.HasPrefix(line, "    ") && strings.HasSuffix(line, ":"): // a document field
			if !strings.Contains(md, "`"+strings.TrimSuffix(strings.TrimPrefix(line, "    "), ":")+"`") {
				t.Errorf("document %q missing", line)
			}
		case strings.HasPrefix(line, "    "): // a field change
			if !mdLines[strings.TrimPrefix(line, "    ")] {
				t.Errorf("field change %q missing", line)
			}
		default:
			t.Errorf("text plan line %q is not understood by this test", line)
		}
	}
}

var gfm = goldmark.New(goldmark.WithExtensions(extension.GFM))

// checkCommonMark parses md and returns its fenced blocks by info string.
func checkCommonMark(t *testing.T, md string) map[string][]string {
	t.Helper()
	src := []byte(md)
	doc := gfm.Parser().Parse(text.NewReader(src))
	blocks := map[string][]string{}
	headings, tables, openDetails := 0, 0, 0
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			headings++
		case *extast.Table:
			tables++
		case *ast.FencedCodeBlock:
			var body strings.Builder
			for i := 0; i < n.Lines().Len(); i++ {
				seg := n.Lines().At(i)
				body.Write(seg.Value(src))
			}
			lang := string(n.Language(src))
			blocks[lang] = append(blocks[lang], body.String())
		case *ast.HTMLBlock:
			var raw strings.Builder
			for i := 0; i < n.Lines().Len(); i++ {
				seg := n.Lines().At(i)
				raw.Write(seg.Value(src))
			}
			openDetails += strings.Count(raw.String(), "<details>") - strings.Count(raw.String(), "</details>")
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if headings == 0 {
		t.Error("no heading parsed")
	}
	if openDetails != 0 {
		t.Errorf("<details> sections are not balanced as HTML blocks (%d open)", openDetails)
	}
	if strings.Contains(md, "\n| ") && tables == 0 {
		t.Error("tables did not parse as GFM tables")
	}
	return blocks
}

// checkMarkdownStructure: the document parses as CommonMark (with GitHub's
// table extension) and each changed role has its diff blocks. It returns the
// Mermaid block for checkMermaid.
func checkMarkdownStructure(t *testing.T, md string, plan *Plan) []string {
	t.Helper()
	blocks := checkCommonMark(t, md)
	docs := 0
	for _, rc := range plan.Roles {
		for _, c := range rc.Changes {
			if c.Diff != "" {
				docs++
			}
		}
	}
	if len(blocks["diff"]) < docs {
		t.Errorf("%d diff blocks for %d changed documents", len(blocks["diff"]), docs)
	}
	if len(plan.Roles) > 0 && len(blocks["mermaid"]) != 1 {
		t.Fatalf("want one mermaid block, got %d", len(blocks["mermaid"]))
	}
	return blocks["mermaid"]
}

// checkMermaid runs the real Mermaid parser (npm mermaid, tools/mermaid)
// headless over diagrams, in one node process (loading Mermaid takes seconds).
func checkMermaid(t *testing.T, diagrams ...string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the Mermaid check needs node and `make tools` (npm ci in tools/mermaid)")
	}
	script, _ := filepath.Abs(filepath.Join("..", "tools", "mermaid", "check.mjs"))
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "mermaid")); err != nil {
		t.Fatalf("tools/mermaid/node_modules is missing: run `make tools` (npm ci --prefix tools/mermaid)")
	}
	input, _ := json.Marshal(diagrams)
	cmd := exec.Command(node, script)
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("Mermaid rejects an access map: %v\n%s\n%s", err, out, strings.Join(diagrams, "\n"))
	}
	if n := strings.Count(string(out), ": ok"); n != len(diagrams) {
		t.Errorf("Mermaid accepted %d of %d diagrams:\n%s", n, len(diagrams), out)
	}
}

func TestMarkdownOutputFlag(t *testing.T) {
	var out, errb bytes.Buffer
	// apply has no markdown form.
	if code := clitest.Run(t.Context(), []string{"apply", "--output", "markdown", "-f", "x.yaml"}, nil, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "--output must be text or json") {
		t.Errorf("apply --output markdown: exit %d, %s", code, errb.String())
	}
	// A plan that cannot even read its input is still a markdown report.
	out.Reset()
	errb.Reset()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	code := clitest.Run(t.Context(), []string{"plan", "--output", "markdown", "-f", missing}, nil, &out, &errb)
	if code != 1 || !strings.HasPrefix(out.String(), "## iambind plan: ⛔ refused\n") || !strings.Contains(out.String(), "missing.yaml") {
		t.Errorf("plan --output markdown of a missing file: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	checkCommonMark(t, out.String())
}
