package guardrails

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iambind/iambind/generator"
)

// Violation is one rule a planned role breaks, addressed to a role.json field.
type Violation struct {
	Role    string // role name
	Binding string // <namespace>/<name> of the binding that planned it
	Field   string // role.json path, e.g. inlinePolicies.s3.Statement[0].Action[1]
	Message string // the value and the rule; the function reports the same text
}

func (v Violation) String() string {
	return fmt.Sprintf("role %s (binding %s): %s: %s", v.Role, v.Binding, v.Field, v.Message)
}

// Check evaluates one role. It returns the role as it is to be planned (the
// required permissions boundary added when the role has none) and the
// findings; a role with findings must not be applied. It implements
// generator.RolePolicy.
func (g *Guardrails) Check(role generator.Role) (generator.Role, []generator.Finding) {
	var out []generator.Finding
	add := func(field, format string, args ...any) {
		out = append(out, generator.Finding{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	s := &g.Spec
	if b := s.PermissionsBoundary; b != "" {
		switch role.PermissionsBoundary {
		case "":
			role.PermissionsBoundary = b
		case b:
		default:
			add("permissionsBoundary", "%s is not the permissions boundary the guardrails require (permissionsBoundary: %s); leave it unset and it is added", role.PermissionsBoundary, b)
		}
	}
	if m := s.MaxSessionDuration; m != 0 && role.MaxSessionDuration > m {
		add("maxSessionDuration", "%d seconds is over the guardrails ceiling (maxSessionDuration: %d)", role.MaxSessionDuration, m)
	}
	if len(s.RolePaths) > 0 && !slices.ContainsFunc(s.RolePaths, func(p string) bool { return globMatch(p, role.Path, false) }) {
		add("path", "%s is not an allowed role path (guardrails rolePaths: %s)", role.Path, strings.Join(s.RolePaths, ", "))
	}
	for i, arn := range role.ManagedPolicyARNs {
		field := fmt.Sprintf("managedPolicyArns[%d]", i)
		if j := slices.IndexFunc(s.DeniedManagedPolicies, func(p string) bool { return globMatch(p, arn, false) }); j >= 0 {
			add(field, "managed policy %s is refused by the guardrails (deniedManagedPolicies: %s)", arn, s.DeniedManagedPolicies[j])
			continue
		}
		if len(s.AllowedManagedPolicies) > 0 && !slices.ContainsFunc(s.AllowedManagedPolicies, func(p string) bool { return globMatch(p, arn, false) }) {
			add(field, "managed policy %s is not allowed by the guardrails (allowedManagedPolicies: %s)", arn, strings.Join(s.AllowedManagedPolicies, ", "))
		}
	}
	out = append(out, g.checkInline(role.InlinePolicies)...)
	return role, out
}

// Violations is Check for the CLI: the role with the boundary added, and
// every violation addressed to the role and its binding.
func (g *Guardrails) Violations(role generator.Role) (generator.Role, []Violation) {
	role, findings := g.Check(role)
	out := make([]Violation, 0, len(findings))
	for _, f := range findings {
		out = append(out, Violation{Role: role.Name, Binding: role.Binding(), Field: f.Field, Message: f.Message})
	}
	return role, out
}

// grant is one action glob of an Allow statement, with where it is written.
type grant struct {
	field     string // role.json path of the action value
	action    string
	unscoped  bool // the statement's Resource admits any role (or uses NotResource)
	statement string
}

// checkInline refuses inline Allow statements that grant every action,
// every IAM action, a NotAction, iam:PassRole or sts:AssumeRole on an
// unscoped Resource, or a denied action (a glob in the statement that
// covers a denied action counts, in any letter case: IAM actions are
// case-insensitive). Conditions are not evaluated: a condition cannot make
// such a grant safe to hand to a tenant. A document that cannot be read is
// refused (fail closed).
func (g *Guardrails) checkInline(docs map[string]json.RawMessage) []generator.Finding {
	var out []generator.Finding
	add := func(field, format string, args ...any) {
		out = append(out, generator.Finding{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var grants []grant
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		base := "inlinePolicies." + name
		statements, single, err := readStatements(docs[name])
		if err != nil {
			add(base, "cannot be evaluated by the guardrails: %v", err)
			continue
		}
		for i, st := range statements {
			field := fmt.Sprintf("%s.Statement[%d]", base, i)
			if single {
				field = base + ".Statement"
			}
			if st.Effect == "Deny" {
				continue // a Deny only takes away
			}
			if st.NotAction != nil {
				add(field+".NotAction", "an Allow statement with NotAction grants every action it does not list, IAM's included; list the actions in Action (always refused by the guardrails)")
				continue
			}
			unscoped := st.NotResource != nil
			for _, r := range st.Resource.values {
				unscoped = unscoped || coversEveryRole(r.value)
			}
			for _, a := range st.Action.values {
				grants = append(grants, grant{field: field + ".Action" + a.suffix, action: a.value, unscoped: unscoped, statement: field})
			}
		}
	}
	for _, gr := range grants {
		switch {
		case globMatch(gr.action, "\x02:\x02", true):
			add(gr.field, "%q grants every action (administrator access; always refused by the guardrails)", gr.action)
			continue
		case globMatch(gr.action, "iam:\x02", true):
			add(gr.field, "%q grants every IAM action, so the role can give itself any permission (always refused by the guardrails)", gr.action)
			continue
		}
		if gr.unscoped {
			for _, a := range []string{"iam:PassRole", "sts:AssumeRole"} {
				if globsIntersect(gr.action, a, true) {
					add(gr.field, "%q grants %s on every role (Resource \"*\" or NotResource); name the roles in Resource (always refused by the guardrails)", gr.action, a)
				}
			}
		}
		for _, d := range g.Spec.DeniedActions {
			if !strings.Contains(d, "+") && globsIntersect(gr.action, d, true) {
				add(gr.field, "%s is privilege escalation (guardrails deniedActions: %s)", describe(gr.action, d), d)
				break
			}
		}
	}
	// Combinations: refused when every part is granted by some statement;
	// reported on the grant of the last part.
	for _, d := range g.Spec.DeniedActions {
		parts := strings.Split(d, "+")
		if len(parts) < 2 {
			continue
		}
		var where []string
		var last grant
		for _, p := range parts {
			i := slices.IndexFunc(grants, func(gr grant) bool { return globsIntersect(gr.action, p, true) })
			if i < 0 {
				where = nil
				break
			}
			where = append(where, fmt.Sprintf("%s at %s", p, grants[i].field))
			last = grants[i]
		}
		if where != nil {
			add(last.field, "%q together with the role's other grants is privilege escalation (%s; guardrails deniedActions: %s)", last.action, strings.Join(where, ", "), d)
		}
	}
	return out
}

// describe says how a statement action meets a denied one.
func describe(action, denied string) string {
	if strings.EqualFold(action, denied) {
		return fmt.Sprintf("%q", action)
	}
	return fmt.Sprintf("%q covers %s", action, denied)
}

// coversEveryRole reports whether a Resource glob admits any role of its
// account: "*", "arn:aws:iam::111122223333:role/*", "arn:*:iam::*:*".
func coversEveryRole(res string) bool {
	parts := strings.SplitN(res, ":", 6)
	partition, account := "aws", "123456789012"
	if len(parts) == 6 && !strings.ContainsAny(parts[1], "*?") {
		partition = parts[1]
	}
	if len(parts) == 6 && !strings.ContainsAny(parts[4], "*?") {
		account = parts[4]
	}
	return globMatch(res, fmt.Sprintf("arn:%s:iam::%s:role/\x02", partition, account), false)
}

// value is one string of an IAM element, with its path suffix ("" for a
// plain string, "[i]" in a list).
type value struct{ value, suffix string }

// element is an IAM policy element given as a string or a list of strings.
type element struct{ values []value }

func (e *element) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		e.values = []value{{strings.TrimSpace(one), ""}}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("must be a string or a list of strings, got %s", bytes.TrimSpace(b))
	}
	for i, s := range list {
		e.values = append(e.values, value{strings.TrimSpace(s), fmt.Sprintf("[%d]", i)})
	}
	return nil
}

type statement struct {
	Effect      string
	Action      element
	NotAction   *element
	Resource    element
	NotResource *element
}

// readStatements decodes a policy's Statement, given as one object or a list.
func readStatements(doc json.RawMessage) (list []statement, single bool, err error) {
	// A key given twice is read as its last value here but may be read
	// otherwise by IAM: {"Action":"iam:*","Action":"s3:GetObject"} must not
	// pass as an s3 grant. role.json is sent to IAM as written.
	if key, dup := duplicateKey(doc); dup {
		return nil, false, fmt.Errorf("the key %q is given twice in one object", key)
	}
	var top struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, false, err
	}
	raw := bytes.TrimSpace(top.Statement)
	if len(raw) > 0 && raw[0] == '{' {
		var st statement
		if err := strictStatement(raw, &st); err != nil {
			return nil, true, err
		}
		return []statement{st}, true, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, false, fmt.Errorf("Statement must be an object or a list of objects")
	}
	for i, item := range items {
		var st statement
		if err := strictStatement(item, &st); err != nil {
			return nil, false, fmt.Errorf("Statement[%d]: %v", i, err)
		}
		list = append(list, st)
	}
	return list, false, nil
}

// strictStatement decodes one statement. Element names are matched exactly,
// as IAM does: encoding/json would also take "action" for Action, and a
// statement could then hide a grant from this check that IAM rejects or reads
// differently.
func strictStatement(raw []byte, st *statement) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("must be an object")
	}
	known := map[string]bool{"Sid": true, "Effect": true, "Principal": true, "NotPrincipal": true, "Action": true,
		"NotAction": true, "Resource": true, "NotResource": true, "Condition": true}
	for k := range obj {
		if !known[k] {
			return fmt.Errorf("unknown element %q (IAM element names are case-sensitive)", k)
		}
	}
	if v, ok := obj["Effect"]; ok {
		if err := json.Unmarshal(v, &st.Effect); err != nil {
			return fmt.Errorf("Effect must be a string")
		}
	}
	for name, dst := range map[string]*element{"Action": &st.Action, "Resource": &st.Resource} {
		if v, ok := obj[name]; ok {
			if err := dst.UnmarshalJSON(v); err != nil {
				return fmt.Errorf("%s %v", name, err)
			}
		}
	}
	for name, dst := range map[string]**element{"NotAction": &st.NotAction, "NotResource": &st.NotResource} {
		if v, ok := obj[name]; ok {
			*dst = &element{}
			if err := (*dst).UnmarshalJSON(v); err != nil {
				return fmt.Errorf("%s %v", name, err)
			}
		}
	}
	return nil
}

// duplicateKey reports the first object key that occurs twice in one object
// of the JSON document.
func duplicateKey(doc []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		object bool
		keys   map[string]bool
		isKey  bool // the next string token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // malformed JSON is reported by the decoder
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.object {
					top.isKey = true // the container was this key's value
				}
				stack = append(stack, &frame{object: t == '{', keys: map[string]bool{}, isKey: true})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return "", false
				}
			}
		default:
			if top != nil && top.object {
				if top.isKey {
					k, _ := t.(string)
					if top.keys[k] {
						return k, true
					}
					top.keys[k] = true
				}
				top.isKey = !top.isKey
			}
		}
	}
}
