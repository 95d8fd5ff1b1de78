package main

import (
	"bytes"
	"os"

	"golang.org/x/sys/unix"
)

// backWithHugePages asks the kernel for transparent huge pages on the next
// size bytes of the heap, when its setting is "madvise" (THP only for
// memory that asks: Debian's and most distributions' default, and what the
// Go runtime no longer asks for by itself). It allocates a region of that
// size, marks it, faults in its first prefault bytes (one write per huge
// page), and drops it; the caller's collection hands it back to the heap,
// whose next allocations are placed there, and each first touch of a 2 MiB
// stretch faults in the whole stretch at once. It reports whether it did:
// with "always" every region gets huge pages anyway, with "never" none can.
func backWithHugePages(size, prefault int) bool {
	setting, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(setting, []byte("[madvise]")) {
		return false
	}
	region := make([]byte, size)
	if unix.Madvise(region, unix.MADV_HUGEPAGE) != nil {
		return false
	}
	for i := 0; i < min(prefault, size); i += 2 << 20 {
		region[i] = 1
	}
	return true
}
