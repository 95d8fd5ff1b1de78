package guardrails

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/policylint"
)

// TestDefaultDeniedActionsKnown: every default denied action (each part of
// a combination) names actions the IAM catalogue knows, so the default
// list, which Decode does not lint, denies what it says.
func TestDefaultDeniedActionsKnown(t *testing.T) {
	// Actions AWS retired: denying them is harmless, and keeps the list
	// safe for accounts where they still work.
	retired := map[string]string{
		"codestar:CreateProjectFromTemplate": "CodeStar was discontinued in July 2024; the action left the Service Authorization Reference",
	}
	for _, d := range DefaultDeniedActions {
		for _, part := range strings.Split(d, "+") {
			sev, msg := policylint.ActionGlob(part)
			if _, ok := retired[part]; ok && sev == policylint.Warning {
				continue
			}
			if sev != "" {
				t.Errorf("default denied action %s: %s: %s", d, sev, msg)
			}
		}
	}
}

// TestDeniedActionsLinted: a deniedActions glob that matches no action of
// the catalogue is an error of the Guardrails object, with the fix when it
// is a typo; a literal action the catalogue does not know is a warning.
func TestDeniedActionsLinted(t *testing.T) {
	decode := func(spec string) (*Guardrails, string) {
		objs, err := fn.ParseKubeObjects([]byte("apiVersion: iambind.dev/v1alpha1\nkind: Guardrails\nmetadata: {name: g}\nspec:\n" + spec))
		if err != nil {
			t.Fatal(err)
		}
		g, ps := Decode(objs[0])
		var lines []string
		for _, p := range ps {
			lines = append(lines, p.String())
		}
		return g, strings.Join(lines, "\n")
	}
	for spec, want := range map[string]string{
		"  deniedActions: [iam:PutRolePolcy]\n":                            "error: Guardrails g: spec.deniedActions[0]: iam:PutRolePolcy: did you mean iam:PutRolePolicy?",
		"  deniedActions: [iam:Zzz*]\n":                                    "error: Guardrails g: spec.deniedActions[0]: iam:Zzz* matches no iam action",
		"  deniedActions: [\"*:Zzz*\"]\n":                                  "error: Guardrails g: spec.deniedActions[0]: *:Zzz* matches no action of any service",
		"  deniedActions: [iamm:Put*]\n":                                   `error: Guardrails g: spec.deniedActions[0]: iamm:Put*: unknown service prefix "iamm"; did you mean iam?`,
		"  deniedActions: [iam:Put*, iam:PassRole+lambda:CreateFuncton]\n": "error: Guardrails g: spec.deniedActions[1]: lambda:CreateFuncton: did you mean lambda:CreateFunction?",
	} {
		if g, got := decode(spec); g != nil || got != want {
			t.Errorf("spec %q:\n got %q\nwant %q", spec, got, want)
		}
	}
	g, got := decode("  deniedActions: [iam:Put*, iam:BrandNewThingXyz]\n")
	if g == nil || !strings.HasPrefix(got, "warning: Guardrails g: spec.deniedActions[1]: iam:BrandNewThingXyz is not an action of iam") || len(g.Warnings) != 1 {
		t.Errorf("an unknown literal action: %v, %q, warnings %q", g, got, g.Warnings)
	}
}

// TestLoadRefusesDeniedActionsMatchingNothing: --guardrails FILE (plan and
// apply) refuses the same globs as the function.
func TestLoadRefusesDeniedActionsMatchingNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "guardrails.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: iambind.dev/v1alpha1\nkind: Guardrails\nmetadata: {name: platform}\nspec:\n  deniedActions: [iam:PutRolePolicy, \"iam:Attach*Polcy\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := fmt.Sprintf("--guardrails %s:\n  error: Guardrails platform: spec.deniedActions[1]: iam:Attach*Polcy matches no iam action", path)
	if err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}
}
