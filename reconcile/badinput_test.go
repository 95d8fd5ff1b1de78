package reconcile_test

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/iambind/iambind/internal/mototest"
)

// The bad-input corpus of the reconcile reader.
//
// Every file in testdata/bad is a rendered manifest stream that `iambind plan`
// and `iambind apply` must refuse. A file starts with one or more
// `# expect: <stderr fragment>` lines ({file} stands for the path given to
// -f) and optionally `# args: <extra flags>`. Each case runs the built binary
// twice, plan then apply against moto, and asserts: exit 1, the fragments on
// stderr, no panic, bounded time and memory, and — for apply — that IAM holds
// no role and no OIDC provider afterwards (nothing partial was written).
//
// testdata/bad/ok holds the controls: base.yaml is the untampered plan the
// bad files were cut from (it must apply, which proves the "IAM is empty"
// check can fail), and wrong-labels-ignored.yaml holds ConfigMaps that only
// look like plans, which must be ignored with a warning, not rejected.
//
// The files were generated from real iambind-fn output for a binding shop/orders
// in account 111122223333 (cluster prod, rolePath /iambind/), then tampered.

const (
	badAccount      = "111122223333"
	badInputTimeout = 30 * time.Second
	badInputMaxRSS  = 512 << 20 // bytes
	badMinCorpus    = 40
)

type badRun struct {
	stdout, stderr string
	exitCode       int
	maxRSS         int64
}

type badEnv struct {
	bin  string
	env  []string
	moto *mototest.Server
	iam  *iam.Client
}

func newBadEnv(t *testing.T) *badEnv {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "iambind")
	build := exec.Command("go", "build", "-o", bin, "../cmd/iambind")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building iambind: %v\n%s", err, out)
	}
	moto := mototest.StartInAccount(t, badAccount)
	env := append(os.Environ(), moto.Env()...)
	env = append(env, "AWS_PROFILE=", "NO_COLOR=1")
	client := iam.New(iam.Options{
		Region:       mototest.Region,
		BaseEndpoint: aws.String(moto.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, ""),
	})
	return &badEnv{bin: bin, env: env, moto: moto, iam: client}
}

func (e *badEnv) run(t *testing.T, args ...string) badRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), badInputTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = e.env
	cmd.Stdin = strings.NewReader("")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("iambind %s did not finish within %s", strings.Join(args, " "), badInputTimeout)
	}
	if cmd.ProcessState == nil {
		t.Fatalf("iambind did not run: %v", err)
	}
	r := badRun{stdout: out.String(), stderr: errOut.String(), exitCode: cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return r
}

// iamContents lists what IAM holds: role names and OIDC provider ARNs.
func (e *badEnv) iamContents(t *testing.T) (roles, providers []string) {
	t.Helper()
	ctx := context.Background()
	rl, err := e.iam.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatalf("ListRoles: %v", err)
	}
	for _, r := range rl.Roles {
		roles = append(roles, aws.ToString(r.RoleName))
	}
	pl, err := e.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatalf("ListOpenIDConnectProviders: %v", err)
	}
	for _, p := range pl.OpenIDConnectProviderList {
		providers = append(providers, aws.ToString(p.Arn))
	}
	return roles, providers
}

// checkRejected asserts a clean rejection: exit 1, every expected fragment
// on stderr, no panic, only iambind messages on stderr, bounded memory.
func checkRejected(t *testing.T, what string, r badRun, expects []string) {
	t.Helper()
	if r.exitCode != 1 {
		t.Errorf("%s: exit code %d, want 1\nstderr: %s", what, r.exitCode, r.stderr)
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("%s: iambind panicked:\n%s", what, r.stderr)
	}
	for _, want := range expects {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("%s: stderr does not contain %q:\n%s", what, want, r.stderr)
		}
	}
	if !strings.HasPrefix(r.stderr, "iambind: ") {
		t.Errorf("%s: stderr does not start with an iambind message:\n%s", what, r.stderr)
	}
	if r.maxRSS > badInputMaxRSS {
		t.Errorf("%s: peak memory %d MiB exceeds %d MiB", what, r.maxRSS>>20, badInputMaxRSS>>20)
	}
}

// badCase is one corpus file with its header parsed.
type badCase struct {
	name, path string
	expects    []string
	args       []string
}

func loadBadCase(t *testing.T, path string) badCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := badCase{name: strings.TrimSuffix(filepath.Base(path), ".yaml"), path: path}
	for _, line := range strings.Split(string(data), "\n") {
		if e, ok := strings.CutPrefix(line, "# expect: "); ok {
			c.expects = append(c.expects, strings.ReplaceAll(e, "{file}", path))
		} else if a, ok := strings.CutPrefix(line, "# args: "); ok {
			c.args = strings.Fields(a)
		} else {
			break
		}
	}
	return c
}

