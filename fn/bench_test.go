package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/bench/synth"
)

// BenchmarkStreamMode is iambind-fn's stream mode in process over the
// 10k-resource synthetic stream, next to the SDK pass-through of the same
// objects as a ResourceList (the floor of ResourceList mode). The goal
// (stream mode ≤ 1.0× the pass-through) is judged on whole processes by
// scripts/bench-stream.sh; this gives allocations and a profile.
//
//	go test ./fn -run '^$' -bench BenchmarkStreamMode -benchmem
func BenchmarkStreamMode(b *testing.B) {
	stream := synth.Stream(10_000, synth.Options{})
	rl := synth.ResourceList(10_000)
	b.Run("stream", benchmarkRun(stream))
	// With EKS Pod Identity injection on: every binding in mode
	// podIdentity, every workload injected (scripts/bench-stream.sh with
	// INJECT=1 POD_IDENTITY=1 judges the goal on whole processes).
	piStream := synth.Stream(10_000, synth.Options{Inject: true, PodIdentity: true})
	b.Run("stream-pod-identity-inject", benchmarkRun(piStream))
	b.Run("sdk-passthrough", benchmarkPassthrough(rl))
}

// benchmarkRun runs iambind-fn in process over input.
func benchmarkRun(input []byte) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if code := run(nil, bytes.NewReader(input), io.Discard, io.Discard); code != 0 {
				b.Fatalf("exit code %d", code)
			}
		}
	}
}

// benchmarkPassthrough runs a KRM function on the SDK that changes nothing
// over the ResourceList rl: the floor of ResourceList mode.
func benchmarkPassthrough(rl []byte) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fn.Run(fn.ResourceListProcessorFunc(func(*fn.ResourceList) (bool, error) { return true, nil }), rl); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTwoInlinePolicies is iambind-fn in ResourceList mode over 10k
// resources whose bindings have two inline policies each, so the policy
// lint checks two documents a role, next to the SDK pass-through of the
// same input. The goal (≤ 1.0× the pass-through with lint on) is judged on
// whole processes: TWO_INLINE=1 scripts/bench-fn.sh.
//
//	go test ./fn -run '^$' -bench BenchmarkTwoInlinePolicies -benchmem
func BenchmarkTwoInlinePolicies(b *testing.B) {
	rl := synth.ResourceListWith(10_000, synth.Options{TwoInline: true})
	b.Run("iambind-fn", benchmarkRun(rl))
	b.Run("sdk-passthrough", benchmarkPassthrough(rl))
}
