package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// stdin's pipe grows to stdinPipeSize, and prepareStdin tells an empty pipe
// (a producer still working) from one with input waiting.
func TestPrepareStdinGrowsThePipeAndSeesPendingInput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	saved := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = saved }()

	if !prepareStdin() {
		t.Fatal("prepareStdin() = false on an empty pipe, want true (nothing to read yet)")
	}
	if max, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(max))); n >= stdinPipeSize {
			if got, err := unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0); err != nil || got < stdinPipeSize {
				t.Fatalf("pipe buffer = %d (%v), want %d", got, err, stdinPipeSize)
			}
		}
	}
	if _, err := w.WriteString("apiVersion: v1\n"); err != nil {
		t.Fatal(err)
	}
	if prepareStdin() {
		t.Fatal("prepareStdin() = true with input waiting, want false")
	}
}
