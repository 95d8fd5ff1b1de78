package change

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// A trust policy admits a caller when some Allow statement matches it: any
// of the statement's principals, any of its actions, and for every
// condition key any of its values. Written out as a union of "atoms" (one
// principal, one action, one value per condition key) two trust policies
// with the same atoms admit exactly the same callers, however their
// statements are split or merged ("one statement per ServiceAccount" equals
// "one statement listing them"). Atoms are what SameTrust compares and what
// an importer reads a live trust policy as.

// TrustCondition is one condition of an atom: operator, key (lower-cased,
// as IAM compares condition keys) and one value.
type TrustCondition struct {
	Op, Key, Value string
}

// TrustAtom is one principal, one action and one value per condition key.
type TrustAtom struct {
	PrincipalType string // Federated, Service, AWS, or * for "Principal": "*"
	Principal     string
	Action        string // lower-cased: IAM action names are case-insensitive
	Conditions    []TrustCondition
}

// Key is a canonical string of the atom.
func (a TrustAtom) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s", a.PrincipalType, a.Principal, a.Action)
	for _, c := range a.Conditions {
		fmt.Fprintf(&b, "|%s:%s=%s", c.Op, c.Key, c.Value)
	}
	return b.String()
}

// Condition returns the atom's value for a condition key (any operator) and
// its operator; ok is false when the atom has no condition on key.
func (a TrustAtom) Condition(key string) (op, value string, ok bool) {
	key = strings.ToLower(key)
	for _, c := range a.Conditions {
		if c.Key == key {
			return c.Op, c.Value, true
		}
	}
	return "", "", false
}

// maxTrustAtoms bounds the expansion; no real trust policy comes near it.
const maxTrustAtoms = 100000

// UnsupportedTrustError says why a trust policy cannot be read as atoms
// (a Deny statement, NotPrincipal, ...): such a policy is compared as a
// document only.
type UnsupportedTrustError struct{ Reason string }

func (e *UnsupportedTrustError) Error() string { return e.Reason }

// TrustAtoms expands a trust policy into its sorted, de-duplicated atoms.
// A StringLike condition whose values hold no wildcard is the StringEquals
// condition IAM evaluates it as.
func TrustAtoms(doc string) ([]TrustAtom, error) {
	v, err := ParseDocument(doc)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, &UnsupportedTrustError{"the document is not a JSON object"}
	}
	var stmts []any
	switch s := top["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	default:
		return nil, &UnsupportedTrustError{"the document has no Statement list"}
	}
	seen := map[string]TrustAtom{}
	for i, raw := range stmts {
		st, ok := raw.(map[string]any)
		if !ok {
			return nil, &UnsupportedTrustError{fmt.Sprintf("statement %d is not an object", i)}
		}
		atoms, err := statementAtoms(st)
		if err != nil {
			return nil, &UnsupportedTrustError{fmt.Sprintf("statement %d: %v", i, err)}
		}
		for _, a := range atoms {
			seen[a.Key()] = a
		}
		if len(seen) > maxTrustAtoms {
			return nil, &UnsupportedTrustError{"the trust policy expands to too many cases to compare"}
		}
	}
	out := make([]TrustAtom, 0, len(seen))
	for _, k := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, seen[k])
	}
	return out, nil
}

