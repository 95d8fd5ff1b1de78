package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/manifests"
	"github.com/iambind/iambind/reconcile/change"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// DesiredRole is one planned role read from a plan ConfigMap.
type DesiredRole struct {
	generator.Role
	// Source names where the plan came from: "<file>: ConfigMap <ns>/<name>".
	Source string
}

// ServiceAccountRef is a rendered ServiceAccount annotated with a role ARN.
type ServiceAccountRef struct {
	Namespace string
	Name      string
	RoleARN   string
	// Audience is eks.amazonaws.com/audience, or the default audience.
	Audience string
	Source   string
}

// Input is everything the reconcile job takes from the rendered manifests.
type Input struct {
	Roles           []*DesiredRole // sorted by name, one per role
	ServiceAccounts []ServiceAccountRef
	// Discovery are the self-hosted issuers to publish, sorted by issuer.
	Discovery []*DiscoveryPlan
	Workloads []WorkloadRef // injected containers (workloads.go)
	// whole is set when this input is a shard of a larger plan (shard.go).
	Whole *WholePlan
	// keepText overrides defaultKeepText when not 0; negative keeps no
	// text (the tests of both read paths).
	keepText int
}

// Owners returns the distinct owner tags of the planned roles, sorted.
func (in *Input) Owners() []string {
	if in.Whole != nil {
		return in.Whole.owners
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range in.Roles {
		if o := r.Owner(); o != "" && !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	sort.Strings(out)
	return out
}

// OIDCProviders are the IAM OIDC providers the plan needs, as the roles
// and the discovery plans name them (a published issuer gets its provider
// even before any binding uses it); one entry per occurrence.
func (in *Input) OIDCProviders() []generator.OIDCProvider {
	var out []generator.OIDCProvider
	for _, r := range in.Roles {
		out = append(out, r.OIDCProviders...)
	}
	for _, d := range in.Discovery {
		out = append(out, generator.OIDCProvider{URL: d.Issuer, ARN: d.ProviderARN, Audiences: d.Audiences})
	}
	return out
}

// ReadInputs reads every path (a file, a directory walked recursively for
// *.yaml, *.yml and *.json, or "-" for stdin) and collects the plan. The
// same role planned twice with the same role.json is kept once; planned
// twice differently it is an error.
func ReadInputs(paths []string, stdin io.Reader) (*Input, error) {
	return readInputs(paths, stdin, 0)
}

func readInputs(paths []string, stdin io.Reader, keepText int) (*Input, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no input: give -f FILE, -f DIR or -f - (stdin)")
	}
	in := &Input{keepText: keepText}
	byName := map[string]*DesiredRole{}
	stdinRead := false
	for _, p := range paths {
		if p == "-" {
			if stdinRead {
				return nil, fmt.Errorf("-f - given more than once")
			}
			stdinRead = true
			readErr := func(err error) error { return fmt.Errorf("reading stdin: %w", err) }
			// Not read again (a pipe cannot be): see readstream.go.
			if err := in.readStream("<stdin>", struct{ io.Reader }{stdin}, readErr, byName); err != nil {
				return nil, err
			}
			continue
		}
		files, err := manifests.Files(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := in.readFile(f, byName); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(in.Roles, func(i, j int) bool {
		a, b := in.Roles[i], in.Roles[j]
		return a.Name < b.Name || a.Name == b.Name && a.ARN < b.ARN
	})
	in.keepText = 0 // a setting of this read, not part of what was read
	return in, nil
}

// readFile streams one manifest file (see readstream.go).
func (in *Input) readFile(name string, byName map[string]*DesiredRole) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return in.readStream(name, f, nil, byName)
}

// addNodeSafely turns a panic inside kyaml's accessors (they index mapping
// nodes without checking their shape, e.g. `metadata:` given as a list) into
// an error naming the document, instead of crashing the reconcile job.
func (in *Input) addNodeSafely(file string, n *yaml.RNode, byName map[string]*DesiredRole) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = malformedObject(file, n.YNode().Line)
		}
	}()
	return in.addNode(file, n, byName)
}

func malformedObject(file string, line int) error {
	return fmt.Errorf("%s: line %d: malformed Kubernetes object (a field such as metadata, labels or data has the wrong shape)", file, line)
}

