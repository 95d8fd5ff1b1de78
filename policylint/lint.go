// Package policylint checks IAM policy documents against the catalogue of
// IAM services, actions, resource types and condition keys
// (policylint/catalog) before AWS ever sees them. IAM itself accepts a
// misspelt action or a Resource of another service: the role is created and
// the workload fails later with AccessDenied. The rules (docs/lint.md):
//
//   - an unknown service prefix is an error;
//   - an action within edit distance 2 of a known one is an error naming it;
//   - an action the catalogue does not know, far from every known one, is a
//     warning (the catalogue can be older than AWS);
//   - a wildcard that matches no action is an error;
//   - a Resource ARN of another service than every action of its statement
//     is a warning;
//   - StringEquals/StringNotEquals (any IgnoreCase, IfExists, ForAnyValue or
//     ForAllValues form) with * or ? in a value is a warning;
//   - a condition key unknown to the services of its statement (and not a
//     global key) is a warning.
//
// It is pure and shared: the function lints the inline documents of every
// rendered role, `iambind plan` those of the plans it reads, and the
// guardrails their deniedActions globs.
package policylint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iambind/iambind/internal/iamglob"
	"github.com/iambind/iambind/internal/suggest"
	"github.com/iambind/iambind/policylint/catalog"
)

// Severity of a Finding.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one rule a document breaks.
type Finding struct {
	Severity Severity
	// Path is the element inside the document: Statement[0].Action[1],
	// Statement[2].Condition.StringEquals.s3:prefix ("Statement" without an
	// index when the document's Statement is a single object).
	Path    string
	Message string
}

// String is "Statement[0].Action[1]: s3:GetObjet: did you mean s3:GetObject?".
func (f Finding) String() string { return f.Path + ": " + f.Message }

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error })
}

// maxNearDistance is how far a misspelt action may be from a known one to be
// called a typo (an error that names the fix) rather than an action the
// catalogue may not know yet (a warning).
const maxNearDistance = 2

// Prepare decodes the catalogue now rather than at the first lint. A
// process that will lint and first waits for its input (the function reading
// stdin) calls it in the background, so the decoding is not on the path the
// user waits for. A lint that comes first does not wait for it: it may run
// on a thread that gets a core only when nothing else wants one.
func Prepare() { catalog.Prefetch() }

// Document lints one policy document (identity or session policy JSON).
// A document that is not a JSON policy gives no findings: its shape is
// validated elsewhere, with a better message.
func Document(doc []byte) []Finding {
	var top struct {
		Statement json.RawMessage
	}
	if json.Unmarshal(doc, &top) != nil {
		return nil
	}
	var raws []json.RawMessage
	single := false
	switch s := bytes.TrimSpace(top.Statement); {
	case len(s) > 0 && s[0] == '{':
		raws, single = []json.RawMessage{s}, true
	case len(s) > 0 && s[0] == '[':
		if json.Unmarshal(s, &raws) != nil {
			return nil
		}
	}
	l := &linter{cat: catalog.Load()}
	for i, raw := range raws {
		base := fmt.Sprintf("Statement[%d]", i)
		if single {
			base = "Statement"
		}
		l.statement(base, raw)
	}
	return l.out
}

type linter struct {
	cat        *catalog.Catalog
	out        []Finding
	crossGlobs int // globs with a wildcard service prefix checked so far
}

func (l *linter) add(sev Severity, path, format string, args ...any) {
	l.out = append(l.out, Finding{Severity: sev, Path: path, Message: fmt.Sprintf(format, args...)})
}

// element is one string of Action, NotAction, Resource or NotResource and
// its path.
type element struct {
	path, value string
}