// TestBadInput runs the controls, then the generated hostile inputs and the
// corpus against one moto server. The bad cases run in parallel without
// resetting moto: each must leave IAM empty, so a case that wrote anything
// fails (and may make the cases running beside it fail too).
func TestBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs moto")
	}
	e := newBadEnv(t)

	t.Run("control", func(t *testing.T) { badControls(t, e) })
	t.Run("generated", func(t *testing.T) { badGenerated(t, e) })

	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < badMinCorpus {
		t.Fatalf("want at least %d bad inputs in testdata/bad, found %d (%v)", badMinCorpus, len(files), err)
	}
	for _, file := range files {
		c := loadBadCase(t, file)
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if len(c.expects) == 0 || c.expects[0] == "" {
				t.Fatalf("%s must start with '# expect: <stderr fragment>'", file)
			}
			e.checkPlanAndApply(t, append([]string{"-f", c.path}, c.args...), c.expects)
		})
	}
}

// checkPlanAndApply runs plan and apply on the same arguments: both must
// refuse with the same message, and apply must leave IAM empty.
func (e *badEnv) checkPlanAndApply(t *testing.T, args, expects []string) {
	t.Helper()
	checkRejected(t, "plan", e.run(t, append([]string{"plan"}, args...)...), expects)
	r := e.run(t, append([]string{"apply"}, args...)...)
	checkRejected(t, "apply", r, expects)
	if strings.Contains(r.stdout, "IAM calls:") {
		t.Errorf("apply reached the executor:\n%s", r.stdout)
	}
	if roles, providers := e.iamContents(t); len(roles)+len(providers) > 0 {
		t.Errorf("apply wrote to IAM despite refusing: roles %v, OIDC providers %v", roles, providers)
	}
}

// badControls: the untampered plan applies (so an empty IAM after a refusal
// means something), and ConfigMaps that only look like plans are ignored.
func badControls(t *testing.T, e *badEnv) {
	t.Run("base-applies", func(t *testing.T) {
		e.moto.Reset(t)
		r := e.run(t, "apply", "-f", "testdata/bad/ok/base.yaml")
		if r.exitCode != 0 {
			t.Fatalf("the untampered plan does not apply: exit %d\n%s%s", r.exitCode, r.stdout, r.stderr)
		}
		roles, providers := e.iamContents(t)
		if fmt.Sprint(roles) != "[shop-orders]" || len(providers) != 1 {
			t.Fatalf("after applying the base plan IAM holds roles %v, providers %v", roles, providers)
		}
		e.moto.Reset(t)
	})
	t.Run("wrong-labels-ignored", func(t *testing.T) {
		const file = "testdata/bad/ok/wrong-labels-ignored.yaml"
		const warning = "iambind: warning: the input holds no plan (no ConfigMap labelled iambind.dev/plan=role)"
		for _, cmd := range []string{"plan", "apply"} {
			e.moto.Reset(t)
			r := e.run(t, cmd, "-f", file, "-o", "json")
			if r.exitCode != 0 || !strings.Contains(r.stderr, warning) {
				t.Errorf("%s: exit %d, want 0 with the warning %q\nstderr: %s", cmd, r.exitCode, warning, r.stderr)
			}
			if !strings.Contains(r.stdout, `"writes": 0`) {
				t.Errorf("%s: want no IAM write:\n%s", cmd, r.stdout)
			}
			if roles, providers := e.iamContents(t); len(roles)+len(providers) > 0 {
				t.Errorf("%s: IAM holds roles %v, OIDC providers %v", cmd, roles, providers)
			}
		}
	})
}

// badGenerated covers inputs too large to keep as files; each is written to
// a temporary file and must be refused within the time and memory bounds.
func badGenerated(t *testing.T, e *badEnv) {
	base, err := os.ReadFile("testdata/bad/ok/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := string(base)
	// The ConfigMap alone (the first document), with its role.json edited.
	cm, _, _ := strings.Cut(plan, "\n---\n")
	withRoleField := func(field, value string) string {
		return strings.Replace(cm, `      "description": "Managed by iambind for shop/orders",`, "      \""+field+"\": "+value+",", 1)
	}
	var many strings.Builder
	for i := 0; i < 2000; i++ {
		// 2000 copies of the plan under other ConfigMap names: deduplicated...
		many.WriteString(strings.Replace(cm, "name: iambind-orders", fmt.Sprintf("name: iambind-orders-%04d", i), 1))
		many.WriteString("\n---\n")
	}
	// ...then one that differs, at the very end.
	many.WriteString(strings.Replace(cm, "Managed by iambind for shop/orders", "changed", 1))

	cases := []struct {
		name, input string
		expects     []string
	}{
		{"huge-description", withRoleField("description", `"`+strings.Repeat("d", 5_000_000)+`"`),
			[]string{"ConfigMap shop/iambind-orders): description is 5000000 characters, IAM allows 1000"}},
		{"deep-json-nesting", withRoleField("description", strings.Repeat("[", 20000)+strings.Repeat("]", 20000)),
			[]string{"ConfigMap shop/iambind-orders: role.json: invalid character '[' exceeded max depth"}},
		{"huge-yaml-nesting", "a: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n",
			[]string{"exceeded max depth"}},
		{"2001-plans-last-differs", many.String(),
			[]string{"role shop-orders is planned twice with different role.json", "ConfigMap shop/iambind-orders-0000 and", "ConfigMap shop/iambind-orders"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.name+".yaml")
			if err := os.WriteFile(path, []byte(c.input), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			e.checkPlanAndApply(t, []string{"-f", path}, c.expects)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}