func (in *Input) addNode(file string, n *yaml.RNode, byName map[string]*DesiredRole) error {
	// kyaml's accessors assume a mapping; anything else is not a Kubernetes object.
	if n.YNode().Kind != yaml.MappingNode {
		return fmt.Errorf("%s: line %d: a document or list item is not a Kubernetes object (a YAML mapping)", file, n.YNode().Line)
	}
	kind := n.GetKind()
	if kind == kio.ResourceListKind || kind == "List" {
		items := n.Field("items")
		if items == nil || items.Value.YNode().Kind == yaml.ScalarNode && items.Value.YNode().Tag == "!!null" {
			return nil
		}
		if items.Value.YNode().Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: line %d: %s items must be a list", file, items.Value.YNode().Line, kind)
		}
		for _, item := range items.Value.Content() {
			if err := in.addNode(file, yaml.NewRNode(item), byName); err != nil {
				return err
			}
		}
		return nil
	}
	apiVersion := n.GetApiVersion()
	if (kind == "ConfigMap" || kind == "ServiceAccount") && apiVersion == "v1" {
		// A misshapen metadata would read as "no labels" and a plan would be
		// ignored silently (and, with --prune, its role deleted).
		if err := checkMetadataShape(n, kind); err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
	}
	switch {
	case kind == "ConfigMap" && apiVersion == "v1" && n.GetLabels()[generator.LabelPlan] == generator.PlanRoleValue:
		roles, err := parsePlanRoles(file, n)
		if err != nil {
			return err
		}
		for _, role := range roles {
			key := roleKey(role)
			if prev, ok := byName[key]; ok {
				if !SameRole(&prev.Role, &role.Role) {
					return fmt.Errorf("role %s is planned twice with different role.json: %s and %s", role.Name, prev.Source, role.Source)
				}
				continue
			}
			byName[key] = role
			in.Roles = append(in.Roles, role)
		}
	case kind == "ConfigMap" && apiVersion == "v1" && n.GetLabels()[generator.LabelPlan] == generator.PlanOIDCValue:
		source := fmt.Sprintf("%s: ConfigMap %s/%s", file, n.GetNamespace(), n.GetName())
		if err := checkDataStrings(n, generator.PlanKeyOpenIDConfig, generator.PlanKeyJWKS); err != nil {
			return fmt.Errorf("%s: %v", source, err)
		}
		d, err := ParseDiscoveryPlan(source, n.GetAnnotations(), n.GetDataMap())
		if err != nil {
			return err
		}
		if in.Discovery, err = CollectDiscovery(in.Discovery, d); err != nil {
			return err
		}
	case kind == "ServiceAccount" && apiVersion == "v1":
		ann := n.GetAnnotations()
		arn := ann[generator.AnnotationRoleARN]
		if arn == "" {
			return nil
		}
		aud := ann[generator.AnnotationAudience]
		if aud == "" {
			aud = generator.DefaultAudience
		}
		ns := n.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		in.ServiceAccounts = append(in.ServiceAccounts, ServiceAccountRef{
			Namespace: ns, Name: n.GetName(), RoleARN: arn, Audience: aud,
			Source: fmt.Sprintf("%s: ServiceAccount %s/%s", file, ns, n.GetName()),
		})
	default:
		if fields, runsPods := generator.PodTemplatePath(apiVersion, kind); runsPods {
			refs, err := injectedWorkload(file, n, fields)
			if err != nil {
				return err
			}
			in.Workloads = append(in.Workloads, refs...)
		}
	}
	return nil
}

// checkMetadataShape requires metadata, metadata.labels and
// metadata.annotations to be mappings when present.
func checkMetadataShape(n *yaml.RNode, kind string) error {
	md := n.Field("metadata")
	if md == nil {
		return nil
	}
	if y := md.Value.YNode(); y.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: malformed %s: metadata must be a mapping, got %s", y.Line, kind, yamlKindName(y))
	}
	for _, field := range []string{"labels", "annotations"} {
		f := md.Value.Field(field)
		if f == nil {
			continue
		}
		if y := f.Value.YNode(); y.Kind != yaml.MappingNode && !(y.Kind == yaml.ScalarNode && y.Tag == "!!null") {
			return fmt.Errorf("malformed %s %s/%s: metadata.%s must be a mapping, got %s", kind, n.GetNamespace(), n.GetName(), field, yamlKindName(y))
		}
	}
	return nil
}

