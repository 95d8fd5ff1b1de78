package input

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/iambind/iambind/bench/reconcile/benchplan"
)

// benchPlans caches the rendered plans per size: rendering 10,000 bindings
// through the generator takes seconds and is not what is measured.
var benchPlans sync.Map

func benchPlanFile(b *testing.B, n int) string {
	b.Helper()
	if p, ok := benchPlans.Load(n); ok {
		return p.(string)
	}
	data, err := benchplan.Render(n, benchplan.Options{})
	if err != nil {
		b.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "iambind-readbench")
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		b.Fatal(err)
	}
	benchPlans.Store(n, p)
	return p
}

// BenchmarkReadPlan10k reads the 10,000-role plan (≈ 52 MB of YAML, one
// ResourceList as iambind-fn renders it) as `iambind apply -f` does; the
// memory that matters is the peak, which -benchmem's total does not show:
// see scripts/bench-scale.sh for the process's peak RSS.
func BenchmarkReadPlan10k(b *testing.B) { benchmarkReadPlan(b, 10000) }

// BenchmarkReadPlan1k is the same at 1,000 roles.
func BenchmarkReadPlan1k(b *testing.B) { benchmarkReadPlan(b, 1000) }

func benchmarkReadPlan(b *testing.B, n int) {
	p := benchPlanFile(b, n)
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		in, err := ReadInputs([]string{p}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(in.Roles) != n {
			b.Fatalf("%d roles, want %d", len(in.Roles), n)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-kept")
		runtime.KeepAlive(in)
	}
}