func statementAtoms(st map[string]any) ([]TrustAtom, error) {
	for k := range st {
		switch k {
		case "Sid", "Effect", "Principal", "Action", "Condition":
		default:
			return nil, fmt.Errorf("has %s", k)
		}
	}
	if eff, _ := st["Effect"].(string); eff != "Allow" {
		return nil, fmt.Errorf("Effect is %v, not Allow", st["Effect"])
	}
	type principal struct{ typ, value string }
	var principals []principal
	switch p := st["Principal"].(type) {
	case string:
		if p != "*" {
			return nil, fmt.Errorf("Principal %q", p)
		}
		principals = append(principals, principal{"*", "*"})
	case map[string]any:
		for _, typ := range slices.Sorted(maps.Keys(p)) {
			vals, err := stringValues(p[typ])
			if err != nil {
				return nil, fmt.Errorf("Principal.%s: %v", typ, err)
			}
			for _, v := range vals {
				principals = append(principals, principal{typ, v})
			}
		}
	default:
		return nil, fmt.Errorf("has no Principal")
	}
	actions, err := stringValues(st["Action"])
	if err != nil {
		return nil, fmt.Errorf("Action: %v", err)
	}
	conds, err := conditionSets(st["Condition"])
	if err != nil {
		return nil, err
	}
	combos := [][]TrustCondition{nil}
	for _, cs := range conds {
		var next [][]TrustCondition
		for _, c := range combos {
			for _, val := range cs.values {
				next = append(next, append(slices.Clone(c), TrustCondition{cs.op, cs.key, val}))
			}
		}
		combos = next
		if len(combos) > maxTrustAtoms {
			return nil, fmt.Errorf("expands to too many cases")
		}
	}
	if len(principals)*len(actions)*len(combos) > maxTrustAtoms {
		return nil, fmt.Errorf("expands to too many cases")
	}
	var out []TrustAtom
	for _, p := range principals {
		for _, a := range actions {
			for _, c := range combos {
				out = append(out, TrustAtom{PrincipalType: p.typ, Principal: p.value, Action: strings.ToLower(a), Conditions: c})
			}
		}
	}
	return out, nil
}

type conditionSet struct {
	op, key string
	values  []string // OR-ed; a set operator's whole value list is one entry
}

// conditionSets reads a Condition block sorted by key then operator.
func conditionSets(raw any) ([]conditionSet, error) {
	if raw == nil {
		return nil, nil
	}
	block, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Condition is not an object")
	}
	byKey := map[string]map[string][]string{} // key -> op -> values
	for op, kv := range block {
		m, ok := kv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("Condition.%s is not an object", op)
		}
		for key, v := range m {
			vals, err := stringValues(v)
			if err != nil {
				return nil, fmt.Errorf("Condition.%s.%s: %v", op, key, err)
			}
			k := strings.ToLower(key)
			if byKey[k] == nil {
				byKey[k] = map[string][]string{}
			}
			byKey[k][op] = append(byKey[k][op], vals...)
		}
	}
	var out []conditionSet
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		ops := byKey[key]
		// StringLike without a wildcard is StringEquals (when the key has no
		// StringEquals of its own, so no AND of the two changes meaning).
		if like, ok := ops["StringLike"]; ok {
			if _, eq := ops["StringEquals"]; !eq && !slices.ContainsFunc(like, hasWildcard) {
				ops["StringEquals"] = like
				delete(ops, "StringLike")
			}
		}
		for _, op := range slices.Sorted(maps.Keys(ops)) {
			vals := slices.Compact(slices.Sorted(slices.Values(ops[op])))
			if strings.Contains(op, ":") {
				// ForAnyValue:/ForAllValues: compare a whole set: keep it whole.
				vals = []string{strings.Join(vals, "\x00")}
			}
			out = append(out, conditionSet{op: op, key: key, values: vals})
		}
	}
	return out, nil
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") || strings.Contains(s, "${") }

// stringValues reads IAM's "a value or a list of values" as strings.
func stringValues(v any) ([]string, error) {
	one := func(e any) (string, error) {
		switch t := e.(type) {
		case string:
			return t, nil
		case json.Number:
			return t.String(), nil
		case bool:
			if t {
				return "true", nil
			}
			return "false", nil
		}
		return "", fmt.Errorf("value %v is not a string", e)
	}
	switch t := v.(type) {
	case nil:
		return nil, fmt.Errorf("missing")
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, err := one(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("empty list")
		}
		sort.Strings(out)
		return slices.Compact(out), nil
	default:
		s, err := one(t)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
}

// SameTrust reports whether two trust policies admit exactly the same
// callers as IAM evaluates them: equal atoms, whatever the statements'
// split, order, or one-element lists. Policies that cannot be read as atoms
// (Deny, NotPrincipal, ...) are compared as documents (SameDocument).
func SameTrust(a, b string) (bool, error) {
	aa, errA := TrustAtoms(a)
	ba, errB := TrustAtoms(b)
	if errA != nil || errB != nil {
		return SameDocument(a, b)
	}
	if len(aa) != len(ba) {
		return false, nil
	}
	for i := range aa {
		if aa[i].Key() != ba[i].Key() {
			return false, nil
		}
	}
	return true, nil
}
