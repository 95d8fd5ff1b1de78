package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// delayFirstCollection is the collector's part of heapSetup.handBack alone:
// the goal raised, and the default back after the next collection.
func delayFirstCollection() {
	if raiseFirstGoal(debug.SetGCPercent(-1)) {
		restoreAfterNextCollection()
	}
}

// gogc reads GOGC without setting it (debug.SetGCPercent would race with
// the cleanup that restores it).
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// expectRaisedUntilNextCollection checks that GOGC is raised now, and back
// to the default once a collection has run.
func expectRaisedUntilNextCollection(t *testing.T, now string) {
	t.Helper()
	if got, want := gogc(), defaultGOGC*heapFloor/(4<<20); got != want {
		t.Fatalf("GOGC %s = %d, want %d", now, got, want)
	}
	runtime.GC()
	// Cleanups run on their own goroutine after the collection.
	for deadline := time.Now().Add(5 * time.Second); gogc() != defaultGOGC; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC after the next collection = %d, want %d", gogc(), defaultGOGC)
		}
	}
}

// The first collection waits for heapFloor, and every later one is paced by
// the default GOGC again.
func TestDelayFirstCollectionRestoresDefaultAfterFirstGC(t *testing.T) {
	old := debug.SetGCPercent(defaultGOGC)
	defer debug.SetGCPercent(old)

	delayFirstCollection()
	expectRaisedUntilNextCollection(t, "before the first collection")
}

// A GOGC the user chose is left alone.
func TestDelayFirstCollectionKeepsUsersGOGC(t *testing.T) {
	old := debug.SetGCPercent(50)
	defer debug.SetGCPercent(old)
	delayFirstCollection()
	if got := gogc(); got != 50 {
		t.Fatalf("GOGC = %d, want the user's 50", got)
	}
}

// A region handed back before the input is in raises the first goal (the
// collection that hands it back is the one that restores the default);
// one the input overtook is dropped without a collection.
func TestHandBackRaisesTheGoalOnlyBeforeTheInput(t *testing.T) {
	old := debug.SetGCPercent(defaultGOGC)
	defer debug.SetGCPercent(old)

	var h heapSetup
	region := make([]byte, 1<<20)
	h.region.Store(&region)
	h.done()
	h.handBack()
	if h.region.Load() != nil {
		t.Fatal("done left the region referenced")
	}
	if got := gogc(); got != defaultGOGC {
		t.Fatalf("GOGC after handing back a region the input overtook = %d, want %d (no raise)", got, defaultGOGC)
	}

	h = heapSetup{}
	h.region.Store(&region)
	h.handBack()
	if h.region.Load() != nil {
		t.Fatal("handBack left the region referenced")
	}
	// handBack's own collection ran before the sentinel existed: the raised
	// goal holds until the next one.
	expectRaisedUntilNextCollection(t, "after handing back the region")
}
