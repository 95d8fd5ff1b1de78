package krmstream_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/bench/synth"
	"github.com/iambind/iambind/internal/krmstream"
)

// BenchmarkStream reads and writes the 10k-resource synthetic stream, next
// to the SDK's parse and ToYAML of the same objects as a ResourceList (the
// pass-through floor of ResourceList mode).
//
//	go test ./internal/krmstream -run '^$' -bench . -benchmem
func BenchmarkStream(b *testing.B) {
	stream := synth.Stream(10_000, synth.Options{})
	rl := synth.ResourceList(10_000)
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := krmstream.Read(bytes.NewReader(stream)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			objs, err := krmstream.Read(bytes.NewReader(stream))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := krmstream.Write(io.Discard, objs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk-passthrough", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fn.Run(fn.ResourceListProcessorFunc(func(*fn.ResourceList) (bool, error) { return true, nil }), rl); err != nil {
				b.Fatal(err)
			}
		}
	})
}
