package main

import (
	"bytes"
	"os"

	"golang.org/x/sys/unix"
)

// hugePageRegion asks the kernel for transparent huge pages on the next
// size bytes of the heap, when its setting is "madvise" (THP only for
// memory that asks: Debian's and most distributions' default, and what the
// Go runtime no longer asks for by itself). It allocates a region of that
// size and marks it; once a collection has handed it back to the heap, the
// heap's next allocations are placed there, and each first touch of a
// 2 MiB stretch faults in the whole stretch at once. It returns nil where
// that cannot be had: with "always" every region gets huge pages anyway,
// with "never" none can.
func hugePageRegion(size int) []byte {
	setting, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(setting, []byte("[madvise]")) {
		return nil
	}
	region := make([]byte, size)
	if unix.Madvise(region, unix.MADV_HUGEPAGE) != nil {
		return nil
	}
	return region
}

// prefault faults in the pages of b in one system call (Linux 5.14 and
// later; older kernels fault them in as they are touched).
func prefault(b []byte) {
	_ = unix.Madvise(b, unix.MADV_POPULATE_WRITE)
}
