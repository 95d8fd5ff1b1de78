package main

import (
	"runtime"
	"runtime/debug"
)

// iambind-fn is one short process, and on the virtual machines CI systems
// and build agents run on, what a short process pays most for is not its
// work but its memory: every 4 KiB page of heap it touches for the first
// time is a page fault, about 10 µs there, and a 1,000-object stream
// touches some 10,000 pages, as long as its whole expansion takes. In a
// pipe (`kustomize build | iambind-fn`) that cost comes after the producer
// is done, which is where a user waits for it. Two settings, made once at
// start-up, take most of it away (docs/benchmarks.md has the figures):
//
//   - the first heapFloor bytes of the heap are backed by transparent huge
//     pages where the kernel offers them on request (heap_linux.go): one
//     fault per 2 MiB instead of one per 4 KiB;
//   - the collector first runs when the heap reaches heapFloor, then paces
//     itself as usual: a small input is expanded without a collection, a
//     large one as before.

// heapFloor is the heap a run may grow to before its first collection: what
// a stream of a few thousand objects allocates in all.
const heapFloor = 128 << 20

// prepareHeap makes both settings. It is for the process's main: tests and
// benchmarks that call run in process keep the runtime's defaults.
func prepareHeap() {
	// No collection while the region is allocated: only the one that
	// hands it back to the heap, where the run's objects reuse it.
	gogc := debug.SetGCPercent(-1)
	backed := backWithHugePages(heapFloor)
	debug.SetGCPercent(gogc)
	if backed {
		runtime.GC()
	}
	delayFirstCollection()
}

// delayFirstCollection sets the collector's goal to heapFloor (its minimum
// heap is 4 MiB at the default GOGC of 100, and scales with GOGC), and puts
// the default back once the first collection has run, so that a large input
// is collected as it would be without this.
func delayFirstCollection() {
	const defaultGOGC = 100
	old := debug.SetGCPercent(defaultGOGC * heapFloor / (4 << 20))
	if old != defaultGOGC {
		// GOGC set by the user, or off: theirs to decide.
		debug.SetGCPercent(old)
		return
	}
	// The sentinel becomes unreachable now; the first collection finds it.
	sentinel := new([64]byte) // not a tiny allocation, whose cleanup could wait for its neighbours
	runtime.AddCleanup(sentinel, func(int) { debug.SetGCPercent(defaultGOGC) }, 0)
}
