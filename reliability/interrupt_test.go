package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/faultproxy"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/kube"
)

// The graceful stop contract of `iambind plan|apply` (SIGTERM or SIGINT):
// no new AWS call after the first signal, calls in flight finish or are
// abandoned within 10 s, exit 3 within 30 s with a summary of what was and
// was not done; a second signal exits 3 at once.
const (
	interruptExitCode = 3 // ExitInterrupted
	// interruptExitWithin is how long after the first signal the process may take to exit.
	interruptExitWithin = 30 * time.Second
	// interruptQuiet is the margin after the signal in which a request
	// already being sent may still reach the proxy; none may start later.
	interruptQuiet = time.Second
)

// interruptProc is a running iambind process whose exit is watched.
type interruptProc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer // read only after done is closed
	done           chan struct{}
	exitedAt       time.Time
	code           int
}

// interruptStart starts iambind with moto's credentials and endpoint.
func interruptStart(t *testing.T, endpoint string, args ...string) *interruptProc {
	t.Helper()
	p := &interruptProc{done: make(chan struct{})}
	p.cmd = exec.Command(iambindBin, args...)
	p.cmd.Env = append(os.Environ(), cliEnv(endpoint)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.exitedAt = time.Now()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *interruptProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the iambind process only, and returns when.
func (p *interruptProc) signal(t *testing.T, sig os.Signal) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v: %v", sig, err)
	}
	return at
}

