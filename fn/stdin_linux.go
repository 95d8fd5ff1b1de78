package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// stdinPipeSize is the pipe buffer iambind-fn asks for on stdin: more than
// a 1,000-object stream, and Linux's default ceiling for unprivileged
// processes (/proc/sys/fs/pipe-max-size).
const stdinPipeSize = 1 << 20

// prepareStdin grows stdin's pipe buffer from the default 64 KiB. A
// producer such as `kustomize build` writes its whole output at once and
// exits; with a small buffer that write waits for the reader 64 KiB at a
// time, and the reader, busy parsing what came before, takes its time.
// With room for all of it the producer is done at once. It reports whether
// stdin has nothing to read yet: a producer still working, where faulting
// in memory now costs the user no time. Input that is there already (a
// file, a ResourceList kustomize wrote at once) is read at once instead.
func prepareStdin() (pending bool) {
	fd := int(os.Stdin.Fd())
	// Errors are not the run's business: a file or a terminal has no pipe
	// buffer, and a user over their pipe quota keeps the default.
	_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, stdinPipeSize)
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
	return err == nil && n == 0
}
