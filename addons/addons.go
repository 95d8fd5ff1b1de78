// Package addons is the catalogue of well-known add-on policies
// (IdentityBinding spec.policies.wellKnown): each name renders to the AWS
// managed policies AWS publishes for the add-on, or else to the add-on
// project's own published policy document, pinned to a release, with the
// binding's parameters substituted where the upstream document has a
// placeholder or a "*" it asks users to narrow. It is pure: no I/O.
package addons

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/iambind/iambind/internal/suggest"
)

//go:embed policies/*.json
var policyFiles embed.FS

// InlinePrefix starts the name of every inline policy rendered from a
// well-known name: wellKnown-<name>. A user inline policy of the same name
// is an error (the generator reports it).
const InlinePrefix = "wellKnown-"

// Request is one entry of spec.policies.wellKnown.
type Request struct {
	Name           string
	HostedZoneARNs []string
	ClusterName    string
	SecretARNs     []string
	ParameterARNs  []string
	BucketARNs     []string
	IPFamily       string
}

// Context is what the binding's cluster contributes to a rendering.
type Context struct {
	Partition string // aws, aws-cn, aws-us-gov
	AccountID string
	Region    string // "" when the IdentityCluster does not say
	// RegionField names where the region comes from, for an error message.
	RegionField string
}

// Output is what one well-known name adds to the role.
type Output struct {
	// Managed are AWS managed policy names (path/name), as in
	// spec.policies.managed.
	Managed []string
	// InlineName and Inline are the inline policy, when the add-on has no
	// AWS managed policy; Inline is JSON, not yet canonical.
	InlineName string
	Inline     []byte
}

// Problem is one refusal. Field is relative to the wellKnown entry
// ("name", "bucketARNs[1]", "" for the entry itself).
type Problem struct {
	Field   string
	Message string
}

// Names lists the well-known names, sorted.
func Names() []string {
	names := make([]string, 0, len(catalogue))
	for _, a := range catalogue {
		names = append(names, a.name)
	}
	slices.Sort(names)
	return names
}

// ManagedNames are the AWS managed policies (path/name) a well-known name
// attaches; they depend on no parameter but ipFamily.
func ManagedNames(name, ipFamily string) []string {
	a := lookup(name)
	if a == nil {
		return nil
	}
	return a.managed(Request{Name: name, IPFamily: ipFamily})
}

// InlineName is the inline policy name a well-known name renders to.
func InlineName(name string) string { return InlinePrefix + name }

// Render validates one entry and renders it for the binding's cluster.
func Render(r Request, ctx Context) (Output, []Problem) {
	a := lookup(r.Name)
	if a == nil {
		msg := fmt.Sprintf("%q is not a well-known add-on policy", r.Name)
		if r.Name == "" {
			msg = "is required"
		}
		return Output{}, []Problem{{Field: "name", Message: msg + suggest.Phrase(suggest.Closest(r.Name, Names(), 1)) + " (known: " + strings.Join(Names(), ", ") + ")"}}
	}
	if ctx.Partition == "" {
		ctx.Partition = "aws"
	}
	if !slices.Contains([]string{"aws", "aws-cn", "aws-us-gov"}, ctx.Partition) {
		// The generator validates the cluster first; this guards other callers.
		return Output{}, []Problem{{Message: fmt.Sprintf("partition %q has no well-known policies (aws, aws-cn, aws-us-gov)", ctx.Partition)}}
	}
	var problems []Problem
	for _, p := range allParams {
		if p.set(r) && !slices.Contains(a.params, p.name) {
			takes := "takes no parameters"
			if len(a.params) > 0 {
				takes = "takes " + strings.Join(a.params, ", ")
			}
			problems = append(problems, Problem{Field: p.name, Message: fmt.Sprintf("is not a parameter of %s (it %s)", a.name, takes)})
		}
	}
	v := validator{partition: ctx.Partition}
	for _, p := range a.params {
		v.check(p, r)
	}
	problems = append(problems, v.problems...)
	if len(problems) > 0 {
		return Output{}, problems
	}
	out := Output{Managed: a.managed(r)}
	if a.render == nil {
		return out, nil
	}
	doc, problems := a.render(r, ctx)
	if len(problems) > 0 {
		return Output{}, problems
	}
	if doc == nil {
		return out, nil
	}
	text, err := marshal(doc, false)
	if err != nil {
		return Output{}, []Problem{{Message: fmt.Sprintf("cannot encode the policy: %v", err)}}
	}
	if strings.Contains(string(text), "${") || strings.Contains(string(text), "{arn-aws}") {
		// A placeholder the catalogue does not substitute: an upstream
		// change the catalogue missed. Never hand IAM a template.
		return Output{}, []Problem{{Message: "internal error: the rendered policy still holds an upstream placeholder"}}
	}
	out.InlineName, out.Inline = InlineName(a.name), text
	return out, nil
}

func lookup(name string) *addon {
	for i := range catalogue {
		if catalogue[i].name == name {
			return &catalogue[i]
		}
	}
	return nil
}

// document is an embedded upstream document, decoded afresh for each use.
func document(file string) map[string]any {
	data, err := policyFiles.ReadFile("policies/" + file)
	if err != nil {
		panic("addons: missing embedded policy " + file) // a build error, caught by the tests
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		panic("addons: embedded policy " + file + ": " + err.Error())
	}
	return doc
}

// statements returns the Statement list of a document (always a list in
// the embedded form).
func statements(doc map[string]any) []any {
	list, _ := doc["Statement"].([]any)
	return list
}

// substitute replaces placeholders in every string and object key of v.
func substitute(v any, r *strings.Replacer) any {
	switch t := v.(type) {
	case string:
		return r.Replace(t)
	case []any:
		for i := range t {
			t[i] = substitute(t[i], r)
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[r.Replace(k)] = substitute(x, r)
		}
		return out
	}
	return v
}

// inPartition rewrites the upstream documents' arn:aws: ARNs for the
// cluster's partition.
func inPartition(doc map[string]any, partition string) map[string]any {
	if partition == "aws" || partition == "" {
		return doc
	}
	return substitute(doc, strings.NewReplacer("arn:aws:", "arn:"+partition+":")).(map[string]any)
}

// replaceResource replaces every Resource entry equal to old by the values
// of with; it reports whether old was found (an upstream change that moved
// the placeholder must fail the tests, never render a "*").
func replaceResource(doc map[string]any, old string, with []string) bool {
	found := false
	for _, st := range statements(doc) {
		m, _ := st.(map[string]any)
		var list []any
		switch res := m["Resource"].(type) {
		case string:
			list = []any{res}
		case []any:
			list = res
		default:
			continue
		}
		var out []any
		hit := false
		for _, x := range list {
			if x == old {
				hit = true
				for _, w := range with {
					out = append(out, w)
				}
				continue
			}
			out = append(out, x)
		}
		if hit {
			found = true
			if len(out) == 1 {
				m["Resource"] = out[0]
			} else {
				m["Resource"] = out
			}
		}
	}
	return found
}

// withSuffix returns each value with suffix appended.
func withSuffix(values []string, suffix string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = v + suffix
	}
	return out
}

func internalError(format string, args ...any) []Problem {
	return []Problem{{Message: "internal error: " + fmt.Sprintf(format, args...)}}
}
