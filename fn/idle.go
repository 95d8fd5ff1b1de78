package main

import "runtime"

// atIdlePriority runs f on a thread of its own at the system's idle
// priority (SCHED_IDLE on Linux), which gets a core only when nothing else
// wants one: work done ahead while stdin waits for a producer, which would
// otherwise take a core from the producer.
//
// Such a thread may wait long for a core, so f must hold nothing the rest
// of the process waits for. It may hold one of the Go scheduler's
// processors while it waits (a collection's stop of the world waits for it
// too, until the process's other threads have stopped and freed a core):
// fine while the process waits for its input, which is when it is used.
func atIdlePriority(f func()) {
	go func() {
		// Never unlocked: the thread ends with this goroutine, and its
		// priority with it (an unprivileged thread cannot come back from
		// SCHED_IDLE).
		runtime.LockOSThread()
		lowerThreadPriority()
		f()
	}()
}
