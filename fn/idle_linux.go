package main

import "golang.org/x/sys/unix"

// lowerThreadPriority puts the calling thread in the SCHED_IDLE class: it
// runs only on a core nothing else wants. Unprivileged, and one way: such a
// thread cannot come back, so it is one that ends with its goroutine.
func lowerThreadPriority() {
	_ = unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0)
}
