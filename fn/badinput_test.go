package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Bounds every bad input must be rejected within. They are safety nets for
// hostile documents, not performance goals (those live in benchmarks).
const (
	badInputTimeout = 30 * time.Second
	badInputMaxRSS  = 512 << 20 // bytes
)

var fnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iambind-fn-test")
	if err != nil {
		panic(err)
	}
	fnBin = filepath.Join(dir, "iambind-fn")
	build := exec.Command("go", "build", "-o", fnBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building iambind-fn failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type fnRun struct {
	stdout, stderr string
	exitCode       int
	maxRSS         int64
	elapsed        time.Duration
}

func runFn(t *testing.T, input []byte) fnRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), badInputTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, fnBin)
	cmd.Stdin = bytes.NewReader(input)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := fnRun{stdout: out.String(), stderr: errOut.String(), elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("iambind-fn did not finish within %s", badInputTimeout)
	}
	if cmd.ProcessState == nil {
		t.Fatalf("iambind-fn did not run: %v", err)
	}
	r.exitCode = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return r
}

// checkRejected asserts a clean rejection: exit 1, the expected message on
// stderr, no panic, nothing generated on stdout, bounded memory.
func checkRejected(t *testing.T, r fnRun, expect string) {
	t.Helper()
	if r.exitCode != 1 {
		t.Errorf("exit code %d, want 1\nstderr: %s", r.exitCode, r.stderr)
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("iambind-fn panicked:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, expect) {
		t.Errorf("stderr does not contain %q:\n%s", expect, r.stderr)
	}
	if strings.Contains(r.stdout, "iambind.dev/plan") || strings.Contains(r.stdout, "app.kubernetes.io/managed-by: iambind") {
		t.Errorf("generated objects were emitted despite the error:\n%s", r.stdout)
	}
	if r.maxRSS > badInputMaxRSS {
		t.Errorf("peak memory %d MiB exceeds %d MiB", r.maxRSS>>20, badInputMaxRSS>>20)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.HasPrefix(line, "iambind-fn: ") {
			t.Errorf("stderr line is not an iambind-fn message: %q", line)
		}
	}
}

// TestBadInputCorpus runs every file in testdata/bad: each starts with a
// `# expect: <stderr fragment>` line naming what the user must be told.
func TestBadInputCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 40 {
		t.Fatalf("want at least 40 bad inputs in testdata/bad, found %d (%v)", len(files), err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := bytes.Cut(data, []byte("\n"))
			expect, ok := strings.CutPrefix(string(first), "# expect: ")
			if !ok {
				t.Fatalf("%s must start with '# expect: <stderr fragment>'", file)
			}
			checkRejected(t, runFn(t, data), expect)
		})
	}
}

const cluster = `- apiVersion: iambind.dev/v1alpha1
  kind: IdentityCluster
  metadata: {name: c1}
  spec:
    accountID: "111122223333"
    issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
`

func resourceList(items ...string) []byte {
	return []byte("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + strings.Join(items, ""))
}

func bindingWith(spec string) string {
	return "- apiVersion: iambind.dev/v1alpha1\n  kind: IdentityBinding\n  metadata: {name: app, namespace: web}\n  spec:\n" + spec
}

// TestBadInputGenerated covers hostile inputs too large to keep as files.
func TestBadInputGenerated(t *testing.T) {
	var subjects10k, subjects100, managed21, inlineBig, deep strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&subjects10k, "    - name: sa-%05d\n", i)
	}
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&subjects100, "    - name: service-account-%03d\n", i)
	}
	for i := 0; i < 21; i++ {
		fmt.Fprintf(&managed21, "      - arn:aws:iam::111122223333:policy/p%02d\n", i)
	}
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&inlineBig, "        p%02d: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: \"s3:GetObject\", Resource: \"arn:aws:s3:::%s/*\"}]}\n", i, strings.Repeat("b", 900))
	}
	deep.WriteString("    role:\n      tags: ")
	deep.WriteString(strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n")

	cases := []struct {
		name, expect string
		input        []byte
	}{
		{"10k-subjects", "the trust policy is", resourceList(cluster, bindingWith("    serviceAccounts:\n"+subjects10k.String()))},
		{"trust-over-quota", "but the account's quota is 2048", resourceList(cluster, bindingWith("    serviceAccounts:\n"+subjects100.String()))},
		{"huge-description", "spec.role.description: is 5000000 characters; IAM allows at most 1000", resourceList(cluster, bindingWith("    role: {description: "+strings.Repeat("d", 5_000_000)+"}\n"))},
		{"21-managed-policies", "21 managed policies; IAM allows at most 20", resourceList(cluster, bindingWith("    policies:\n      managed:\n"+managed21.String()))},
		{"inline-over-10240", "inline policies total", resourceList(cluster, bindingWith("    policies:\n      inline:\n"+inlineBig.String()))},
		{"deep-nesting", "exceeded max depth", resourceList(cluster, bindingWith(deep.String()))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkRejected(t, runFn(t, c.input), c.expect)
		})
	}
}

// TestErrorOutputIsInputUnchanged: on error the ResourceList on stdout holds
// the input items exactly, plus the error results (nothing partial).
func TestErrorOutputIsInputUnchanged(t *testing.T) {
	input := resourceList(cluster, bindingWith("    role: {maxSessionDuration: 1}\n"),
		"- apiVersion: v1\n  kind: ServiceAccount\n  metadata: {name: app, namespace: web}\n")
	r := runFn(t, input)
	checkRejected(t, r, "spec.role.maxSessionDuration")
	for _, want := range []string{"kind: IdentityCluster", "kind: IdentityBinding", "kind: ServiceAccount", "severity: error", "path: spec.role.maxSessionDuration"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "local-config") || strings.Contains(r.stdout, "eks.amazonaws.com/role-arn") {
		t.Errorf("input items were modified despite the error:\n%s", r.stdout)
	}
}

func TestHelp(t *testing.T) {
	out, err := exec.Command(fnBin, "--help").Output()
	if err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"IdentityBinding", "kustomize build --enable-alpha-plugins --enable-exec", "kpt fn render"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
