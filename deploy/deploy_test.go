// Package deploy holds the kustomize base that runs iambind in a cluster. Its
// tests check what cannot be checked by applying it: that iam-policy.json is what
// iambind's own binding renders, and that the image's binaries, built exactly as
// the Dockerfile builds them, are static and run as the non-root user with no
// writable filesystem.
package deploy

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/kptdev/krm-functions-sdk/go/fn"
)

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}()

// renderOwnRole runs the generator over iambind's own binding, cluster and
// ServiceAccount, as the kustomization does, and returns its role.
func renderOwnRole(t *testing.T) generator.Role {
	t.Helper()
	var stream []string
	for _, f := range []string{"cluster.yaml", "iambind-binding.yaml", "serviceaccount.yaml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "base", f))
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, string(data))
	}
	items, err := fn.ParseKubeObjects([]byte(strings.Join(stream, "\n---\n")))
	if err != nil {
		t.Fatal(err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatalf("iambind's own binding does not render: %v", out.Problems)
	}
	for _, obj := range out.Items {
		if obj.GetKind() == "ConfigMap" && obj.GetName() == "iambind-iambind" {
			roleJSON, _, _ := obj.NestedString("data", "role.json")
			var role generator.Role
			if err := json.Unmarshal([]byte(roleJSON), &role); err != nil {
				t.Fatal(err)
			}
			return role
		}
	}
	t.Fatal("no plan ConfigMap iambind-system/iambind-iambind in the output")
	return generator.Role{}
}

// TestIAMPolicyIsRenderedByOwnBinding: deploy/iam-policy.json is the inline policy
// of iambind's own binding, byte for byte (WRITE_GOLDEN_OUTPUT=1 refreshes it).
func TestIAMPolicyIsRenderedByOwnBinding(t *testing.T) {
	role := renderOwnRole(t)
	doc, ok := role.InlinePolicies["iambind"]
	if !ok {
		t.Fatal("the binding has no inline policy named iambind")
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteString("\n")
	path := filepath.Join(repoRoot, "deploy", "iam-policy.json")
	if os.Getenv("WRITE_GOLDEN_OUTPUT") != "" {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, pretty.Bytes()) {
		t.Errorf("deploy/iam-policy.json differs from what deploy/base/iambind-binding.yaml renders (WRITE_GOLDEN_OUTPUT=1 go test ./deploy to refresh after review):\n%s", pretty.String())
	}
	if role.Path != "/iambind-system/" || role.Owner() != "iambind-bootstrap" {
		t.Errorf("iambind's own role must live apart from the roles it manages: path %q owner %q", role.Path, role.Owner())
	}
}

// The IAM actions the reconcile job calls (reconcile/observe.go, execute.go).
var (
	jobReads = []string{"GetRole", "ListRoles", "GetAccountAuthorizationDetails", "ListRoleTags", "ListAttachedRolePolicies",
		"ListRolePolicies", "GetRolePolicy", "ListInstanceProfilesForRole", "ListOpenIDConnectProviders",
		"GetOpenIDConnectProvider", "GetAccountSummary", "GetPolicy",
		"GetPolicyVersion"} // with --guardrails: managed policies are judged by their documents (reconcile/iam/documents.go)
	// DeleteRolePermissionsBoundary is left out on purpose: the policy denies
	// it, and guardrails never let a plan drop the boundary.
	jobWrites = []string{"CreateRole", "UpdateRole", "UpdateAssumeRolePolicy", "DeleteRole", "TagRole", "UntagRole",
		"PutRolePermissionsBoundary", "AttachRolePolicy", "DetachRolePolicy",
		"PutRolePolicy", "DeleteRolePolicy", "RemoveRoleFromInstanceProfile", "CreateOpenIDConnectProvider",
		"TagOpenIDConnectProvider", "DeleteOpenIDConnectProvider", // --cluster: providers tagged at creation, pruned by their tags
		"AddClientIDToOpenIDConnectProvider"}
)

// TestIAMPolicyIsLeastPrivilege: the Allow statements grant exactly the IAM
// actions the reconcile job calls, each once, by exact name. What each grant
// is scoped to is proven by TestJobPolicyDelegation.
func TestIAMPolicyIsLeastPrivilege(t *testing.T) {
	var policy struct {
		Statement []struct {
			Sid    string
			Effect string
			Action generator.StringList // a string or a list
		}
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "iam-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &policy); err != nil {
		t.Fatal(err)
	}
	granted := map[string]int{}
	for _, st := range policy.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			name, ok := strings.CutPrefix(a, "iam:")
			if !ok || strings.ContainsAny(name, "*?") {
				t.Errorf("statement %s grants %q: only exact iam: actions", st.Sid, a)
			}
			granted[name]++
		}
	}
	for _, a := range append(append([]string(nil), jobReads...), jobWrites...) {
		if granted[a] != 1 {
			t.Errorf("iam:%s granted %d times, want exactly once", a, granted[a])
		}
	}
	if len(granted) != len(jobReads)+len(jobWrites) {
		t.Errorf("the policy grants %d actions, want exactly the %d the reconcile job calls", len(granted), len(jobReads)+len(jobWrites))
	}
}

