package examples

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/internal/tooltest"
	sigsyaml "sigs.k8s.io/yaml"
)

// actionlintVersion is the actionlint the Makefile installs into bin/.
const actionlintVersion = "v1.7.12"

const workflowPath = "examples/github-actions/iambind.yaml"

// actionlintBinary returns bin/actionlint, installing the pinned version
// when it is missing.
func actionlintBinary(t *testing.T) string {
	return tooltest.Binary(t, "actionlint", "github.com/rhysd/actionlint/cmd/actionlint", actionlintVersion)
}

// TestGitHubActionsWorkflowLints runs the real actionlint over the example
// workflow, and over a broken copy to prove it is really checking.
func TestGitHubActionsWorkflowLints(t *testing.T) {
	lint := actionlintBinary(t)
	if out, err := exec.Command(lint, "-no-color", filepath.Join(repoRoot, workflowPath)).CombinedOutput(); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(filepath.Join(repoRoot, workflowPath))
	broken := strings.Replace(string(data), "steps.plan.outputs.exitcode", "steps.plann.outputs.exitcode", 1)
	path := filepath.Join(t.TempDir(), "broken.yaml")
	os.WriteFile(path, []byte(broken), 0o644)
	out, err := exec.Command(lint, "-no-color", path).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "plann") {
		t.Fatalf("actionlint accepted a reference to a missing step: %v\n%s", err, out)
	}
}

// TestGitHubActionsPlanRoleIsReadOnly: the plan role may call every read the
// reconcile side makes (the Observe statement of iambind's own policy) and
// nothing that writes.
func TestGitHubActionsPlanRoleIsReadOnly(t *testing.T) {
	type policy struct {
		Statement []struct {
			Sid    string
			Effect string
			Action generator.StringList // a string or a list
		}
	}
	read := func(path string) policy {
		var p policy
		data, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return p
	}
	var allowed []string
	for _, st := range read("examples/github-actions/plan-role-policy.json").Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			_, op, _ := strings.Cut(a, ":")
			if !regexp.MustCompile(`^(Get|List|Describe)[A-Za-z]+$`).MatchString(op) {
				t.Errorf("plan role allows %s, which is not a read", a)
			}
			allowed = append(allowed, a)
		}
	}
	for _, st := range read("deploy/iam-policy.json").Statement {
		if st.Sid != "Observe" {
			continue
		}
		for _, a := range st.Action {
			if !slices.Contains(allowed, a) {
				t.Errorf("plan role lacks %s, which iambind plan reads", a)
			}
		}
	}
}

