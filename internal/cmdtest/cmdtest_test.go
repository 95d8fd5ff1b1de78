package cmdtest

import (
	"os/exec"
	"testing"
)

func TestRun(t *testing.T) {
	code, out, errOut := Run(t, exec.Command("sh", "-c", "echo out; echo err >&2; exit 3"))
	if code != 3 || out != "out\n" || errOut != "err\n" {
		t.Fatalf("Run = %d %q %q, want 3 \"out\\n\" \"err\\n\"", code, out, errOut)
	}
	if code, _, _ := Run(t, exec.Command("true")); code != 0 {
		t.Fatalf("true: exit %d", code)
	}
}
