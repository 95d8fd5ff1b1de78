package generator_test

// Benchmarks of the function on synthetic streams: n resources, one
// in ten an IdentityBinding with 2 ServiceAccounts, a managed and an inline
// policy, the rest Deployments, Services, ConfigMaps and ServiceAccounts (see
// bench/synth). Run with
//
//	go test ./generator -run '^$' -bench . -benchmem
//
// make bench (scripts/bench-fn.sh) measures the built binary as a whole
// process against a pass-through function; docs/benchmarks.md has the figures.

import (
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/bench/synth"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/krmout"
)

var benchSizes = []int{1_000, 10_000, 50_000}

func sizeName(n int) string { return fmt.Sprintf("%dk", n/1000) }

var (
	inputsMu sync.Mutex
	inputs   = map[int][]byte{}
)

// input returns the synthetic ResourceList of n resources, built once.
func input(b *testing.B, n int) []byte {
	b.Helper()
	inputsMu.Lock()
	defer inputsMu.Unlock()
	if in, ok := inputs[n]; ok {
		return in
	}
	in := synth.ResourceList(n)
	inputs[n] = in
	return in
}

func parse(b *testing.B, in []byte) *fn.ResourceList {
	b.Helper()
	rl, err := fn.ParseResourceList(in)
	if err != nil {
		b.Fatal(err)
	}
	return rl
}

// BenchmarkGenerate times the expansion alone. Generate annotates the
// ServiceAccounts and bindings of its input in place, so every iteration gets
// a freshly parsed stream, parsed with the timer stopped.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			in := input(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				rl := parse(b, in)
				b.StartTimer()
				out := generator.Generate(rl.Items, rl.FunctionConfig)
				if out.Problems.HasErrors() {
					b.Fatalf("synthetic input has errors: %v", out.Problems.Errors())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/resource")
		})
	}
}

// BenchmarkResourceList times what the iambind-fn binary does between reading
// stdin and writing stdout (fn.ParseResourceList, Process, krmout.Write),
// next to the SDK's own path with a processor that does nothing and ToYAML
// (bench/passthrough): the floor for any KRM function on the SDK.
func BenchmarkResourceList(b *testing.B) {
	processors := []struct {
		name string
		p    func(*fn.ResourceList) (bool, error)
	}{
		{"iambind", generator.Process},
		{"passthrough", passThrough},
	}
	for _, p := range processors {
		for _, n := range benchSizes {
			b.Run(p.name+"/"+sizeName(n), func(b *testing.B) {
				in := input(b, n)
				b.ReportAllocs()
				b.SetBytes(int64(len(in)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rl := parse(b, in)
					ok, err := p.p(rl)
					if !ok || err != nil {
						b.Fatalf("processor failed: %v %v", err, rl.Results)
					}
					writeOutput(b, rl, p.name == "passthrough")
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/resource")
			})
		}
	}
}

func passThrough(*fn.ResourceList) (bool, error) { return true, nil }

// writeOutput serialises rl as the binary under test does: the pass-through
// with the SDK's ToYAML, iambind-fn with krmout.Write (the same bytes).
func writeOutput(b *testing.B, rl *fn.ResourceList, sdk bool) {
	if sdk {
		if _, err := rl.ToYAML(); err != nil {
			b.Fatal(err)
		}
		return
	}
	if err := krmout.Write(io.Discard, rl); err != nil {
		b.Fatal(err)
	}
}
