package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/iambind/iambind"

// pkg is what `go list -json` says of one package of the module.
type pkg struct {
	ImportPath string
	Imports    []string // direct imports
	Deps       []string // every package it depends on, transitively
}

// listPackages lists the module's packages (tests not included: rules are
// about the product's code).
func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "./...")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

// under reports whether a module-relative path is dir or inside it.
func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// rule is one dependency rule: the packages it applies to, and what they
// must not import.
type rule struct {
	name string
	// applies picks the packages (module-relative paths, "/reconcile/...").
	applies func(path string) bool
	// forbidden reports why importing imp is not allowed ("" when it is);
	// deps checks every transitive dependency instead of direct imports.
	forbidden func(path, imp string) string
	deps      bool
}

var (
	servicePackages = []string{"/reconcile/iam", "/reconcile/discovery", "/reconcile/podidentity"}
	isService       = func(p string) bool {
		return slices.ContainsFunc(servicePackages, func(s string) bool { return under(p, s) })
	}
	serviceOf = func(p string) string {
		for _, s := range servicePackages {
			if under(p, s) {
				return s
			}
		}
		return ""
	}
	isAWSSDK = func(imp string) bool {
		return strings.HasPrefix(imp, "github.com/aws/aws-sdk-go-v2") || strings.HasPrefix(imp, "github.com/aws/smithy-go")
	}
)

var rules = []rule{
	{
		name:    "the command line (cobra, pflag) lives in cmd/, never under reconcile/",
		applies: func(p string) bool { return under(p, "/reconcile") },
		forbidden: func(_, imp string) string {
			if strings.HasPrefix(imp, "github.com/spf13/cobra") || strings.HasPrefix(imp, "github.com/spf13/pflag") {
				return "a command-line library"
			}
			return ""
		},
	},
	{
		name:    "a service package imports neither the orchestrator nor another service",
		applies: isService,
		forbidden: func(p, imp string) string {
			rel, ok := strings.CutPrefix(imp, module)
			switch {
			case !ok:
				return ""
			case rel == "/reconcile":
				return "the orchestrator"
			case isService(rel) && serviceOf(rel) != serviceOf(p):
				return "another service"
			}
			return ""
		},
	},
	{
		name: "reading input, rendering plans and the shared plan vocabulary never touch the AWS SDK",
		applies: func(p string) bool {
			return under(p, "/reconcile/input") || under(p, "/reconcile/render") || under(p, "/reconcile/change")
		},
		forbidden: func(_, imp string) string {
			if isAWSSDK(imp) {
				return "the AWS SDK"
			}
			return ""
		},
		deps: true,
	},
	{
		name:    "the generator (and the function) import nothing of the reconcile side",
		applies: func(p string) bool { return under(p, "/generator") || under(p, "/fn") },
		forbidden: func(_, imp string) string {
			if rel, ok := strings.CutPrefix(imp, module); ok && (under(rel, "/reconcile") || under(rel, "/internal/awsapi") || under(rel, "/cmd")) {
				return "the reconcile side"
			}
			if isAWSSDK(imp) {
				return "the AWS SDK"
			}
			return ""
		},
		deps: true,
	},
	{
		name: "tools of their own (keygen, migrate) and the AWS plumbing import neither the orchestrator nor a service",
		applies: func(p string) bool {
			return under(p, "/keygen") || under(p, "/migrate") || under(p, "/internal/awsapi")
		},
		forbidden: func(_, imp string) string {
			if rel, ok := strings.CutPrefix(imp, module); ok && (rel == "/reconcile" || isService(rel)) {
				return "the reconcile side"
			}
			return ""
		},
		deps: true,
	},
	{
		// The add-on catalogue is pure data and rendering: the generator
		// (and so the function) depends on it, never the other way round.
		name:    "the add-on catalogue imports only the standard library and internal/suggest",
		applies: func(p string) bool { return p == "/addons" },
		forbidden: func(_, imp string) string {
			if strings.Contains(strings.Split(imp, "/")[0], ".") && imp != module+"/internal/suggest" {
				return "a package outside the standard library"
			}
			return ""
		},
		deps: true,
	},
	{
		name:    "import reads IAM through the IAM service's observer, never through the orchestrator",
		applies: func(p string) bool { return under(p, "/importer") },
		forbidden: func(_, imp string) string {
			if rel, ok := strings.CutPrefix(imp, module); ok && rel == "/reconcile" {
				return "the orchestrator"
			}
			return ""
		},
		deps: true,
	},
	{
		name:    "nothing but cmd/ imports a main package",
		applies: func(p string) bool { return !under(p, "/cmd") },
		forbidden: func(_, imp string) string {
			if rel, ok := strings.CutPrefix(imp, module); ok && under(rel, "/cmd") {
				return "a command"
			}
			return ""
		},
	},
}

// violations are the imports of the package at path that rule r forbids.
func (r rule) violations(path string, p pkg) []string {
	imports := p.Imports
	if r.deps {
		imports = p.Deps
	}
	var out []string
	for _, imp := range imports {
		if why := r.forbidden(path, imp); why != "" {
			out = append(out, fmt.Sprintf("%s imports %s (%s)", module+path, imp, why))
		}
	}
	return out
}

func TestDependencyRules(t *testing.T) {
	pkgs := listPackages(t)
	for _, must := range []string{"/reconcile", "/cmd/iambind", "/generator", "/reconcile/iam", "/reconcile/input", "/reconcile/safety", "/reconcile/discovery", "/reconcile/podidentity"} {
		if _, ok := pkgs[must]; !ok {
			t.Fatalf("go list did not report %s%s: the rules would check nothing", module, must)
		}
	}
	for _, r := range rules {
		var broken []string
		for path, p := range pkgs {
			if r.applies(path) {
				broken = append(broken, r.violations(path, p)...)
			}
		}
		slices.Sort(broken)
		if len(broken) > 0 {
			t.Errorf("rule %q is broken:\n  %s", r.name, strings.Join(broken, "\n  "))
		}
	}
}

// The rules catch what they say: a layout where reconcile imports cobra
// (as it did before cmd/iambind held the command line) and a service that
// imports the orchestrator are refused.
func TestDependencyRulesCatchViolations(t *testing.T) {
	bad := map[string]pkg{
		"/reconcile":             {Imports: []string{"github.com/spf13/cobra"}},
		"/reconcile/discovery":   {Imports: []string{module + "/reconcile"}},
		"/reconcile/podidentity": {Imports: []string{module + "/reconcile/discovery"}},
		"/reconcile/render":      {Deps: []string{"github.com/aws/aws-sdk-go-v2/service/iam"}},
		"/generator":             {Deps: []string{module + "/reconcile/change"}},
		"/migrate":               {Deps: []string{module + "/reconcile"}},
		"/importer":              {Deps: []string{module + "/reconcile"}},
	}
	for path, p := range bad {
		caught := false
		for _, r := range rules {
			caught = caught || r.applies(path) && len(r.violations(path, p)) > 0
		}
		if !caught {
			t.Errorf("%s importing %v passes every rule", path, append(p.Imports, p.Deps...))
		}
	}
}
