package generator

// Render-time injection (docs/injection.md): every workload that
// runs as a ServiceAccount of a binding with spec.inject on gets what the EKS
// pod identity webhook would add at admission (the projected token volume,
// its mount and the AWS_* env), written into the manifests themselves.
//
// What iambind added is recorded in the pod template annotation
// iambind.dev/injected, so a later run updates exactly that and removes it
// when the binding goes or injection is turned off, never touching what the
// user wrote. Planning (validation, warnings, the list of changes) reads
// only; the changes are applied after every check of Generate has passed.

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/iambind/iambind/internal/yamlnode"
	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Names the pod identity webhook uses; the webhook treats a pod that already
// carries them as injected, so a pod iambind injected is never injected twice.
const (
	AnnotationInjected       = "iambind.dev/injected"
	AnnotationSkipContainers = "eks.amazonaws.com/skip-containers"

	TokenVolumeName        = "aws-iam-token"
	TokenMountPath         = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	TokenFileName          = "token"
	TokenFile              = TokenMountPath + "/" + TokenFileName
	DefaultTokenExpiration = 86400

	EnvRoleARN       = "AWS_ROLE_ARN"
	EnvTokenFile     = "AWS_WEB_IDENTITY_TOKEN_FILE"
	EnvRegionalSTS   = "AWS_STS_REGIONAL_ENDPOINTS"
	EnvRegion        = "AWS_REGION"
	EnvDefaultRegion = "AWS_DEFAULT_REGION"
)

// Marker items besides env names.
const (
	markerVolume = "volume"
	markerMount  = "mount"
)

// podTemplatePaths is where each workload kind keeps its pod template
// (metadata + spec). A Pod is its own template.
var podTemplatePaths = map[string][]string{
	"v1/Pod":                       nil,
	"v1/ReplicationController":     {"spec", "template"},
	"apps/v1/Deployment":           {"spec", "template"},
	"apps/v1/StatefulSet":          {"spec", "template"},
	"apps/v1/DaemonSet":            {"spec", "template"},
	"apps/v1/ReplicaSet":           {"spec", "template"},
	"batch/v1/Job":                 {"spec", "template"},
	"batch/v1/CronJob":             {"spec", "jobTemplate", "spec", "template"},
	"argoproj.io/v1alpha1/Rollout": {"spec", "template"},
}

// PodTemplatePath returns the fields leading to a workload kind's pod
// template; ok is false for kinds that do not run pods.
func PodTemplatePath(apiVersion, kind string) (fields []string, ok bool) {
	fields, ok = podTemplatePaths[apiVersion+"/"+kind]
	return fields, ok
}

// injection is what a binding with injection on writes into its workloads.
type injection struct {
	binding     string // <namespace>/<name>
	roleARN     string
	audience    string
	expiration  int64
	regionalSTS bool
	region      string
	wildcards   []string // token-subject globs, system:serviceaccount:<ns>:<name>
	// profile is the token and variables injected: IRSA's web identity, or
	// EKS Pod Identity's container credentials (inject_podidentity.go).
	profile *tokenProfile
}

// injectDefault is spec.inject when neither the binding nor the cluster sets
// it: off where the EKS webhook exists, on for self-hosted issuers.
func injectDefault(c *IdentityCluster) bool {
	return c.HasDiscovery()
}

// planInjection resolves spec.inject (binding over cluster over the default)
// and returns what to inject, or nil when it is off. A binding with several
// clusters takes the cluster settings (inject default, region) of the first,
// as it takes its owner.
func planInjection(b *IdentityBinding, first *IdentityCluster, roleARN, audience string, wildcards []string, profile *tokenProfile) *injection {
	on := injectDefault(first)
	if first.Spec.Inject != nil {
		on = *first.Spec.Inject
	}
	if b.Spec.Inject != nil {
		on = *b.Spec.Inject
	}
	if !on {
		return nil
	}
	ns := b.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	exp := b.Spec.TokenExpiration
	if exp == 0 {
		exp = DefaultTokenExpiration
	}
	return &injection{
		binding:     ns + "/" + b.Metadata.Name,
		roleARN:     roleARN,
		audience:    audience,
		expiration:  exp,
		regionalSTS: b.Spec.STSRegionalEndpoints == nil || *b.Spec.STSRegionalEndpoints,
		region:      first.Spec.Region,
		wildcards:   wildcards,
		profile:     profile,
	}
}

// injectionPlan is every change injection makes, decided before any write.
type injectionPlan struct {
	changes  []*podChange
	injected int // workloads that carry iambind's injection after the run
}

// apply writes the planned changes; it is called once every check passed.
func (p *injectionPlan) apply() {
	for _, c := range p.changes {
		c.apply()
	}
}

