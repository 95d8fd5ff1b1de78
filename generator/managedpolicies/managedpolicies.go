// Package managedpolicies knows the names of AWS managed policies offline,
// so the function can catch a misspelt name at render time. The list is a
// snapshot (names.txt, see its header for source and date): AWS adds
// policies every month, so an unknown name is only a warning here; the
// reconcile job's preflight (iam GetPolicy) is the authority.
package managedpolicies

import (
	_ "embed"
	"sort"
	"strings"
	"sync"

	"github.com/iambind/iambind/internal/suggest"
)

//go:generate python3 gen.py names.txt

//go:embed names.txt
var namesFile string

var names = sync.OnceValue(func() []string {
	var out []string
	for _, line := range strings.Split(namesFile, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
})

// Source is the list's provenance, its header comment without the "# ".
func Source() string {
	var lines []string
	for _, line := range strings.Split(namesFile, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		lines = append(lines, strings.TrimSpace(strings.TrimPrefix(line, "#")))
	}
	return strings.Join(lines, " ")
}

// Names returns every known name (path/name for policies under a path), sorted.
func Names() []string { return names() }

// Known reports whether name (as in spec.policies.managed: an optional path
// and the policy name) is a known AWS managed policy.
func Known(name string) bool {
	all := names()
	i := sort.SearchStrings(all, name)
	return i < len(all) && all[i] == name
}

// Suggest returns up to three known names closest to name, best first.
func Suggest(name string) []string { return suggest.Closest(name, names(), 3) }

// NameFromARN returns the path/name of an AWS managed policy ARN
// (arn:<partition>:iam::aws:policy/<path/name>), or false for any other ARN.
func NameFromARN(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] != "aws" {
		return "", false
	}
	name, ok := strings.CutPrefix(parts[5], "policy/")
	if !ok {
		return "", false
	}
	return name, true
}
