package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// Linux starts a child's ru_maxrss at its parent's own peak: Go's os/exec
// clones with CLONE_VM, and exec records the high-water mark of the memory
// it leaves (the parent's, which rendered the whole plan) as the child's.
// So iambind is run through this same binary started afresh (rssWrapArg):
// a small parent whose child's ru_maxrss is the child's own.
const rssWrapArg = "-run-measuring-rss"

// wrapMain is the small parent: bench-scale -run-measuring-rss FILE CMD ARGS…
// runs CMD with this process's stdio, writes CMD's peak RSS (KiB) to FILE
// and exits with CMD's status.
func wrapMain(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench-scale", rssWrapArg, "FILE CMD [ARG…]")
		return 2
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, err)
		return 125
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
	if werr := os.WriteFile(args[0], []byte(strconv.FormatInt(rss, 10)), 0o600); werr != nil {
		fmt.Fprintln(os.Stderr, werr)
		return 125
	}
	return cmd.ProcessState.ExitCode()
}

// measuredCommand is bin args… run through the small parent; peak reads
// the child's peak RSS in KiB once it has exited.
func measuredCommand(dir, bin string, args ...string) (cmd *exec.Cmd, peak func() (int64, error), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	f, err := os.CreateTemp(dir, "rss")
	if err != nil {
		return nil, nil, err
	}
	f.Close()
	cmd = exec.Command(self, append([]string{rssWrapArg, f.Name(), bin}, args...)...)
	return cmd, func() (int64, error) {
		data, err := os.ReadFile(f.Name())
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	}, nil
}