// summary is appended to Generate's info line when workloads are injected.
// It states the result, not the change, so a re-run reports the same.
func (p *injectionPlan) summary() string {
	if p.injected == 0 {
		return ""
	}
	return ", " + plural(p.injected, "workload") + " injected"
}

// planInjections decides the injection of every workload in the input.
// Workloads that need no injection and carry no marker are not inspected
// beyond their ServiceAccount: their shape is the user's business.
func planInjections(workloads fn.KubeObjects, planned []*plannedBinding, claims map[subjectRef]claim, problems *Problems) *injectionPlan {
	p := &injectionPlan{}
	var wild []*plannedBinding
	anyInject := false
	for _, pb := range planned {
		if pb.inject != nil {
			anyInject = true
			if len(pb.inject.wildcards) > 0 {
				wild = append(wild, pb)
			}
		}
	}
	for _, obj := range workloads {
		planWorkload(p, obj, anyInject, claims, wild, problems)
	}
	return p
}

func planWorkload(p *injectionPlan, obj *fn.KubeObject, anyInject bool, claims map[subjectRef]claim, wild []*plannedBinding, problems *Problems) {
	sink := problemSink{ref: refOf(obj), problems: problems}
	apiVersion, kind := obj.GetAPIVersion(), obj.GetKind()
	fields := podTemplatePaths[apiVersion+"/"+kind]
	root := nodeOf(obj)
	tmpl := root
	for i, f := range fields {
		v := yamlnode.Get(tmpl, f)
		if isAbsent(v) {
			if kind == "Rollout" && anyInject && f == "template" && !isAbsent(yamlnode.Get(tmpl, "workloadRef")) {
				sink.infof("spec.workloadRef", "this Rollout takes its pod template from spec.workloadRef; iambind injects the referenced workload when it is in the input, not the Rollout")
			}
			return
		}
		if v.Kind != yaml.MappingNode {
			if anyInject {
				sink.errorf(strings.Join(fields[:i+1], "."), "must be a map (the pod template), got %s", nodeKindName(v))
			}
			return
		}
		tmpl = v
	}
	prefix := strings.Join(fields, ".")
	if prefix != "" {
		prefix += "."
	}
	spec := yamlnode.Get(tmpl, "spec")
	if isAbsent(spec) {
		return
	}
	if spec.Kind != yaml.MappingNode {
		if anyInject {
			sink.errorf(prefix+"spec", "must be a map (the pod spec), got %s", nodeKindName(spec))
		}
		return
	}

	// The effective ServiceAccount: serviceAccountName, else the deprecated
	// serviceAccount, else "default" (as the API server defaults it).
	sa := "default"
	for _, f := range []string{"serviceAccountName", "serviceAccount"} {
		v := yamlnode.Get(spec, f)
		if isAbsent(v) {
			continue
		}
		if v.Kind != yaml.ScalarNode {
			if anyInject {
				sink.errorf(prefix+"spec."+f, "must be a string, got %s", nodeKindName(v))
			}
			return
		}
		if v.Value != "" {
			sa = v.Value
			break
		}
	}
	inj := lookupInjection(subjectRef{Namespace: namespaceOf(obj), Name: sa}, claims, wild, sink, prefix+"spec.serviceAccountName")

	meta := yamlnode.Get(tmpl, "metadata")
	markerText, ok := readAnnotation(meta, AnnotationInjected, prefix+"metadata", sink, inj != nil)
	if !ok || (inj == nil && markerText == "") {
		return
	}
	mk, err := parseMarker(markerText)
	if err != nil {
		sink.errorf(prefix+"metadata.annotations."+AnnotationInjected, "%v; it records what iambind injected: restore it or remove it together with what it lists", err)
		return
	}
	change := planPod(tmpl, meta, spec, prefix, inj, mk, sink)
	if change == nil {
		return
	}
	if !change.marker.empty() {
		p.injected++
	}
	p.changes = append(p.changes, change)
}

// lookupInjection finds the injection for a workload's ServiceAccount: the
// binding that claims it by name, else a binding with injection on whose
// wildcard subject matches it (as the role's trust policy would).
func lookupInjection(sa subjectRef, claims map[subjectRef]claim, wild []*plannedBinding, sink problemSink, field string) *injection {
	if c, ok := claims[sa]; ok {
		return c.binding.inject
	}
	sub := SubjectFor(sa.Namespace, sa.Name)
	var found *plannedBinding
	for _, pb := range wild {
		for _, pattern := range pb.inject.wildcards {
			// Subjects hold no '/' and globs only DNS characters, * and ?,
			// so path.Match is IAM StringLike here.
			if ok, _ := path.Match(pattern, sub); !ok {
				continue
			}
			if found != nil && found != pb {
				sink.errorf(field, "ServiceAccount %s matches the wildcard subjects of IdentityBindings %s and %s, both with inject on: iambind cannot tell which role to inject; bind it by name in one of them", sa, found.key, pb.key)
				return nil
			}
			found = pb
		}
	}
	if found == nil {
		return nil
	}
	return found.inject
}