// buildLine matches the Dockerfile's build steps: RUN <env> go build <flags> -o /out/<bin> <pkg>.
var buildLine = regexp.MustCompile(`^RUN (CGO_ENABLED=0) go build (.+) -o /out/(\S+) (\./\S+)$`)

// dockerfileBuilds returns the `go build` steps of the Dockerfile, so the test
// runs exactly what the image build runs.
func dockerfileBuilds(t *testing.T) (builds [][]string, dockerfile string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if m := buildLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			builds = append(builds, m[1:])
		}
	}
	return builds, string(data)
}

// splitWords splits build flags like a shell would for the Dockerfile's simple
// quoting ("-s -w" stays one word).
func splitWords(s string) []string {
	var out []string
	for _, part := range regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(s, -1) {
		out = append(out, strings.Trim(part, `"`))
	}
	return out
}

func TestDockerfile(t *testing.T) {
	builds, dockerfile := dockerfileBuilds(t)
	for _, want := range []string{
		"FROM golang:1.26 AS build",
		"FROM gcr.io/distroless/static:nonroot",
		"COPY --from=build /out/iambind-fn /iambind-fn",
		"COPY --from=build /out/iambind /iambind",
		"USER 65532:65532",
		`ENTRYPOINT ["/iambind-fn"]`,
	} {
		if !strings.Contains(dockerfile, want+"\n") {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	var names []string
	for _, b := range builds {
		names = append(names, b[2]+"="+b[3])
	}
	if !slices.Equal(names, []string{"iambind-fn=./fn", "iambind=./cmd/iambind"}) {
		t.Fatalf("Dockerfile build steps = %v, want iambind-fn from ./fn and iambind from ./cmd/iambind", names)
	}

	// A directory the non-root user can traverse but not write.
	out, err := os.MkdirTemp("", "iambind-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	for _, b := range builds {
		env, flags, name, pkg := b[0], splitWords(b[1]), b[2], b[3]
		args := append(append([]string{"build"}, flags...), "-o", filepath.Join(out, name), pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), env)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s go %s: %v\n%s", env, strings.Join(args, " "), err, msg)
		}
		assertStatic(t, filepath.Join(out, name))
	}
	if err := os.Chmod(out, 0o555); err != nil {
		t.Fatal(err)
	}

	// Resources for the function: a binding and its cluster as a ResourceList.
	cluster, _ := os.ReadFile(filepath.Join(repoRoot, "deploy", "base", "cluster.yaml"))
	binding, _ := os.ReadFile(filepath.Join(repoRoot, "deploy", "base", "iambind-binding.yaml"))
	resourceList := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" +
		indentItem(string(cluster)) + indentItem(string(binding))

	stdout, stderr, err := runAsNobody(t, out, filepath.Join(out, "iambind-fn"), "", "--help")
	if err != nil {
		t.Errorf("iambind-fn --help as 65532: %v\n%s%s", err, stdout, stderr)
	}
	stdout, stderr, err = runAsNobody(t, out, filepath.Join(out, "iambind-fn"), resourceList)
	if err != nil {
		t.Fatalf("iambind-fn as 65532 on a ResourceList: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "kind: ResourceList") || !strings.Contains(stdout, "eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/iambind-system/iambind-system-iambind") {
		t.Errorf("iambind-fn output lacks the annotated ServiceAccount:\n%s", stdout)
	}

	stdout, stderr, err = runAsNobody(t, out, filepath.Join(out, "iambind"), "", "version")
	switch {
	case err == nil:
		if strings.TrimSpace(stdout) == "" {
			t.Error("iambind version printed nothing")
		}
	case strings.Contains(stdout+stderr, "not implemented"):
		t.Logf("iambind version: the CLI is not implemented yet (%s)", strings.TrimSpace(stderr))
	default:
		t.Errorf("iambind version as 65532: %v\n%s%s", err, stdout, stderr)
	}
}

// indentItem turns one YAML document into an item of a ResourceList's items list.
func indentItem(doc string) string {
	var b strings.Builder
	first := true
	for _, line := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if first {
			b.WriteString("- " + line + "\n")
			first = false
			continue
		}
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}

// assertStatic fails unless the ELF file has no interpreter and no shared
// library dependencies: it must run on distroless/static.
func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a program interpreter: not statically linked", filepath.Base(path))
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", filepath.Base(path), libs)
	}
}

// runAsNobody runs bin as uid/gid 65532 (the image's USER) in a read-only
// working directory, with no HOME and an empty environment otherwise, as the
// container would.
func runAsNobody(t *testing.T, dir, bin, stdin string, args ...string) (string, string, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("switching to uid 65532 needs root; the CI machine runs tests as root")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/nonexistent"}
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return o.String(), e.String(), err
}
