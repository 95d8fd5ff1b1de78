// Package clitest runs the real iambind command line in tests: the binary
// built once per test process from ./cmd/iambind (with the race detector
// when the tests run with it), so every test drives exactly what users run,
// signal handling and exit codes included.
package clitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary returns the path of iambind built from this checkout, building it
// on first use into a directory that lives as long as the test process.
func Binary() (string, error) {
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "iambind-clitest-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "iambind")
		args := []string{"build", "-o", binary}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/iambind")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/iambind: %v\n%s", err, out)
		}
	})
	return binary, buildErr
}

// Run runs `iambind args...` with stdin (nil: empty), writes its output to
// stdout and stderr, and returns its exit code. The process inherits the
// test's environment (t.Setenv included). A failure to build or start the
// binary is reported on stderr with exit code 127.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	bin, err := Binary()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 127
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	if stdin == nil {
		stdin = bytes.NewReader(nil)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		fmt.Fprintln(stderr, err)
		return 127
	}
}
