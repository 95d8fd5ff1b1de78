package reconcile_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/iambind/iambind/internal/clitest"
)

// TestEveryCommandHelpHasExample: users learn the CLI from --help.
func TestEveryCommandHelpHasExample(t *testing.T) {
	for _, cmd := range [][]string{{"--help"}, {"plan", "--help"}, {"apply", "--help"}, {"check", "--help"}, {"version", "--help"}} {
		var out bytes.Buffer
		if code := clitest.Run(context.Background(), cmd, strings.NewReader(""), &out, &out); code != 0 {
			t.Errorf("%v: exit %d", cmd, code)
		}
		if !strings.Contains(out.String(), "Examples:\n  iambind") && !strings.Contains(out.String(), "Examples:\n  kustomize") && !strings.Contains(out.String(), "Examples:\n  kubectl") {
			t.Errorf("%v has no example:\n%s", cmd, out.String())
		}
	}
}
