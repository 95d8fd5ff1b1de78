package main

import (
	"bytes"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The region asks for huge pages where the kernel gives them on request,
// and prefault makes its pages resident in one call.
func TestHugePageRegionAndPrefault(t *testing.T) {
	setting, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(setting, []byte("[madvise]")) {
		if region := hugePageRegion(4 << 20); region != nil {
			t.Fatalf("a region without transparent huge pages on request (%q)", setting)
		}
		t.Skipf("transparent huge pages are not given on request here (%q)", setting)
	}
	const size = 64 << 20
	region := hugePageRegion(size)
	if len(region) != size {
		t.Fatalf("hugePageRegion(%d) = %d bytes", size, len(region))
	}
	prefault(region[:size/2])
	// mincore(2) tells which pages are resident without touching them. A
	// large object starts a span of the heap: page-aligned, as it wants.
	half := region[:size/2]
	vec := make([]byte, len(half)/os.Getpagesize())
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&half[0])), uintptr(len(half)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	missing := 0
	for _, v := range vec {
		if v&1 == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of the %d pages prefaulted are not resident", missing, len(vec))
	}
	runtime.KeepAlive(region)
}