// wait waits up to d for the exit; after that it kills the process and
// reports false.
func (p *interruptProc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// state describes how the process ended, for failure messages.
func (p *interruptProc) state() string {
	return fmt.Sprintf("exit code %d (%v)", p.code, p.cmd.ProcessState)
}

// interruptWaitFor polls the proxy's record until cond holds. It fails the
// test when the process exits first (the apply finished before the point
// the test wanted to interrupt it at) or after timeout.
func interruptWaitFor(t *testing.T, p *interruptProc, proxy *faultproxy.Proxy, what string, timeout time.Duration, cond func([]faultproxy.Request) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(proxy.Requests()) {
		if p.exited() {
			t.Fatalf("iambind exited (%s) before %s; the proxy must be slower\nstdout:\n%s\nstderr:\n%s", p.state(), what, tail(p.stdout.String()), tail(p.stderr.String()))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s (%d requests seen)", what, timeout, len(proxy.Requests()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// interruptCompleted counts the requests for action that IAM answered 200.
func interruptCompleted(reqs []faultproxy.Request, action string) int {
	n := 0
	for _, r := range reqs {
		if r.Action == action && r.Status == 200 {
			n++
		}
	}
	return n
}

// interruptLateRequests are the requests that started more than
// interruptQuiet after the signal: the process must not start them.
func interruptLateRequests(reqs []faultproxy.Request, signalled time.Time) []string {
	var late []string
	for _, r := range reqs {
		if r.Start.After(signalled.Add(interruptQuiet)) {
			late = append(late, fmt.Sprintf("%s %s at +%s", r.Action, r.RoleName, r.Start.Sub(signalled).Round(time.Millisecond)))
		}
	}
	return late
}

// interruptSettle waits (up to 5 s) until the proxy has no request in
// flight: an abandoned call either reached IAM or never will.
func interruptSettle(t *testing.T, proxy *faultproxy.Proxy) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		inFlight := 0
		for _, r := range proxy.Requests() {
			if r.End.IsZero() {
				inFlight++
			}
		}
		if inFlight == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("the proxy still has requests in flight 5 s after iambind exited")
}

// interruptWriteLog is a line apply logs per write ("role NAME: CreateRole",
// "CreateOpenIDConnectProvider URL").
var interruptWriteLog = regexp.MustCompile(`^(role \S+: [A-Z][A-Za-z]+( .*)?|[A-Z][A-Za-z]+OpenIDConnectProvider .*)$`)

// interruptReport is what apply's text output says after its plan (which
// names every role) and without its per-write log lines (which name the
// roles it wrote to): the summary of what was and was not done.
func interruptReport(stdout string) string {
	if i := strings.Index(stdout, "\nPlan: "); i >= 0 {
		stdout = stdout[i+1:]
		if j := strings.IndexByte(stdout, '\n'); j >= 0 {
			stdout = stdout[j+1:]
		}
	}
	var kept []string
	for _, line := range strings.Split(stdout, "\n") {
		if !interruptWriteLog.MatchString(line) {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

// interruptRoleStates reads IAM directly and says, per planned role,
// whether it is absent, partly applied or complete.
func interruptRoleStates(t *testing.T, endpoint string, fx planFixture) (absent, partial, complete []string) {
	t.Helper()
	for _, r := range fx.roles {
		diffs := verifyIAM(t, endpoint, []generator.Role{r})
		switch {
		case len(diffs) == 0:
			complete = append(complete, r.Name)
		case strings.Contains(diffs[0], "NoSuchEntity"):
			absent = append(absent, r.Name)
		default:
			partial = append(partial, r.Name)
		}
	}
	return absent, partial, complete
}

// interruptSummary describes the proxy's record, for logs.
func interruptSummary(reqs []faultproxy.Request, signalled time.Time) string {
	byAction := map[string]int{}
	var before, after int
	for _, r := range reqs {
		byAction[r.Action]++
		if r.Start.Before(signalled) {
			before++
		} else {
			after++
		}
	}
	keys := make([]string, 0, len(byAction))
	for k := range byAction {
		keys = append(keys, fmt.Sprintf("%s=%d", k, byAction[k]))
	}
	sort.Strings(keys)
	return fmt.Sprintf("%d requests (%d started before the signal, %d after): %s", len(reqs), before, after, strings.Join(keys, " "))
}

// TestInterruptApply: SIGTERM in the middle of the writes of a 40-role
// apply through a slow IAM (200 ms per call). The process starts no AWS
// call after the signal, exits 3 within 30 s, says on stderr it was
// interrupted and names in its summary every role it did not finish plus
// the command that finishes the job; no role exists without its owner tag;
// the rerun converges and `plan --detailed-exitcode` then exits 0.
func TestInterruptApply(t *testing.T) {
	moto := mototest.Start(t)
	fx := buildPlan(t, 40, "interrupt")
	proxy := interruptProxy(t, moto.Endpoint, 200*time.Millisecond)

	p := interruptStart(t, proxy.URL, "apply", "-f", fx.path)
	// Some roles are created (and, at 4 workers, others are half done).
	interruptWaitFor(t, p, proxy, "6 CreateRole calls answered", 60*time.Second, func(reqs []faultproxy.Request) bool {
		return interruptCompleted(reqs, "CreateRole") >= 6
	})
	signalled := p.signal(t, syscall.SIGTERM)
	exited := p.wait(interruptExitWithin)
	reqs := proxy.Requests()
	t.Logf("%s; iambind: %s, %s after SIGTERM", interruptSummary(reqs, signalled), p.state(), p.exitedAt.Sub(signalled).Round(time.Millisecond))
	stdout, stderr := p.stdout.String(), p.stderr.String()
	t.Logf("stdout:\n%s\nstderr:\n%s", tail(stdout), tail(stderr))
	if !exited {
		t.Errorf("iambind did not exit within %s of SIGTERM (killed)", interruptExitWithin)
	}
	if p.code != interruptExitCode {
		t.Errorf("%s after SIGTERM, want exit code %d (interrupted)", p.state(), interruptExitCode)
	}
	if late := interruptLateRequests(reqs, signalled); len(late) > 0 {
		t.Errorf("%d AWS request(s) started more than %s after SIGTERM, e.g. %s", len(late), interruptQuiet, strings.Join(late[:min(5, len(late))], ", "))
	}
	if !strings.Contains(strings.ToLower(stderr), "interrupted") {
		t.Errorf("stderr does not say the apply was interrupted:\n%s", tail(stderr))
	}
	interruptSettle(t, proxy)

	// The summary says what was not done: every role IAM does not hold as
	// planned is named, with the command that finishes the job.
	absent, partial, complete := interruptRoleStates(t, moto.Endpoint, fx)
	t.Logf("after the interrupt: %d roles complete, %d partly applied, %d absent", len(complete), len(partial), len(absent))
	if len(absent)+len(partial) == 0 {
		t.Fatalf("every role was applied before the signal took effect: the test interrupted nothing")
	}
	out := interruptReport(stdout) + stderr
	var unnamed []string
	for _, name := range append(append([]string{}, partial...), absent...) {
		if !strings.Contains(out, name) {
			unnamed = append(unnamed, name)
		}
	}
	if len(unnamed) > 0 {
		t.Errorf("the output does not name %d of the %d unfinished roles (partly applied: %v), e.g. %v",
			len(unnamed), len(absent)+len(partial), partial, unnamed[:min(5, len(unnamed))])
	}
	if rerun := "iambind apply -f " + fx.path; !strings.Contains(out, rerun) {
		t.Errorf("the output does not give the command that finishes the job (%q)", rerun)
	}
	// An interrupt is not a failure: nothing to fix, only to run again.
	if !strings.Contains(out, "Apply was interrupted before") || !strings.Contains(out, "To finish: run the same command again") || strings.Contains(out, "fix the cause") {
		t.Errorf("the summary should say the apply was interrupted, with nothing to fix:\n%s", tail(out))
	}
	if bad := untaggedRoles(t, moto.Endpoint); len(bad) > 0 {
		t.Errorf("roles without the owner tag after the interrupt: %v", bad)
	}

	// The operator (or the next Job) reruns the same apply.
	r := runCLI(t, context.Background(), moto.Endpoint, "apply", "-f", fx.path)
	if r.code != 0 {
		t.Fatalf("the rerun exited %d:\n%s\n%s", r.code, tail(r.stdout), tail(r.stderr))
	}
	converged(t, moto.Endpoint, fx) // verifyIAM, then plan --detailed-exitcode exits 0
}

// TestInterruptTwice: a second signal 100 ms after the first makes iambind
// exit 3 at once, although its calls in flight would take 5 s more (IAM
// slowed to 5 s per call right before the signals). The first is SIGINT
// (Ctrl-C at a terminal), the second SIGTERM: both count.
func TestInterruptTwice(t *testing.T) {
	moto := mototest.Start(t)
	fx := buildPlan(t, 20, "interrupt-twice")
	proxy := interruptProxy(t, moto.Endpoint, 100*time.Millisecond)

	p := interruptStart(t, proxy.URL, "apply", "-f", fx.path)
	interruptWaitFor(t, p, proxy, "2 CreateRole calls answered", 60*time.Second, func(reqs []faultproxy.Request) bool {
		return interruptCompleted(reqs, "CreateRole") >= 2
	})
	slowed := time.Now()
	proxy.SetFixedLatency(5 * time.Second)
	interruptWaitFor(t, p, proxy, "a call held 5 s by the proxy", 10*time.Second, func(reqs []faultproxy.Request) bool {
		for _, r := range reqs {
			if r.Start.After(slowed) && r.End.IsZero() {
				return true
			}
		}
		return false
	})
	first := p.signal(t, syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	second, secondSent := first, false
	if !p.exited() {
		second, secondSent = p.signal(t, syscall.SIGTERM), true
	} // else the first signal alone stopped it (abandoning its calls): allowed
	exited := p.wait(10 * time.Second)
	t.Logf("%s; iambind: %s, %s after SIGINT (SIGTERM sent 100 ms later: %v)\nstdout:\n%s\nstderr:\n%s", interruptSummary(proxy.Requests(), first),
		p.state(), p.exitedAt.Sub(first).Round(time.Millisecond), secondSent, tail(p.stdout.String()), tail(p.stderr.String()))
	if took := p.exitedAt.Sub(second); !exited || took > 3*time.Second {
		t.Errorf("iambind took %s to exit after the second signal (killed: %v), want at once (< 3 s)", took.Round(time.Millisecond), !exited)
	}
	if p.code != interruptExitCode {
		t.Errorf("%s after SIGINT then SIGTERM, want exit code %d (interrupted)", p.state(), interruptExitCode)
	}
	if late := interruptLateRequests(proxy.Requests(), first); len(late) > 0 {
		t.Errorf("AWS requests started after the signals: %v", late)
	}
	interruptSettle(t, proxy)
	if bad := untaggedRoles(t, moto.Endpoint); len(bad) > 0 {
		t.Errorf("roles without the owner tag after the interrupt: %v", bad)
	}
	if r := runCLI(t, context.Background(), moto.Endpoint, "apply", "-f", fx.path); r.code != 0 {
		t.Fatalf("the rerun exited %d:\n%s\n%s", r.code, tail(r.stdout), tail(r.stderr))
	}
	converged(t, moto.Endpoint, fx)
}

// interruptKubeconfig writes the admin credentials of a test API server.
func interruptKubeconfig(t *testing.T, s *kubetest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := s.WriteKubeconfig(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// interruptCreatePlans creates the fixture's plan ConfigMaps (what Argo CD
// or Flux apply from the rendered output) and returns ConfigMap
// "namespace/name" → role name.
func interruptCreatePlans(t *testing.T, s *kubetest.Server, fx planFixture) map[string]string {
	t.Helper()
	ctx := context.Background()
	data, err := os.ReadFile(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kubetest.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	// The rendered file is a ResourceList: its items are the objects.
	var items []any
	for _, o := range objs {
		if list, ok := o.Object["items"].([]any); ok && o.GetKind() == "ResourceList" {
			items = append(items, list...)
		}
	}
	applier, err := kubetest.NewApplier(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]string{}
	namespaces := map[string]bool{}
	for _, item := range items {
		m, _ := item.(map[string]any)
		obj := &unstructured.Unstructured{Object: m}
		if obj.GetKind() != "ConfigMap" || obj.GetLabels()[generator.LabelPlan] != generator.PlanRoleValue {
			continue
		}
		ann := obj.GetAnnotations()
		for k := range ann {
			if strings.HasPrefix(k, "config.kubernetes.io/") || strings.HasPrefix(k, "internal.config.kubernetes.io/") {
				delete(ann, k)
			}
		}
		obj.SetAnnotations(ann)
		if ns := obj.GetNamespace(); !namespaces[ns] {
			nsObj, _ := kubetest.Decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n"))
			if _, err := applier.Create(ctx, nsObj[0], false); err != nil {
				t.Fatal(err)
			}
			namespaces[ns] = true
		}
		if _, err := applier.Create(ctx, obj, false); err != nil {
			t.Fatal(err)
		}
		var role generator.Role
		raw, _, _ := unstructured.NestedString(obj.Object, "data", generator.PlanKeyRole)
		if err := json.Unmarshal([]byte(raw), &role); err != nil {
			t.Fatalf("ConfigMap %s/%s: role.json: %v", obj.GetNamespace(), obj.GetName(), err)
		}
		plans[obj.GetNamespace()+"/"+obj.GetName()] = role.Name
	}
	if len(plans) != len(fx.roles) {
		t.Fatalf("created %d plan ConfigMaps, want %d", len(plans), len(fx.roles))
	}
	return plans
}

// interruptStatuses reads iambind.dev/status and message of every plan ConfigMap.
func interruptStatuses(t *testing.T, client kubernetes.Interface) map[string][2]string {
	t.Helper()
	list, err := client.CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{LabelSelector: kube.PlanSelector})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for _, cm := range list.Items {
		out[cm.Namespace+"/"+cm.Name] = [2]string{cm.Annotations[kube.StatusAnnotation], cm.Annotations[kube.MessageAnnotation]}
	}
	return out
}

// interruptPendingRoles runs `plan --from-cluster -o json` straight against
// moto and returns, per planned role, whether it still has changes.
func interruptPendingRoles(t *testing.T, endpoint, kubeconfig string) map[string]bool {
	t.Helper()
	r := runCLI(t, context.Background(), endpoint, "plan", "--from-cluster", "--kubeconfig", kubeconfig, "-o", "json")
	if r.code != 0 {
		t.Fatalf("plan --from-cluster -o json: exit %d\n%s", r.code, tail(r.stderr))
	}
	var doc struct {
		Roles []struct {
			Name   string `json:"name"`
			Action string `json:"action"`
		} `json:"roles"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan --from-cluster -o json: %v\n%s", err, r.stdout)
	}
	pending := map[string]bool{}
	for _, role := range doc.Roles {
		switch role.Action {
		case "no-change":
			pending[role.Name] = false
		case "create", "update":
			pending[role.Name] = true
		default:
			t.Fatalf("plan --from-cluster -o json: role %s has action %q after an interrupted apply", role.Name, role.Action)
		}
	}
	return pending
}

// TestInterruptFromCluster: the in-cluster Job (`apply --from-cluster`)
// over 20 plan ConfigMaps on a real API server, through a slow IAM, gets
// SIGTERM (a node drain, a rollout) mid-apply. It exits 3; every plan
// whose role it did not finish says so on its ConfigMap (status Error, a
// message containing "interrupted"), every plan it finished is Synced; the
// next run makes every plan Synced and IAM equal to them.
func TestInterruptFromCluster(t *testing.T) {
	server := kubetest.StartT(t)
	moto := mototest.Start(t)
	kubeconfig := interruptKubeconfig(t, server)
	client, err := kubernetes.NewForConfig(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	fx := buildPlan(t, 20, "interrupt-cluster")
	plans := interruptCreatePlans(t, server, fx)

	proxy := interruptProxy(t, moto.Endpoint, 200*time.Millisecond)
	p := interruptStart(t, proxy.URL, "apply", "--from-cluster", "--kubeconfig", kubeconfig)
	// Some plans are finished by then, some half done, most not started.
	interruptWaitFor(t, p, proxy, "8 CreateRole calls answered", 60*time.Second, func(reqs []faultproxy.Request) bool {
		return interruptCompleted(reqs, "CreateRole") >= 8
	})
	signalled := p.signal(t, syscall.SIGTERM)
	exited := p.wait(interruptExitWithin)
	reqs := proxy.Requests()
	stdout, stderr := p.stdout.String(), p.stderr.String()
	t.Logf("%s; iambind: %s, %s after SIGTERM\nstdout:\n%s\nstderr:\n%s", interruptSummary(reqs, signalled), p.state(),
		p.exitedAt.Sub(signalled).Round(time.Millisecond), tail(stdout), tail(stderr))
	if !exited {
		t.Errorf("iambind did not exit within %s of SIGTERM (killed)", interruptExitWithin)
	}
	if p.code != interruptExitCode {
		t.Errorf("%s after SIGTERM, want exit code %d (interrupted)", p.state(), interruptExitCode)
	}
	if late := interruptLateRequests(reqs, signalled); len(late) > 0 {
		t.Errorf("%d AWS request(s) started more than %s after SIGTERM, e.g. %s", len(late), interruptQuiet, strings.Join(late[:min(5, len(late))], ", "))
	}
	if !strings.Contains(strings.ToLower(stderr), "interrupted") {
		t.Errorf("stderr does not say the apply was interrupted")
	}
	interruptSettle(t, proxy)
	if bad := untaggedRoles(t, moto.Endpoint); len(bad) > 0 {
		t.Errorf("roles without the owner tag after the interrupt: %v", bad)
	}

	// What IAM holds decides which plans were finished; a call abandoned
	// while IAM was doing it may have finished a role the process could not
	// know about, and only then may a finished plan say Error.
	pending := interruptPendingRoles(t, moto.Endpoint, kubeconfig)
	abandoned := map[string]bool{}
	for _, r := range reqs {
		if r.Abandoned && r.Forwarded {
			abandoned[r.RoleName] = true
		}
	}
	statuses := interruptStatuses(t, client)
	var unfinished, finished int
	for cm, role := range plans {
		st := statuses[cm]
		isPending, planned := pending[role]
		switch {
		case !planned:
			t.Errorf("ConfigMap %s: role %s is not in plan --from-cluster's output", cm, role)
		case isPending:
			unfinished++
			if st[0] != string(kube.Error) || !strings.Contains(st[1], "interrupted") {
				t.Errorf("ConfigMap %s (role %s, not finished): status %q message %q, want Error with a message saying interrupted", cm, role, st[0], st[1])
			}
		default:
			finished++
			if st[0] != string(kube.Synced) && !(abandoned[role] && st[0] == string(kube.Error) && strings.Contains(st[1], "interrupted")) {
				t.Errorf("ConfigMap %s (role %s, finished in IAM): status %q message %q, want Synced", cm, role, st[0], st[1])
			}
		}
	}
	t.Logf("after the interrupt: %d plans finished, %d not", finished, unfinished)
	if unfinished == 0 {
		t.Fatalf("every plan was applied before the signal took effect: the test interrupted nothing")
	}

	// The next Job run finishes the job.
	r := runCLI(t, context.Background(), moto.Endpoint, "apply", "--from-cluster", "--kubeconfig", kubeconfig)
	if r.code != 0 {
		t.Fatalf("the rerun exited %d:\n%s\n%s", r.code, tail(r.stdout), tail(r.stderr))
	}
	for cm, st := range interruptStatuses(t, client) {
		if st[0] != string(kube.Synced) || st[1] != "" {
			t.Errorf("ConfigMap %s after the rerun: status %q message %q, want Synced", cm, st[0], st[1])
		}
	}
	if r := runCLI(t, context.Background(), moto.Endpoint, "plan", "--from-cluster", "--kubeconfig", kubeconfig, "--detailed-exitcode"); r.code != 0 {
		t.Errorf("plan --from-cluster --detailed-exitcode after the rerun: exit %d\n%s\n%s", r.code, tail(r.stdout), tail(r.stderr))
	}
}

// interruptProxy is a recording proxy in front of moto that answers every
// call after latency: the slowed IAM the interrupt tests stop mid-apply.
func interruptProxy(t *testing.T, endpoint string, latency time.Duration) *faultproxy.Proxy {
	t.Helper()
	proxy, err := faultproxy.Start(endpoint, 1, faultproxy.Rates{FixedLatency: latency})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	proxy.Record()
	return proxy
}
