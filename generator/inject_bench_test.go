package generator_test

import (
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/bench/synth"
	"github.com/iambind/iambind/generator"
)

// BenchmarkResourceListInject is BenchmarkResourceList with injection on for
// every workload (synth.Options.Inject: 3 Deployments in 10 resources get the
// token volume and AWS env), next to the pass-through floor on the same input.
//
//	go test ./generator -run '^$' -bench ResourceListInject -benchmem
func BenchmarkResourceListInject(b *testing.B) {
	for _, p := range []struct {
		name string
		p    func(*fn.ResourceList) (bool, error)
	}{
		{"iambind", generator.Process},
		{"passthrough", passThrough},
	} {
		b.Run(p.name+"/10k", func(b *testing.B) {
			in := synth.ResourceListWith(10_000, synth.Options{Inject: true})
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rl := parse(b, in)
				if ok, err := p.p(rl); !ok || err != nil {
					b.Fatalf("processor failed: %v %v", err, rl.Results)
				}
				writeOutput(b, rl, p.name == "passthrough")
			}
		})
	}
}
