package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// The first collection waits for heapFloor, and every later one is paced by
// the default GOGC again.
func TestDelayFirstCollectionRestoresDefaultAfterFirstGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	delayFirstCollection()
	if got, want := debug.SetGCPercent(-1), 100*heapFloor/(4<<20); got != want {
		t.Fatalf("GOGC before the first collection = %d, want %d", got, want)
	}
	debug.SetGCPercent(100 * heapFloor / (4 << 20))
	runtime.GC()
	// Cleanups run on their own goroutine after the collection.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := debug.SetGCPercent(-1)
		debug.SetGCPercent(got)
		if got == 100 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC after the first collection = %d, want 100", got)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// A GOGC the user chose is left alone.
func TestDelayFirstCollectionKeepsUsersGOGC(t *testing.T) {
	old := debug.SetGCPercent(50)
	defer debug.SetGCPercent(old)
	delayFirstCollection()
	if got := debug.SetGCPercent(old); got != 50 {
		t.Fatalf("GOGC = %d, want the user's 50", got)
	}
}
