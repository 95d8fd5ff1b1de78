// Command scale measures `iambind apply` over many accounts under IAM's
// per-account rate limit (issue 15; docs/benchmarks.md "Organisation scale").
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
//	mode  kind  wall-s  ideal-s  calls  writes  throttled  peak-rss-KiB
//
// where calls are IAM operations (reads + writes, from iambind's JSON, per
// account), ideal = max over accounts of calls ÷ rate (accounts in
// parallel), and throttled = attempts the proxy answered Throttling.
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
	flag.Parse()
	if err := run(*bin, *accounts, *roles, *rate, strings.Split(*modes, ","), *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

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
		if err := apply(dir, bin, planFile, proxy, mode, "create", rate, concurrency); err != nil {
			return err
		}
		if i == 0 {
			if err := apply(dir, bin, planFile, proxy, mode, "no-op", rate, concurrency); err != nil {
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

func apply(dir, bin, planFile string, proxy *faultproxy.Proxy, mode, kind string, rate float64, concurrency int) error {
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
	t0 := time.Now()
	err = cmd.Run()
	wall := time.Since(t0)
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
	fmt.Printf("%s\t%s\t%.2f\t%.2f\t%d\t%d\t%d\t%d\n", mode, kind, wall.Seconds(), ideal,
		doc.IAMCalls.Reads+doc.IAMCalls.Writes, doc.IAMCalls.Writes, throttled, rss)
	return nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
