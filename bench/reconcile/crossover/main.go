// Command crossover measures the two ways iambind observes IAM — per-role
// reads (GetRole, ListAttachedRolePolicies, ListRolePolicies, GetRolePolicy
// per inline policy) and bulk reads (GetAccountAuthorizationDetails +
// ListRoles) — on the same no-op plan, for several plan sizes, in accounts
// that also hold many roles iambind does not manage. It prints one TSV line
// per (foreign roles, plan size, mode):
//
//	foreign  roles  mode  reads  median-wall-ms  walls-ms(comma-separated)
//
// Reads and wall time cover role observation only: the OIDC provider reads
// that follow are the same for every mode. Per-role mode is Observer.Observe
// forced to per-role reads (GetRole & co per planned role, then the listing
// of the plan's role path that finds owned roles left out of the plan), with
// the CLI's default concurrency; bulk mode is Observer.Observe with every
// role asked for (as --prune does); auto is Observer.Observe as plan and
// apply run it, the read cost model choosing (its GetAccountSummary, when
// it asks, included).
//
// It drives a moto server it is given (-endpoint): for each foreign count
// it resets moto, creates the foreign roles (each with an inline and an
// attached policy, so bulk pages carry realistic documents), applies every
// plan size's plan (each its own owner, role path and role names, so no
// plan sees another's roles as its own orphans) with the reconcile library,
// then times the modes interleaved. Credentials: moto's test keys from the environment.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	riam "github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/input"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iambind/iambind/bench/reconcile/benchplan"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile"
)

func main() {
	endpoint := flag.String("endpoint", "", "moto endpoint, http://127.0.0.1:PORT (it is reset)")
	sizes := flag.String("sizes", "1,2,3,5,10,50", "plan sizes (roles), comma-separated")
	foreign := flag.String("foreign", "0,500", "unrelated roles in the account, comma-separated")
	runs := flag.Int("runs", 5, "timed runs per mode and size (after one warm-up)")
	conc := flag.Int("concurrency", reconcile.DefaultConcurrency, "per-role read concurrency (the CLI's --concurrency)")
	flag.Parse()
	if *endpoint == "" {
		fmt.Fprintln(os.Stderr, "crossover: -endpoint is required")
		os.Exit(2)
	}
	if err := run(context.Background(), *endpoint, ints(*sizes), ints(*foreign), *runs, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "crossover:", err)
		os.Exit(1)
	}
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crossover: %q is not a number\n", f)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

func run(ctx context.Context, endpoint string, sizes, foreigns []int, runs, conc int) error {
	dir, err := os.MkdirTemp("", "crossover")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	planned := 0
	inputs := map[int]*input.Input{}
	for _, n := range sizes {
		in, err := benchInput(dir, n)
		if err != nil {
			return err
		}
		inputs[n] = in
		planned += n
	}
	chosen := map[[2]int]string{}
	for _, f := range foreigns {
		if err := reset(endpoint); err != nil {
			return err
		}
		clients, err := awsapi.NewClients(ctx, endpoint)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := createForeign(ctx, clients.IAM, f); err != nil {
			return err
		}
		for _, n := range sizes {
			if err := apply(ctx, clients.IAM, inputs[n]); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "   account: %d foreign + %d planned roles (set up in %.1f s)\n", f, planned, time.Since(start).Seconds())
		for _, n := range sizes {
			in := inputs[n]
			type mode struct {
				name  string
				read  func() (*riam.State, error)
				reads int64
				walls []float64
			}
			ob := &riam.Observer{IAM: clients.IAM, Concurrency: conc}
			perRole := &riam.Observer{IAM: clients.IAM, Concurrency: conc, Strategy: riam.ReadPerRole}
			modes := []*mode{
				{name: "per-role", read: func() (*riam.State, error) { return perRole.Observe(ctx, in, false) }},
				{name: "bulk", read: func() (*riam.State, error) { return ob.Observe(ctx, in, true) }},
				{name: "auto", read: func() (*riam.State, error) {
					auto := &riam.Observer{IAM: clients.IAM, Concurrency: conc}
					st, err := auto.Observe(ctx, in, false)
					chosen[[2]int{f, n}] = string(auto.Chosen)
					return st, err
				}},
			}
			for i := -1; i < runs; i++ { // i = -1: warm-up, not recorded
				for _, m := range modes {
					r0 := clients.Calls.Reads()
					t0 := time.Now()
					state, err := m.read()
					wall := time.Since(t0)
					if err != nil {
						return fmt.Errorf("%s, %d roles: %w", m.name, n, err)
					}
					if err := noChange(in, state); err != nil {
						return fmt.Errorf("%s, %d roles: %w", m.name, n, err)
					}
					if i >= 0 {
						m.reads = clients.Calls.Reads() - r0
						m.walls = append(m.walls, float64(wall.Microseconds())/1000)
					}
				}
			}
			for _, m := range modes {
				ws := make([]string, len(m.walls))
				for i, w := range m.walls {
					ws[i] = strconv.FormatFloat(w, 'f', 1, 64)
				}
				name := m.name
				if name == "auto" {
					name += ":" + chosen[[2]int{f, n}]
				}
				fmt.Printf("%d\t%d\t%s\t%d\t%.1f\t%s\n", f, n, name, m.reads, median(m.walls), strings.Join(ws, ","))
			}
		}
	}
	return nil
}

