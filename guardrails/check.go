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
		if msg := g.managedByName(arn); msg != "" {
			add(field, "%s", msg)
		}
	}
	out = append(out, g.checkInline(role.InlinePolicies)...)
	return role, out
}

// managedByName judges a managed policy by its ARN: the message of the
// deny or allow glob it fails, "" when it passes. ARNs compare folded: IAM
// resolves a policy name in any case, so .../administratoraccess is
// AdministratorAccess.
func (g *Guardrails) managedByName(arn string) string {
	s := &g.Spec
	if j := slices.IndexFunc(s.DeniedManagedPolicies, func(p string) bool { return globMatch(p, arn, true) }); j >= 0 {
		return fmt.Sprintf("managed policy %s is refused by the guardrails (deniedManagedPolicies: %s)", arn, s.DeniedManagedPolicies[j])
	}
	if len(s.AllowedManagedPolicies) > 0 && !slices.ContainsFunc(s.AllowedManagedPolicies, func(p string) bool { return globMatch(p, arn, true) }) {
		return fmt.Sprintf("managed policy %s is not allowed by the guardrails (allowedManagedPolicies: %s)", arn, strings.Join(s.AllowedManagedPolicies, ", "))
	}
	return ""
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

// grant is what one Allow statement grants: one glob of its Action, or,
// for a NotAction statement, every action none of its globs covers.
type grant struct {
	field     string // role.json (or document) path of the action value, or of NotAction
	action    string // the Action glob; "" for NotAction
	except    []string
	notAction bool
	unscoped  bool // the statement's Resource admits any role (or uses NotResource)
}

// grants reports whether the grant allows some action the glob d matches.
func (gr grant) grants(d string) bool {
	if gr.notAction {
		return !slices.ContainsFunc(gr.except, func(n string) bool { return globCovers(n, d) })
	}
	return globsIntersect(gr.action, d, true)
}

// readGrants lists the grants of a policy document's Allow statements;
// base prefixes each field ("inlinePolicies.s3", or "" for a managed
// policy's document).
func readGrants(doc []byte, base string) ([]grant, error) {
	statements, single, err := readStatements(doc)
	if err != nil {
		return nil, err
	}
	var out []grant
	for i, st := range statements {
		field := fmt.Sprintf("%sStatement[%d]", base, i)
		if single {
			field = base + "Statement"
		}
		if st.Effect == "Deny" {
			continue // a Deny only takes away
		}
		unscoped := st.NotResource != nil
		for _, r := range st.Resource.values {
			unscoped = unscoped || coversEveryRole(r.value)
		}
		if st.NotAction != nil {
			gr := grant{field: field + ".NotAction", notAction: true, unscoped: unscoped}
			for _, a := range st.NotAction.values {
				gr.except = append(gr.except, a.value)
			}
			out = append(out, gr)
			continue
		}
		for _, a := range st.Action.values {
			out = append(out, grant{field: field + ".Action" + a.suffix, action: a.value, unscoped: unscoped})
		}
	}
	return out, nil
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
	var grants []grant
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		base := "inlinePolicies." + name
		gs, err := readGrants(docs[name], base+".")
		if err != nil {
			out = append(out, generator.Finding{Field: base, Message: fmt.Sprintf("cannot be evaluated by the guardrails: %v", err)})
			continue
		}
		for _, gr := range gs {
			if gr.notAction {
				out = append(out, generator.Finding{Field: gr.field, Message: "an Allow statement with NotAction grants every action it does not list, IAM's included; list the actions in Action (always refused by the guardrails)"})
				continue
			}
			grants = append(grants, gr)
		}
	}
	return append(out, g.judge(grants)...)
}

// judge applies the rules on what a set of grants allows: every action,
// every IAM action, iam:PassRole or sts:AssumeRole on every role, a denied
// action, and (over all the grants together) a denied combination, reported
// on the grant of its last part.
func (g *Guardrails) judge(grants []grant) []generator.Finding {
	var out []generator.Finding
	add := func(field, format string, args ...any) {
		out = append(out, generator.Finding{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, gr := range grants {
		what := gr.name()
		switch {
		case !gr.notAction && globMatch(gr.action, "\x02:\x02", true):
			add(gr.field, "%s grants every action (administrator access; always refused by the guardrails)", what)
			continue
		case gr.notAction && !slices.ContainsFunc(gr.except, func(n string) bool { return globsIntersect(n, "iam:*", true) }),
			!gr.notAction && globMatch(gr.action, "iam:\x02", true):
			add(gr.field, "%s grants every IAM action, so the role can give itself any permission (always refused by the guardrails)", what)
			continue
		}
		if gr.unscoped {
			for _, a := range []string{"iam:PassRole", "sts:AssumeRole"} {
				if gr.grants(a) {
					add(gr.field, "%s grants %s on every role (Resource \"*\" or NotResource); name the roles in Resource (always refused by the guardrails)", what, a)
				}
			}
		}
		for _, d := range g.Spec.DeniedActions {
			if strings.Contains(d, "+") || !gr.grants(d) {
				continue
			}
			if gr.notAction {
				add(gr.field, "%s leaves %s granted, which is privilege escalation (guardrails deniedActions: %s)", what, d, d)
			} else {
				add(gr.field, "%s is privilege escalation (guardrails deniedActions: %s)", describe(gr.action, d), d)
			}
			break
		}
	}
	for _, d := range g.Spec.DeniedActions {
		if where, last, ok := combination(d, grants); ok {
			add(last.field, "%s together with the role's other grants is privilege escalation (%s; guardrails deniedActions: %s)", last.name(), strings.Join(where, ", "), d)
		}
	}
	return out
}

// combination reports whether the grants allow every part of the denied
// combination d ("iam:PassRole+lambda:CreateFunction"): where each part is
// granted, and the grant of the last part.
func combination(d string, grants []grant) (where []string, last grant, ok bool) {
	parts := strings.Split(d, "+")
	if len(parts) < 2 {
		return nil, grant{}, false
	}
	for _, p := range parts {
		i := slices.IndexFunc(grants, func(gr grant) bool { return gr.grants(p) })
		if i < 0 {
			return nil, grant{}, false
		}
		where = append(where, fmt.Sprintf("%s at %s", p, grants[i].field))
		last = grants[i]
	}
	return where, last, true
}

// name is the grant as a message quotes it.
func (gr grant) name() string {
	if gr.notAction {
		return fmt.Sprintf("NotAction %q", gr.except)
	}
	return fmt.Sprintf("%q", gr.action)
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
	// pass as an s3 grant.
	if key, dup := DuplicateKey(doc); dup {
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

// DuplicateKey reports the first key that occurs twice in one object of the
// JSON document. encoding/json keeps the last value of such a key, while
// another reader (IAM) might keep another: a reader that judges a document
// and then sends it as written must refuse it. Malformed JSON reports
// false; the decoder reports it.
func DuplicateKey(doc []byte) (string, bool) {
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