// TestGitHubActionsWorkflowRunsAgainstMoto runs the workflow's own `run:`
// steps with bash, as the runner would, against moto: the plan job on a pull
// request (a sticky comment is created), the apply job on main, and the plan
// job again (the same comment is updated to "no changes"). What cannot run
// here is replaced: `uses:` steps (checkout, setup-go, OIDC credentials: moto's
// test credentials stand in), the install step (the binaries built from this
// tree stand in), and the GitHub comment API: a `gh` stub on PATH keeps each
// comment body in a file.
func TestGitHubActionsWorkflowRunsAgainstMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the workflow against moto")
	}
	var wf struct {
		Env  map[string]string `json:"env"`
		Jobs map[string]struct {
			Env   map[string]string `json:"env"`
			Steps []struct {
				ID   string            `json:"id"`
				Name string            `json:"name"`
				Uses string            `json:"uses"`
				Run  string            `json:"run"`
				Env  map[string]string `json:"env"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, workflowPath))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}

	srv := mototest.StartInAccount(t, "111122223333") // the example's account
	tmp := t.TempDir()
	ws, runner, stubs := filepath.Join(tmp, "workspace"), filepath.Join(tmp, "runner"), filepath.Join(tmp, "stubs")
	for _, d := range []string{filepath.Join(ws, "bin"), runner, filepath.Join(stubs, "comments")} {
		os.MkdirAll(d, 0o755)
	}
	// The checkout: the overlay the workflow renders.
	if out, err := exec.Command("cp", "-r", filepath.Join(repoRoot, "examples"), filepath.Join(ws, "examples")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// The install step: binaries built from this tree.
	copyFile(t, fnBinary(), filepath.Join(ws, "bin", "iambind-fn"))
	copyFile(t, kustomizeBinary(t), filepath.Join(ws, "bin", "kustomize"))
	build := exec.Command("go", "build", "-o", filepath.Join(ws, "bin", "iambind"), "./cmd/iambind")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building iambind: %v\n%s", err, out)
	}
	// The GitHub API: list, create and update issue comments, bodies in files.
	if err := os.WriteFile(filepath.Join(stubs, "gh"), []byte(ghStub), 0o755); err != nil {
		t.Fatal(err)
	}

	outputs := map[string]map[string]string{}
	github := map[string]string{
		"github.repository":                  "acme/platform",
		"github.run_id":                      "1",
		"github.token":                       "stub-token",
		"github.event.pull_request.number":   "42",
		"github.event.pull_request.head.sha": "0123456789abcdef0123456789abcdef01234567",
		"env.AWS_REGION":                     wf.Env["AWS_REGION"],
		"vars.IAMBIND_PLAN_ROLE_ARN":         "arn:aws:iam::111122223333:role/iambind-plan",
		"vars.IAMBIND_APPLY_ROLE_ARN":        "arn:aws:iam::111122223333:role/iambind-apply",
	}
	expr := regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)
	eval := func(s string) string {
		return expr.ReplaceAllStringFunc(s, func(m string) string {
			key := expr.FindStringSubmatch(m)[1]
			if v, ok := github[key]; ok {
				return v
			}
			if parts := strings.Split(key, "."); len(parts) == 4 && parts[0] == "steps" && parts[2] == "outputs" {
				return outputs[parts[1]][parts[3]]
			}
			t.Fatalf("the workflow uses ${{ %s }}, which this test does not provide", key)
			return ""
		})
	}

	runJob := func(name string) (failed string) {
		job, ok := wf.Jobs[name]
		if !ok {
			t.Fatalf("workflow has no job %q", name)
		}
		path := []string{filepath.Join(ws, "bin"), stubs, os.Getenv("PATH")}
		ran := 0
		for _, step := range job.Steps {
			if step.Run == "" || step.ID == "install" {
				continue
			}
			ran++
			outFile := filepath.Join(runner, "output-"+step.ID)
			os.WriteFile(outFile, nil, 0o644)
			env := []string{"HOME=" + tmp, "PATH=" + strings.Join(path, ":"),
				"GITHUB_WORKSPACE=" + ws, "RUNNER_TEMP=" + runner, "GITHUB_OUTPUT=" + outFile,
				"GITHUB_STEP_SUMMARY=" + filepath.Join(runner, "summary.md"), "GITHUB_PATH=" + filepath.Join(runner, "path"),
				"GH_STUB_DIR=" + stubs, "GOCACHE=" + os.Getenv("GOCACHE")}
			env = append(env, srv.Env()...)
			for _, m := range []map[string]string{wf.Env, job.Env, step.Env} {
				for k, v := range m {
					env = append(env, k+"="+eval(v))
				}
			}
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", eval(step.Run))
			cmd.Dir, cmd.Env = ws, env
			out, err := cmd.CombinedOutput()
			outputs[step.ID] = readOutputs(t, outFile)
			if err != nil {
				return fmt.Sprintf("step %q: %v\n%s", step.Name+step.ID, err, out)
			}
		}
		if ran < 2 {
			t.Fatalf("job %s: only %d run steps", name, ran)
		}
		return ""
	}

	// 1. Pull request: changes to review; one comment created; the job passes.
	if failed := runJob("plan"); failed != "" {
		t.Fatalf("plan job: %s", failed)
	}
	if outputs["plan"]["exitcode"] != "2" {
		t.Fatalf("plan exit code = %q, want 2 (changes)", outputs["plan"]["exitcode"])
	}
	comments, _ := filepath.Glob(filepath.Join(stubs, "comments", "*.md"))
	if len(comments) != 1 {
		t.Fatalf("%d comments after the first plan, want 1", len(comments))
	}
	first, _ := os.ReadFile(comments[0])
	for _, want := range []string{"<!-- iambind-plan -->\n## iambind plan: changes to review", "| `shop-orders` | `111122223333` | 🟢 create |", "```mermaid", "exit code 2"} {
		if !strings.Contains(string(first), want) {
			t.Errorf("first comment lacks %q:\n%s", want, first)
		}
	}

	// 2. Merge to main: apply.
	if failed := runJob("apply"); failed != "" {
		t.Fatalf("apply job: %s", failed)
	}

	// 3. The next push to the pull request: the same comment now says no changes.
	if failed := runJob("plan"); failed != "" {
		t.Fatalf("second plan job: %s", failed)
	}
	comments, _ = filepath.Glob(filepath.Join(stubs, "comments", "*.md"))
	calls, _ := os.ReadFile(filepath.Join(stubs, "calls.log"))
	if len(comments) != 1 || !strings.Contains(string(calls), "PATCH repos/acme/platform/issues/comments/1") {
		t.Fatalf("want the one comment updated, got %d comments; calls:\n%s", len(comments), calls)
	}
	second, _ := os.ReadFile(comments[0])
	if !strings.Contains(string(second), "## iambind plan: no changes") || outputs["plan"]["exitcode"] != "0" {
		t.Errorf("second plan (exit %s):\n%s", outputs["plan"]["exitcode"], second)
	}

	// 4. A refused plan: the comment says why and the job fails.
	srv = mototest.StartInAccount(t, "444455556666") // credentials for another account
	failed := runJob("plan")
	if failed == "" || outputs["plan"]["exitcode"] != "1" {
		t.Fatalf("a plan for another account passed (exit %s)", outputs["plan"]["exitcode"])
	}
	third, _ := os.ReadFile(comments[0])
	if !strings.Contains(string(third), "## iambind plan: ⛔ refused") || !strings.Contains(string(third), "the plan is for account 111122223333") {
		t.Errorf("refusal comment:\n%s", third)
	}
}

// ghStub stands in for `gh api` on the issue-comments endpoints the workflow
// calls: bodies are files $GH_STUB_DIR/comments/<id>.md, calls are logged.
const ghStub = `#!/usr/bin/env bash
set -euo pipefail
dir="$GH_STUB_DIR"
[ "$1" = api ] || { echo "gh stub: only 'gh api' is supported" >&2; exit 1; }
shift
method=GET path="" body="" jq=""
while [ $# -gt 0 ]; do
  case "$1" in
    --method|-X) method="$2"; shift 2 ;;
    -F|-f) body="${2#body=@}"; shift 2 ;;
    --jq) jq="$2"; shift 2 ;;
    --paginate) shift ;;
    *) path="$1"; shift ;;
  esac
done
echo "$method $path" >> "$dir/calls.log"
case "$method" in
  GET)
    # the workflow's filter: ids of comments whose body starts with the marker
    marker=$(sed -E 's/.*startswith\("(.*)"\).*/\1/' <<<"$jq")
    for f in "$dir"/comments/*.md; do
      [ -e "$f" ] || continue
      if [ "$(head -c ${#marker} "$f")" = "$marker" ]; then basename "$f" .md; fi
    done ;;
  POST)
    n=$(( $(find "$dir/comments" -name '*.md' | wc -l) + 1 ))
    cp "$body" "$dir/comments/$n.md"; echo '{"id": '"$n"'}' ;;
  PATCH)
    id="${path##*/}"
    [ -e "$dir/comments/$id.md" ] || { echo "gh stub: no comment $id" >&2; exit 1; }
    cp "$body" "$dir/comments/$id.md"; echo '{"id": '"$id"'}' ;;
esac
`

func readOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}