// input renders a plan of n roles and reads it as `iambind apply -f` does;
// each size has its own owner, role path and role names.
// The roles' OIDC providers are dropped: their reads are the same in both
// modes and not part of the comparison.
func benchInput(dir string, n int) (*input.Input, error) {
	data, err := benchplan.Render(n, benchplan.Options{Owner: fmt.Sprintf("bench%d", n),
		RolePath: fmt.Sprintf("/iambind-bench-%d/", n), Prefix: fmt.Sprintf("s%dx", n)})
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, fmt.Sprintf("plan-%d.yaml", n))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return nil, err
	}
	in, err := input.ReadInputs([]string{p}, nil)
	if err != nil {
		return nil, err
	}
	if len(in.Roles) != n {
		return nil, fmt.Errorf("plan of %d roles holds %d", n, len(in.Roles))
	}
	for _, r := range in.Roles {
		r.OIDCProviders = nil
	}
	return in, nil
}

// noChange checks that the observed state makes every planned role a no-op
// (both modes must see the same, converged IAM).
func noChange(in *input.Input, state *riam.State) error {
	plan, err := riam.Diff(in, state, riam.Options{})
	if err != nil {
		return err
	}
	if n := plan.Count(riam.KindNoChange); n != len(in.Roles) {
		return fmt.Errorf("observed state: %d of %d roles unchanged, want all", n, len(in.Roles))
	}
	return nil
}

func apply(ctx context.Context, c *iam.Client, in *input.Input) error {
	ob := &riam.Observer{IAM: c, Concurrency: 8}
	state, err := ob.Observe(ctx, in, false)
	if err != nil {
		return err
	}
	plan, err := riam.Diff(in, state, riam.Options{})
	if err != nil {
		return err
	}
	res := (&riam.Executor{IAM: c, Observer: ob, Concurrency: 8}).Apply(ctx, plan)
	if len(res.Errors) > 0 {
		return fmt.Errorf("applying the plan: %v", res.Errors)
	}
	return nil
}

// createForeign makes f roles iambind does not own, each with a trust
// policy, an inline policy and an attached AWS managed policy.
func createForeign(ctx context.Context, c *iam.Client, f int) error {
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	sem := make(chan struct{}, 8)
	errs := make([]error, f)
	var wg sync.WaitGroup
	for i := 0; i < f; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			name := aws.String(fmt.Sprintf("foreign-%05d", i))
			if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: name, Path: aws.String("/other-team/"),
				AssumeRolePolicyDocument: aws.String(trust), Description: aws.String("not managed by iambind")}); err != nil {
				errs[i] = err
				return
			}
			if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String("logs"),
				PolicyDocument: aws.String(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:PutLogEvents"],"Resource":"arn:aws:logs:*:*:log-group:g%05d:*"}]}`, i))}); err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: name,
				PolicyArn: aws.String("arn:aws:iam::aws:policy/" + benchplan.Managed[i%len(benchplan.Managed)])})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("creating foreign roles: %w", err)
		}
	}
	return nil
}

func reset(endpoint string) error {
	resp, err := http.Post(strings.TrimRight(endpoint, "/")+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: %s", resp.Status)
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