// readElement reads a string-or-list element; nothing when it is absent
// or of another type (shape validation reports that).
func readElement(base, name string, raw json.RawMessage) []element {
	if raw == nil {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []element{{base + "." + name, one}}
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	out := make([]element, len(list))
	for i, v := range list {
		out[i] = element{fmt.Sprintf("%s.%s[%d]", base, name, i), v}
	}
	return out
}

func (l *linter) statement(base string, raw json.RawMessage) {
	var st map[string]json.RawMessage
	if json.Unmarshal(raw, &st) != nil {
		return
	}
	// The services the statement's actions belong to; unbounded is set when
	// they are not bounded (NotAction, "*", a wildcard in a service prefix), and
	// then no rule that needs them applies.
	services := map[string]*catalog.Service{}
	unbounded := st["NotAction"] != nil
	for _, name := range []string{"Action", "NotAction"} {
		for _, e := range readElement(base, name, st[name]) {
			for _, s := range l.action(e) {
				if s == nil {
					unbounded = true
				} else {
					services[s.Prefix] = s
				}
			}
		}
	}
	if !unbounded && len(services) > 0 {
		for _, e := range readElement(base, "Resource", st["Resource"]) {
			l.resource(e, services)
		}
	}
	if cond := st["Condition"]; cond != nil {
		l.condition(base+".Condition", cond, services, unbounded)
	}
}

// action lints one Action or NotAction value and returns the services it
// names: nil in the list stands for "any service".
func (l *linter) action(e element) []*catalog.Service {
	v := e.value
	if v == "*" {
		return []*catalog.Service{nil}
	}
	prefix, name, ok := strings.Cut(v, ":")
	if !ok || prefix == "" || name == "" {
		l.add(Error, e.path, "%q is not an action: write service:Action (s3:GetObject, s3:Get*)", v)
		return nil
	}
	if isGlob(prefix) {
		if !l.matchesAcross(prefix, name) {
			l.add(Error, e.path, "%s matches no action of any service", v)
		}
		return []*catalog.Service{nil}
	}
	svc := l.cat.Service(prefix)
	if svc == nil {
		l.add(Error, e.path, "%s: unknown service prefix %q%s", v, prefix, suggest.Phrase(nearest(prefix, l.cat.Prefixes())))
		return nil
	}
	if isGlob(name) {
		if !svc.MatchesAction(name) {
			l.add(Error, e.path, "%s matches no %s action", v, svc.Prefix)
		}
		return []*catalog.Service{svc}
	}
	if _, known := svc.Action(name); known {
		return []*catalog.Service{svc}
	}
	if near := nearest(name, svc.Actions()); len(near) > 0 {
		for i := range near {
			near[i] = svc.Prefix + ":" + near[i]
		}
		l.add(Error, e.path, "%s: did you mean %s?", v, orList(near))
	} else {
		// The right action under the wrong prefix (s3:DescribeInstances)?
		// Only a warning still: AWS may have given this service the action
		// since, and a name many services share says nothing.
		if others := l.cat.ServicesWithAction(name); len(others) > 0 && len(others) <= 3 {
			for i := range others {
				others[i] += ":" + name
			}
			l.add(Warning, e.path, "%s is not an action of %s in iambind's IAM catalogue (%s); did you mean %s? (If AWS added it to %s since, ignore this warning.)", v, svc.Prefix, catalog.Date(), orList(others), svc.Prefix)
			return []*catalog.Service{svc}
		}
		l.add(Warning, e.path, "%s is not an action of %s in iambind's IAM catalogue (%s): check the spelling; if AWS added it since, ignore this warning", v, svc.Prefix, catalog.Date())
	}
	return []*catalog.Service{svc}
}

// maxCrossServiceGlobs bounds the globs with a wildcard in their service
// prefix one document may have checked: each scans every service's actions,
// and a hand-written plan (from a tenant, say) must not make the lint slow.
// No real policy comes near it.
const maxCrossServiceGlobs = 32

// matchesAcross reports whether a glob with a wildcard in its service
// prefix matches some prefix:action; past the budget it says yes.
func (l *linter) matchesAcross(prefixGlob, nameGlob string) bool {
	if l.crossGlobs++; l.crossGlobs > maxCrossServiceGlobs {
		return true
	}
	for _, p := range l.cat.Prefixes() {
		if globMatch(prefixGlob, p) && l.cat.Service(p).MatchesAction(nameGlob) {
			return true
		}
	}
	return false
}

// nearest returns the known names (up to three) at the smallest edit
// distance from name when it is at most maxNearDistance, case-insensitively.
func nearest(name string, known []string) []string {
	best := maxNearDistance + 1
	var out []string
	for _, k := range known {
		// Names whose lengths differ by more than the distance cannot be near.
		if d := len(k) - len(name); d > maxNearDistance || d < -maxNearDistance {
			continue
		}
		switch d := suggest.Distance(name, k); {
		case d < best:
			best, out = d, []string{k}
		case d == best && len(out) < 3:
			out = append(out, k)
		}
	}
	return out
}

func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// resource warns about a Resource ARN no action of the statement can act
// on: its service is not among those of the resource types of the
// statement's services (sts acts on iam roles, so iam is among sts's).
func (l *linter) resource(e element, services map[string]*catalog.Service) {
	arnService := catalog.ARNService(e.value)
	if arnService == "" || isGlob(arnService) || strings.Contains(arnService, "${") {
		return
	}
	hasResources := false
	for _, s := range services {
		for _, as := range s.ARNServices() {
			if strings.EqualFold(as, arnService) {
				return
			}
			hasResources = true
		}
	}
	if !hasResources {
		return // services without resource types act on "*" only; nothing to compare
	}
	l.add(Warning, e.path, "%s is an ARN of service %s, but no action of the statement (services %s) acts on %s resources: this Resource grants nothing",
		e.value, arnService, strings.Join(slices.Sorted(maps.Keys(services)), ", "), arnService)
}

// exactOperators are the condition operators that compare strings literally,
// with the operator to use for a pattern.
var exactOperators = map[string]string{
	"stringequals":              "StringLike",
	"stringnotequals":           "StringNotLike",
	"stringequalsignorecase":    "StringLike",
	"stringnotequalsignorecase": "StringNotLike",
}

func (l *linter) condition(base string, raw json.RawMessage, services map[string]*catalog.Service, unbounded bool) {
	var ops map[string]map[string]json.RawMessage
	if json.Unmarshal(raw, &ops) != nil {
		return
	}
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		plain := strings.ToLower(op)
		if _, after, ok := strings.Cut(plain, ":"); ok && (strings.HasPrefix(plain, "foranyvalue:") || strings.HasPrefix(plain, "forallvalues:")) {
			plain = after
		}
		plain = strings.TrimSuffix(plain, "ifexists")
		like, exact := exactOperators[plain]
		for _, key := range slices.Sorted(maps.Keys(ops[op])) {
			path := base + "." + op + "." + key
			l.conditionKey(path, key, services, unbounded)
			if !exact {
				continue
			}
			for _, v := range readElement(base+"."+op, key, ops[op][key]) {
				if hasWildcard(v.value) {
					l.add(Warning, v.path, "%q has a wildcard, but %s compares it literally: use %s", v.value, op, like)
				}
			}
		}
	}
}

