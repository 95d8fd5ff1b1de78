package krmout_test

import (
	"io"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/bench/synth"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/krmout"
)

// BenchmarkWrite writes iambind's output for 10k resources with injection on
// (parsing and processing run with the timer stopped), next to the SDK's
// ToYAML of the same list.
//
//	go test ./internal/krmout -run '^$' -bench . -benchmem
func BenchmarkWrite(b *testing.B) {
	in := synth.ResourceListWith(10_000, synth.Options{Inject: true})
	prepare := func() *fn.ResourceList {
		rl, err := fn.ParseResourceList(in)
		if err != nil {
			b.Fatal(err)
		}
		if ok, err := generator.Process(rl); !ok || err != nil {
			b.Fatalf("Process: %v %v", ok, err)
		}
		return rl
	}
	b.Run("krmout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			rl := prepare()
			b.StartTimer()
			if err := krmout.Write(io.Discard, rl); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			rl := prepare()
			b.StartTimer()
			if _, err := rl.ToYAML(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
