// Command scale measures `iambind apply` over many accounts under IAM's
// per-account rate limit (docs/benchmarks.md "Organisation scale").
//
// It starts one moto_server per account (the first account is moto's
// default 123456789012, the caller's own; the others run with
// MOTO_ACCOUNT_ID and are reached through sts:AssumeRole, as iambind does with
// --assume-role), puts internal/faultproxy in front of them with a token
// bucket of -rate IAM calls/s per account (burst = one second) answering
// Throttling, renders -roles roles spread evenly over the accounts through
// the real generator, and runs the built iambind binary:
//
//   - apply from empty, once per limiter mode (moto reset before each),
//   - a no-op apply with the first mode.
//
// For each run it prints one TSV line:
//
//	mode  kind  wall-s  ideal-s  calls  writes  throttled  peak-rss-KiB  iam-s  cpu-iambind-s  cpu-moto-s  cpu-proxy-s
//
// where calls are IAM operations (reads + writes, from iambind's JSON, per
// account), ideal = max over accounts of calls ÷ rate (accounts in
// parallel), throttled = attempts the proxy answered Throttling, and iam-s
// the IAM phase: the longest span, over accounts, from the second of an
// account's first IAM request to that of its last (the wall time without
// process start-up, plan reading and STS), and the cpu columns the CPU time
// (user + system) of the iambind process, of the moto servers and of this
// process (the proxy) during the run: the machine's cores bound the pace
// too. -trace prints each account's
// requests per second (admitted/throttled) to stderr.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iambind/iambind/bench/reconcile/benchplan"
	"github.com/iambind/iambind/internal/faultproxy"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == rssWrapArg {
		os.Exit(wrapMain(os.Args[2:]))
	}
	bin := flag.String("bin", "bin/iambind", "the iambind binary")
	accounts := flag.Int("accounts", 5, "accounts (the first is the caller's own)")
	roles := flag.Int("roles", 500, "roles in total, spread evenly over the accounts")
	rate := flag.Float64("rate", 20, "IAM calls per second per account the proxy allows")
	modes := flag.String("modes", "aimd,aimd-rate,sdk-adaptive,none", "limiter modes: aimd (no --rate), aimd-rate (--rate = the proxy's), sdk-adaptive, none")
	concurrency := flag.Int("concurrency", 4, "iambind --concurrency")
	flag.BoolVar(&trace, "trace", false, "print each account's IAM requests per second to stderr")
	flag.Parse()
	if err := run(*bin, *accounts, *roles, *rate, strings.Split(*modes, ","), *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

var trace bool

type moto struct {
	endpoint string
	cmd      *exec.Cmd
}

func startMoto(account string) (*moto, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	m := &moto{endpoint: "http://127.0.0.1:" + strconv.Itoa(port)}
	m.cmd = exec.Command("moto_server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true", "MOTO_ACCOUNT_ID="+account)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	for range 300 {
		if resp, err := http.Get(m.endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			return m, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.stop()
	return nil, fmt.Errorf("moto_server for %s did not answer", account)
}

func (m *moto) stop() {
	if m.cmd.Process != nil {
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
		m.cmd.Wait()
	}
}

func (m *moto) reset() error {
	resp, err := http.Post(m.endpoint+"/moto-api/reset", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func accountID(i int) string {
	if i == 0 {
		return "123456789012"
	}
	return fmt.Sprintf("%012d", 100000000000+i)
}

func run(bin string, nAccounts, nRoles int, rate float64, modes []string, concurrency int) error {
	dir, err := os.MkdirTemp("", "bench-scale")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var motos []*moto
	defer func() {
		for _, m := range motos {
			m.stop()
		}
	}()
	backends := map[string]string{}
	for i := range nAccounts {
		m, err := startMoto(accountID(i))
		if err != nil {
			return err
		}
		motos = append(motos, m)
		if i > 0 {
			backends[accountID(i)] = m.endpoint
		}
	}
	proxy, err := faultproxy.Start(motos[0].endpoint, 1, faultproxy.Rates{})
	if err != nil {
		return err
	}
	defer proxy.Close()
	if err := proxy.SetAccounts(faultproxy.Accounts{Rate: rate, Burst: max(1, int(rate)), DefaultAccount: accountID(0), Backends: backends}); err != nil {
		return err
	}

	var plan bytes.Buffer
	for i := range nAccounts {
		n := nRoles / nAccounts
		if i < nRoles%nAccounts {
			n++
		}
		data, err := benchplan.Render(n, benchplan.Options{Account: accountID(i)})
		if err != nil {
			return err
		}
		if i > 0 {
			plan.WriteString("---\n")
		}
		plan.Write(data)
	}
	planFile := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(planFile, plan.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "   %d roles over %d accounts (one moto each), %.0f IAM calls/s per account, plan %d KiB\n",
		nRoles, nAccounts, rate, plan.Len()/1024)

	for i, mode := range modes {
		for _, m := range motos {
			if err := m.reset(); err != nil {
				return err
			}
		}
		if err := apply(dir, bin, planFile, proxy, motos, mode, "create", rate, concurrency); err != nil {
			return err
		}
		if i == 0 {
			if err := apply(dir, bin, planFile, proxy, motos, mode, "no-op", rate, concurrency); err != nil {
				return err
			}
		}
	}
	return nil
}

type jsonDoc struct {
	IAMCalls struct{ Reads, Writes, Retries int64 } `json:"iamCalls"`
	Result   *struct {
		Created, Unchanged int
		Errors             []string
	} `json:"result"`
	Accounts []struct {
		Account  string
		IAMCalls struct{ Reads, Writes, Retries int64 } `json:"iamCalls"`
	} `json:"accounts"`
}

// cpuTicks is the CPU time (user + system, clock ticks) of a process and
// its waited-for children, from /proc (0 where /proc is missing).
func cpuTicks(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): state is 3rd.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	var t int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		n, _ := strconv.ParseInt(f[i], 10, 64)
		t += n
	}
	return t
}

func motoTicks(motos []*moto) int64 {
	var t int64
	for _, m := range motos {
		t += cpuTicks(m.cmd.Process.Pid)
	}
	return t
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func apply(dir, bin, planFile string, proxy *faultproxy.Proxy, motos []*moto, mode, kind string, rate float64, concurrency int) error {
	args := []string{"apply", "-f", planFile, "--endpoint-url", proxy.URL, "-o", "json",
		"--assume-role", "arn:{partition}:iam::{account}:role/iambind", "--concurrency", strconv.Itoa(concurrency)}
	switch mode {
	case "aimd":
	case "aimd-rate":
		args = append(args, "--rate", strconv.FormatFloat(rate, 'f', -1, 64))
	case "sdk-adaptive", "none":
		args = append(args, "--limiter", mode)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	before := proxy.AccountCounts()
	var stdout, stderr bytes.Buffer
	cmd, peak, err := measuredCommand(dir, bin, args...)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	m0, p0 := motoTicks(motos), selfCPU()
	t0 := time.Now()
	err = cmd.Run()
	wall := time.Since(t0)
	motoCPU := float64(motoTicks(motos)-m0) / 100 // USER_HZ
	proxyCPU := (selfCPU() - p0).Seconds()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", mode, kind, err, tail(stderr.String()))
	}
	var doc jsonDoc
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		return fmt.Errorf("%s %s: output: %v", mode, kind, err)
	}
	var ideal float64
	for _, a := range doc.Accounts {
		ideal = max(ideal, float64(a.IAMCalls.Reads+a.IAMCalls.Writes)/rate)
	}
	var throttled int64
	for acct, c := range proxy.AccountCounts() {
		throttled += c.Throttled - before[acct].Throttled
	}
	rss, err := peak()
	if err != nil {
		return err
	}
	var phase int64
	for _, a := range doc.Accounts {
		var secs []faultproxy.SecondCount
		for _, sc := range proxy.AccountSeconds(a.Account) {
			if sc.Unix >= t0.Unix() {
				secs = append(secs, sc)
			}
		}
		if len(secs) == 0 {
			continue
		}
		phase = max(phase, secs[len(secs)-1].Unix-secs[0].Unix+1)
		if trace {
			var b strings.Builder
			var n int64
			var lat time.Duration
			for _, sc := range secs {
				fmt.Fprintf(&b, " %d/%d", sc.Admitted, sc.Throttled)
				n, lat = n+sc.Admitted, lat+sc.Latency
			}
			// Little's law: keeping rate calls/s in flight takes rate × latency workers.
			mean := lat / time.Duration(max(n, 1))
			fmt.Fprintf(os.Stderr, "   %s %s %s: mean IAM latency %v (%.1f workers busy at %.0f calls/s); admitted/throttled per second:%s\n",
				mode, kind, a.Account, mean.Round(time.Millisecond), rate*mean.Seconds(), rate, b.String())
		}
	}
	ps := cmd.ProcessState
	fmt.Printf("%s\t%s\t%.2f\t%.2f\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\n", mode, kind, wall.Seconds(), ideal,
		doc.IAMCalls.Reads+doc.IAMCalls.Writes, doc.IAMCalls.Writes, throttled, rss, phase,
		(ps.UserTime() + ps.SystemTime()).Seconds(), motoCPU, proxyCPU)
	return nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
