// Package cmdtest runs a built binary for an end-to-end test. Shared because
// the CLI, reconcile and examples tests each judge a run by its exit code
// and both output streams, and each had written the same capture out.
package cmdtest

import (
	"bytes"
	"errors"
	"os/exec"
	"testing"
)

// Run runs cmd and returns its exit code, stdout and stderr. A command that
// cannot run at all (not found, not executable) fails the test: that is a
// broken test set-up, not an exit code to judge.
func Run(t testing.TB, cmd *exec.Cmd) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}
