// Package iameval evaluates an IAM identity policy against one request, with
// IAM's documented logic: an explicit Deny wins, else an Allow allows, else
// the request is implicitly denied. It exists for tests: moto evaluates
// neither Condition elements nor the Resource of a role that does not exist
// yet, so the rules of deploy/iam-policy.json that depend on them are proven
// here instead (docs/guardrails.md says which).
//
// Supported: Action/NotAction (case-insensitive globs), Resource/NotResource
// (case-sensitive globs), and the condition operators the Job's policy uses:
// StringEquals, StringNotEquals, StringLike, StringNotLike and Null (keys are
// case-insensitive, as in IAM). Any other operator is an error, never a guess.
package iameval

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Decision is the outcome of an evaluation.
type Decision string

const (
	Allowed      Decision = "allowed"
	ExplicitDeny Decision = "explicit deny"
	ImplicitDeny Decision = "implicit deny"
)

// Request is one API call: the action, the resource ARN, and the request
// context keys IAM would fill in (e.g. iam:PermissionsBoundary). A key
// missing from Context is absent from the request.
type Request struct {
	Action   string
	Resource string
	Context  map[string]string
}

type element []string

func (e *element) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*e = element{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("element must be a string or a list of strings: %s", b)
	}
	*e = list
	return nil
}

type statement struct {
	Sid         string
	Effect      string
	Action      element
	NotAction   element
	Resource    element
	NotResource element
	Condition   map[string]map[string]element
}

// Evaluate returns the decision and the Sid of the statement that decided
// (the denying one, else the first allowing one).
func Evaluate(policy []byte, req Request) (Decision, string, error) {
	var doc struct{ Statement []statement }
	if err := json.Unmarshal(policy, &doc); err != nil {
		return "", "", err
	}
	decision, by := ImplicitDeny, ""
	for _, st := range doc.Statement {
		ok, err := applies(st, req)
		if err != nil {
			return "", "", fmt.Errorf("statement %s: %w", st.Sid, err)
		}
		switch {
		case !ok:
		case st.Effect == "Deny":
			return ExplicitDeny, st.Sid, nil
		case st.Effect == "Allow" && decision == ImplicitDeny:
			decision, by = Allowed, st.Sid
		}
	}
	return decision, by, nil
}

func applies(st statement, req Request) (bool, error) {
	if st.Action != nil && !anyMatch(st.Action, req.Action, true) {
		return false, nil
	}
	if st.NotAction != nil && anyMatch(st.NotAction, req.Action, true) {
		return false, nil
	}
	if st.Resource != nil && !anyMatch(st.Resource, req.Resource, false) {
		return false, nil
	}
	if st.NotResource != nil && anyMatch(st.NotResource, req.Resource, false) {
		return false, nil
	}
	ctx := map[string]string{}
	for k, v := range req.Context {
		ctx[strings.ToLower(k)] = v
	}
	for op, keys := range st.Condition {
		for key, want := range keys {
			got, present := ctx[strings.ToLower(key)]
			ok, err := condition(op, want, got, present)
			if err != nil {
				return false, err
			}
			if !ok {
				return false, nil
			}
		}
	}
	return true, nil
}

// condition evaluates one operator for one key; several values are ORed.
func condition(op string, want element, got string, present bool) (bool, error) {
	switch op {
	case "Null":
		// "true": the key must be absent; "false": present.
		return len(want) == 1 && (want[0] == "true") == !present, nil
	case "StringEquals", "StringLike":
		if !present {
			return false, nil
		}
		for _, w := range want {
			if (op == "StringEquals" && w == got) || (op == "StringLike" && match(w, got, false)) {
				return true, nil
			}
		}
		return false, nil
	case "StringNotEquals", "StringNotLike":
		// A missing key matches a negated operator.
		if !present {
			return true, nil
		}
		pos, _ := condition(strings.Replace(op, "Not", "", 1), want, got, true)
		return !pos, nil
	}
	return false, fmt.Errorf("condition operator %s is not supported by this evaluator", op)
}

func anyMatch(patterns element, s string, fold bool) bool {
	for _, p := range patterns {
		if match(p, s, fold) {
			return true
		}
	}
	return false
}

// match is IAM's glob: * any run of characters, ? one character.
func match(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if match(pattern[1:], s[i:], false) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && match(pattern[1:], s[1:], false)
	}
	return s != "" && s[0] == pattern[0] && match(pattern[1:], s[1:], false)
}