// readAnnotation returns one annotation of a pod template's metadata. A
// misshapen metadata is an error only when injection applies (need).
func readAnnotation(meta *yaml.Node, key, field string, sink problemSink, need bool) (string, bool) {
	if isAbsent(meta) {
		return "", true
	}
	if meta.Kind != yaml.MappingNode {
		if need {
			sink.errorf(field, "must be a map, got %s", nodeKindName(meta))
		}
		return "", !need
	}
	ann := yamlnode.Get(meta, "annotations")
	if isAbsent(ann) {
		return "", true
	}
	if ann.Kind != yaml.MappingNode {
		if need {
			sink.errorf(field+".annotations", "must be a map of strings, got %s", nodeKindName(ann))
		}
		return "", !need
	}
	for i := 0; i+1 < len(ann.Content); i += 2 {
		if ann.Content[i+1].Kind != yaml.ScalarNode {
			if need || ann.Content[i].Value == key {
				sink.errorf(field+".annotations."+ann.Content[i].Value, "must be a string, got %s", nodeKindName(ann.Content[i+1]))
				return "", false
			}
		}
	}
	v := yamlnode.Get(ann, key)
	if v == nil {
		return "", true
	}
	return v.Value, true
}

// marker is what iambind injected into one pod template: the token volume
// (IRSA's "volume" or Pod Identity's "podIdentityVolume"), and per
// container the mount and env names. Its text form, sorted, is
// "volume; app: mount AWS_ROLE_ARN ...; init: ...".
type marker struct {
	volumes    map[string]bool     // volume items
	containers map[string][]string // container name -> items (mount items, env names)
}

var markerItems = map[string]bool{
	markerMount: true, markerPodIdentityMount: true, EnvRoleARN: true, EnvTokenFile: true,
	EnvRegionalSTS: true, EnvRegion: true, EnvDefaultRegion: true,
	EnvContainerCredentialsFullURI: true, EnvContainerAuthTokenFile: true,
}

// markerName is a container name the marker can record: Kubernetes wants a
// DNS-1123 label, but what the function reads is only required to survive
// the marker's own syntax (no white space, ':' or ';').
var markerName = regexp.MustCompile(`^[^\s:;]+$`)

func parseMarker(s string) (marker, error) {
	m := marker{volumes: map[string]bool{}, containers: map[string][]string{}}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == markerVolume || part == markerPodIdentityVolume {
			m.volumes[part] = true
			continue
		}
		name, items, ok := strings.Cut(part, ":")
		name = strings.TrimSpace(name)
		if !ok || !markerName.MatchString(name) {
			return m, fmt.Errorf("%q is neither %q, %q nor \"<container>: <items>\"", part, markerVolume, markerPodIdentityVolume)
		}
		if _, dup := m.containers[name]; dup {
			return m, fmt.Errorf("container %q is listed twice", name)
		}
		list := strings.Fields(items)
		for _, it := range list {
			if !markerItems[it] {
				return m, fmt.Errorf("container %q: %q is not something iambind injects", name, it)
			}
		}
		m.containers[name] = list
	}
	return m, nil
}

func (m marker) empty() bool { return len(m.volumes) == 0 && len(m.containers) == 0 }

func (m marker) owns(container, item string) bool {
	for _, it := range m.containers[container] {
		if it == item {
			return true
		}
	}
	return false
}

func (m marker) String() string {
	var parts []string
	parts = append(parts, slices.Sorted(maps.Keys(m.volumes))...)
	for _, name := range slices.Sorted(maps.Keys(m.containers)) {
		items := slices.Sorted(slices.Values(m.containers[name]))
		parts = append(parts, name+": "+strings.Join(items, " "))
	}
	return strings.Join(parts, "; ")
}

// Small YAML node helpers: the SDK's accessors copy or re-walk the tree on
// every call, and injection touches every workload of large streams. The
// mapping lookup, which reconcile needs too, is yamlnode.Get; the node
// behind an object is nodeOf (decode.go).

func mapSet(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, strNode(key), v)
}

func mapDelete(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
			return
		}
	}
}

func isAbsent(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func nodeKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "a YAML alias"
	}
	return fmt.Sprintf("the scalar %.40q", n.Value)
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func mapNode(kv ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
}

func itoa64(i int64) string { return strconv.FormatInt(i, 10) }

func (s problemSink) infof(field, format string, args ...any) {
	*s.problems = append(*s.problems, Problem{SeverityInfo, s.ref, field, fmt.Sprintf(format, args...)})
}
