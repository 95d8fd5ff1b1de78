package main

import (
	"bytes"
	"os"
	"syscall"
)

// backWithHugePages asks the kernel for transparent huge pages on the next
// size bytes of the heap, when its setting is "madvise" (THP only for
// memory that asks: Debian's and most distributions' default, and what the
// Go runtime no longer asks for by itself). It allocates a region of that
// size, marks it, and drops it; the caller's collection hands it back to
// the heap, whose next allocations are placed there, and each first touch
// of a 2 MiB stretch faults in the whole stretch at once. It reports
// whether it did: with "always" every region gets huge pages anyway, with
// "never" none can.
func backWithHugePages(size int) bool {
	setting, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(setting, []byte("[madvise]")) {
		return false
	}
	region := make([]byte, size)
	return syscall.Madvise(region, syscall.MADV_HUGEPAGE) == nil
}
