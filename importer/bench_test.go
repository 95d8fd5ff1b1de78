package importer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/iambind/iambind/importer"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/reconcile/iam"
)

// BenchmarkImport imports N roles, each referenced by one annotated
// ServiceAccount, and reports the IAM read calls per import. The model:
// bulk reads cost 2 paged calls per 1,000 roles of the account
// (GetAccountAuthorizationDetails, ListRoles) plus the cost model's
// question of the account's size when it asks; per-role reads cost 3 calls
// per role plus one per inline policy. With N = 1,000 the cost model picks
// bulk reads, and the import must read IAM in at most ⌈N/100⌉ + 3 calls.
//
//	go test -run '^$' -bench BenchmarkImport -benchtime 3x ./importer
func BenchmarkImport(b *testing.B) {
	const n = 1000
	srv := mototest.Start(b)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	admin := adminIAM(srv)
	createProviders(b, admin, issuer1)
	var sas strings.Builder
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make(chan error, n)
	for i := range n {
		name := fmt.Sprintf("app-%04d", i)
		sas.WriteString(annotatedSA("apps", name, name))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := createRoleErr(admin, roleSpec{name: name, trust: trust(oidcStatement(issuer1, eq(issuer1, "apps", name))), managed: []string{s3ReadOnly}}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	in := filepath.Join(b.TempDir(), "sas.yaml")
	if err := os.WriteFile(in, []byte(sas.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cfg, err := awsapi.LoadConfig(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, strategy := range []iam.ReadStrategy{iam.ReadAuto, iam.ReadPerRole} {
		name := string(strategy)
		if name == "" {
			name = "cost-model"
		}
		b.Run(name, func(b *testing.B) {
			var reads int64
			for i := 0; i < b.N; i++ {
				clients := awsapi.NewClientsFromConfig(cfg, awsapi.ClientOptions{EndpointURL: srv.Endpoint})
				out := filepath.Join(b.TempDir(), "out")
				rep, err := importer.Run(ctx, importer.Options{Out: out, Files: []string{in}, Concurrency: 8, Strategy: strategy, FunctionPath: "iambind-fn"},
					importer.Deps{IAM: clients.IAM, Calls: clients.Calls, Account: account, Partition: "aws"}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if got := rep.Count(importer.ClassExact); got != n {
					b.Fatalf("%d roles imported exactly, want %d", got, n)
				}
				reads = clients.Calls.Reads()
				if strategy == iam.ReadAuto && (rep.Reads.Strategy != string(iam.ReadBulk) || reads > (n+99)/100+3) {
					b.Fatalf("%s reads: %d IAM calls, want bulk reads in at most ⌈N/100⌉ + 3 = %d", rep.Reads.Strategy, reads, (n+99)/100+3)
				}
			}
			b.ReportMetric(float64(reads), "iam-reads/op")
		})
	}
}