// parsePlan decodes role.json strictly and checks that trust-policy.json is
// the same document as role.json's trustPolicy (a hand edit of one but not
// the other would make plan and IAM disagree silently).
func parsePlan(file string, n *yaml.RNode) (*DesiredRole, error) {
	source := fmt.Sprintf("%s: ConfigMap %s/%s", file, n.GetNamespace(), n.GetName())
	if err := checkPlanDataStrings(n); err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	return parseRoleFiles(source, n.GetDataMap(), generator.PlanKeyRole, generator.PlanKeyTrustPolicy)
}

// parseRoleFiles decodes one role of a plan ConfigMap: roleFile (role.json
// or target-role.json) checked against its trust policy file.
func parseRoleFiles(source string, data map[string]string, roleFile, trustFile string) (*DesiredRole, error) {
	raw, ok := data[roleFile]
	if !ok {
		return nil, fmt.Errorf("%s: plan has no %s", source, roleFile)
	}
	var role generator.Role
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&role); err != nil {
		return nil, fmt.Errorf("%s: %s: %v", source, roleFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: %s: unexpected data after the JSON object", source, roleFile)
	}
	if role.Name == "" {
		return nil, fmt.Errorf("%s: %s: name is empty", source, roleFile)
	}
	// Normalise inline documents to compact canonical JSON.
	for name, doc := range role.InlinePolicies {
		v, err := change.ParseDocument(string(doc))
		if err == nil {
			if _, isObject := v.(map[string]any); !isObject {
				err = errors.New("must be a JSON object (a policy document)")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: inlinePolicies.%s: %v", source, roleFile, name, err)
		}
		c, err := change.CanonicalJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: inlinePolicies.%s: %v", source, roleFile, name, err)
		}
		role.InlinePolicies[name] = json.RawMessage(c)
	}
	// The function always writes both files; without trust-policy.json the
	// trust policy could not be cross-checked against role.json.
	tp, ok := data[trustFile]
	if !ok {
		return nil, fmt.Errorf("%s: plan has no %s", source, trustFile)
	}
	want, err := generator.MarshalJSON(role.TrustPolicy, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	eq, err := change.SameDocument(tp, string(want))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", source, trustFile, err)
	}
	if !eq {
		return nil, fmt.Errorf("%s: %s differs from trustPolicy in %s (was one edited by hand? re-render the plan)",
			source, trustFile, roleFile)
	}
	return &DesiredRole{Role: role, Source: source}, nil
}

// checkPlanDataStrings rejects a plan whose role.json or trust-policy.json
// is not a plain string (a YAML mapping, list or alias): kyaml would read it
// as an empty string and the JSON error would not say why.
func checkPlanDataStrings(n *yaml.RNode) error {
	return checkDataStrings(n, generator.PlanKeyRole, generator.PlanKeyTrustPolicy, generator.PlanKeyTargetRole, generator.PlanKeyTargetTrustPolicy)
}

// checkDataStrings requires the given data keys, when present, to be strings.
func checkDataStrings(n *yaml.RNode, keys ...string) error {
	data := n.Field("data")
	if data == nil || data.Value.YNode().Kind != yaml.MappingNode {
		return nil
	}
	for _, key := range keys {
		f := data.Value.Field(key)
		if f == nil {
			continue
		}
		if y := f.Value.YNode(); y.Kind != yaml.ScalarNode || y.Tag == "!!null" {
			return fmt.Errorf("data.%s must be a string holding the JSON document, got %s", key, yamlKindName(y))
		}
	}
	return nil
}

func yamlKindName(y *yaml.Node) string {
	switch y.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "a YAML alias"
	case yaml.ScalarNode:
		if y.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the scalar %.40q", y.Value)
	}
	return "a non-string value"
}

// SameRole reports whether two planned roles are the same, field for field.
func SameRole(a, b *generator.Role) bool {
	ja, _ := generator.MarshalJSON(a, false)
	jb, _ := generator.MarshalJSON(b, false)
	return bytes.Equal(ja, jb)
}
