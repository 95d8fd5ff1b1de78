package main

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// atIdlePriority runs its work on a SCHED_IDLE thread, and lowers no other.
func TestAtIdlePriorityLowersOnlyItsOwnThread(t *testing.T) {
	policy := func() uint32 {
		attr, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			t.Errorf("sched_getattr: %v", err) // not Fatal: called on other goroutines too
		}
		return attr.Policy
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := policy()

	got := make(chan uint32)
	atIdlePriority(func() { got <- policy() })
	if p := <-got; p != unix.SCHED_IDLE {
		t.Fatalf("policy of the lowered thread = %d, want SCHED_IDLE (%d)", p, unix.SCHED_IDLE)
	}
	if p := policy(); p != before {
		t.Fatalf("policy of this thread changed from %d to %d", before, p)
	}
	// The lowered thread ended with its work: no other goroutine runs on it.
	for range 100 {
		go func() { got <- policy() }()
		if p := <-got; p == unix.SCHED_IDLE {
			t.Fatal("a goroutine ran on the lowered thread after its work")
		}
	}
}
