package main

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// iambind-fn is one short process, and on the virtual machines CI systems
// and build agents run on, what a short process pays most for is not its
// work but its memory: every 4 KiB page of heap it touches for the first
// time is a page fault, about 10 µs there, and a 1,000-object stream
// touches some 10,000 pages, as long as its whole expansion takes. In a
// pipe (`kustomize build | iambind-fn`) that cost comes after the producer
// is done, which is where a user waits for it. When stdin has nothing to
// read yet (a producer is still working), three settings made while it
// works take most of it away (docs/benchmarks.md has the figures):
//
//   - the first heapFloor bytes of the heap are backed by transparent huge
//     pages where the kernel offers them on request (heap_linux.go): one
//     fault per 2 MiB instead of one per 4 KiB;
//   - the first prefaultSize bytes of them are faulted in ahead;
//   - the collector first runs when the heap reaches heapFloor, then paces
//     itself as usual: a small input is expanded without a collection, a
//     large one as before.
//
// The producer and iambind-fn share the machine's cores, and the set-up's
// CPU (mostly the kernel zeroing the pages faulted in) would be taken from
// the producer: it runs at the system's idle priority (idle.go).
//
// Input that is there already (a file, a ResourceList kustomize or kpt has
// written) leaves nothing to hide the set-up behind, and a large one would
// pay for it in memory (huge pages are resident whole): the runtime's
// defaults stay.

// heapFloor is the heap a run may grow to before its first collection: what
// a stream of a few thousand objects allocates in all.
const heapFloor = 128 << 20

// prefaultSize is what a run waiting for its input faults in ahead: what a
// 1,000-object stream uses, and the resident memory of every such run.
const prefaultSize = 64 << 20

// defaultGOGC is the runtime's GOGC when the environment sets none.
const defaultGOGC = 100

// A heapSetup prepares the heap while stdin is waited for.
type heapSetup struct {
	region    atomic.Pointer[[]byte] // the huge-page region, until it is handed back to the heap
	inputRead atomic.Bool            // the input is in: a collection now would cost the run time
}

// start makes the settings when stdin is waiting for a producer. It is for
// the process's main: tests and benchmarks that call run in process keep
// the runtime's defaults.
//
// Only the kernel's work is done at idle priority, in one system call (a
// thread in a system call holds nothing the rest of the process may wait
// for); the collection that follows runs at the usual priority.
func (h *heapSetup) start(waiting bool) {
	if !waiting {
		return
	}
	region := hugePageRegion(heapFloor)
	if region == nil {
		return
	}
	h.region.Store(&region)
	atIdlePriority(func() {
		if r := h.region.Load(); r != nil {
			prefault((*r)[:prefaultSize])
		}
		go h.handBack()
	})
}

// done tells the set-up that the input has been read: what it has not done
// by then is not worth doing.
func (h *heapSetup) done() {
	h.inputRead.Store(true)
	h.region.Store(nil) // freed by whichever collection comes next
}

// handBack drops the region and collects, which hands it back to the heap,
// where the run's objects reuse it. The goal is raised before: the
// runtime's scavenger gives free memory above the last collection's goal
// back to the system, and would give back the region while stdin is waited
// for.
func (h *heapSetup) handBack() {
	if h.region.Swap(nil) == nil || h.inputRead.Load() {
		return
	}
	if raiseFirstGoal(debug.SetGCPercent(-1)) {
		runtime.GC()
		restoreAfterNextCollection()
	}
}

// raiseFirstGoal sets the collector's goal to heapFloor (its minimum heap is
// 4 MiB at the default GOGC of 100, and scales with GOGC) and reports
// whether it did. A GOGC set by the user, or off, is theirs to decide: it
// is put back as it was.
func raiseFirstGoal(gogc int) bool {
	if gogc != defaultGOGC {
		debug.SetGCPercent(gogc)
		return false
	}
	debug.SetGCPercent(defaultGOGC * heapFloor / (4 << 20))
	return true
}

// restoreAfterNextCollection puts the default GOGC back once the next
// collection has run, so that a large input is collected as it would be
// without the raised goal.
func restoreAfterNextCollection() {
	// The sentinel becomes unreachable now; the next collection finds it.
	sentinel := new([64]byte) // not a tiny allocation, whose cleanup could wait for its neighbours
	runtime.AddCleanup(sentinel, func(int) { debug.SetGCPercent(defaultGOGC) }, 0)
}