// hasWildcard reports a * or ? outside a policy variable (${*} and ${?} are
// IAM's way to write them literally).
func hasWildcard(v string) bool {
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			return strings.ContainsAny(v, "*?")
		}
		if strings.ContainsAny(v[:i], "*?") {
			return true
		}
		j := strings.Index(v[i:], "}")
		if j < 0 {
			return strings.ContainsAny(v[i:], "*?")
		}
		v = v[i+j+1:]
	}
}

// conditionKey warns about a key that is neither global nor a key of the
// statement's services (of its own prefix's service, when the statement's
// services are not bounded).
func (l *linter) conditionKey(path, key string, services map[string]*catalog.Service, unbounded bool) {
	if _, ok := l.cat.GlobalConditionKey(key); ok {
		return
	}
	prefix, _, _ := strings.Cut(key, ":")
	candidates := map[string]*catalog.Service{}
	if unbounded {
		if s := l.cat.Service(prefix); s != nil {
			candidates[s.Prefix] = s
		}
	} else {
		candidates = services
	}
	var known []string
	for _, p := range slices.Sorted(maps.Keys(candidates)) {
		if _, ok := candidates[p].ConditionKey(key); ok {
			return
		}
		known = append(known, candidates[p].ConditionKeys()...)
	}
	if len(candidates) == 0 && !unbounded {
		return // no action was understood: the action findings say why
	}
	known = append(known, l.cat.GlobalConditionKeys()...)
	whose := "any service"
	if len(candidates) > 0 {
		whose = strings.Join(slices.Sorted(maps.Keys(candidates)), ", ")
	}
	l.add(Warning, path, "%s is not a condition key of %s nor a global one in iambind's IAM catalogue (%s), so IAM never finds it in the request%s",
		key, whose, catalog.Date(), suggest.Phrase(nearest(key, known)))
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?") }

// globMatch matches an IAM glob against a name, case-insensitively.
func globMatch(glob, name string) bool {
	return iamglob.Match(strings.ToLower(glob), strings.ToLower(name))
}

// ActionGlob checks an action glob outside a policy (a guardrails
// deniedActions entry): it returns an error message when the glob names an
// unknown service, misspells an action or matches no action, a warning
// message when the catalogue does not know a literal action, and "" when it
// matches something.
func ActionGlob(glob string) (Severity, string) {
	l := &linter{cat: catalog.Load()}
	l.action(element{value: glob})
	if len(l.out) == 0 {
		return "", ""
	}
	return l.out[0].Severity, l.out[0].Message
}
