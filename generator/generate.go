package generator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"

	"github.com/iambind/iambind/internal/parallel"
)

// Output is the result of one expansion.
type Output struct {
	// Items is the full output stream: every input item (clusters and
	// bindings marked local-config, or left out under kustomize;
	// ServiceAccounts annotated in place), then the generated objects. On
	// error it is the input, untouched.
	Items fn.KubeObjects
	// Problems holds every error and warning, each naming resource and field.
	Problems Problems
	// Summary is a one-line account of what changed, for an info result.
	Summary string
	// bystandersNeeded: under Options.SetAside, a binding injects (nothing was changed).
	bystandersNeeded bool
}

// GeneratedDir is the package directory kpt writes generated objects to.
const GeneratedDir = "iambind"

// Generate expands every IdentityBinding in items (with the IdentityClusters
// in items and, when it is one, the functionConfig) into annotated
// ServiceAccounts and plan ConfigMaps. It is pure: the same input always
// gives byte-identical output, and running it over its own output is a no-op.
func Generate(items fn.KubeObjects, functionConfig *fn.KubeObject) Output {
	return GenerateWith(items, functionConfig, Options{})
}

// GenerateWith is Generate with operator policies (Guardrails): their
// objects in items are decoded, passed through as local-config, and every
// planned role must satisfy them.
func GenerateWith(items fn.KubeObjects, functionConfig *fn.KubeObject, opts Options) Output {
	var problems Problems
	in := classify(items, opts, &problems)
	if opts.SetAside {
		in.underKustomize = false
	}
	orphanedPlans(in, &problems)
	clusters := decodeClusters(in.clusters, functionConfig, &problems)
	policies := decodePolicies(in.policies, opts, &problems)

	// Bindings are planned independently of each other (the clusters and
	// policies are only read), on every core; their problems are put
	// together in input order, so the output is the same as one by one.
	plans := make([]*plannedBinding, len(in.bindings))
	bindingProblems := make([]Problems, len(in.bindings))
	parallel.Each(len(in.bindings), func(i int) {
		plans[i] = planOne(in.bindings[i], clusters, policies, &bindingProblems[i])
	})
	var planned []*plannedBinding
	for i, pb := range plans {
		problems = append(problems, bindingProblems[i]...)
		if pb != nil {
			planned = append(planned, pb)
		}
	}
	if opts.SetAside && injects(planned) {
		return Output{Items: items, bystandersNeeded: true}
	}
	sort.Slice(planned, func(i, j int) bool { return planned[i].key < planned[j].key })
	checkUniqueRoles(planned, &problems)

	discovery := planDiscovery(clusters, planned, &problems)
	claims := claimServiceAccounts(planned, in.serviceAccounts, &problems)
	checkPlanNames(planned, in.configMaps, &problems)
	checkDiscoveryNames(discovery, planned, in.configMaps, &problems)
	// Objects emit writes annotations to must be able to take them.
	toAnnotate := append(append(append(fn.KubeObjects(nil), in.clusters...), in.bindings...), in.policies...)
	for _, c := range claims {
		if c.existing != nil {
			toAnnotate = append(toAnnotate, c.existing)
		}
	}
	checkAnnotatable(toAnnotate, &problems)
	injections := planInjections(in.workloads, planned, claims, &problems)

	if problems.HasErrors() {
		return Output{Items: items, Problems: problems.sorted()}
	}
	out := emit(in, planned, discovery, claims, problems, leavesInputsOut(in, functionConfig))
	injections.apply()
	out.Summary += injections.summary()
	return out
}

// planOne decodes, plans, lints and checks one IdentityBinding against the
// policies; it returns nil when any step refused it (problems says why).
func planOne(obj *fn.KubeObject, clusters map[string]*IdentityCluster, policies []RolePolicy, problems *Problems) *plannedBinding {
	sink := problemSink{ref: refOf(obj), problems: problems}
	var b IdentityBinding
	if !decodeStrict(nodeOf(obj), &b, sink) {
		return nil
	}
	pb := planBinding(&b, clusters, sink)
	if pb == nil {
		return nil
	}
	// Lint and guardrails both report, whichever refuses.
	if linted := lintInline(pb, &b, sink); applyPolicies(pb, &b, policies, sink) && linted {
		return pb
	}
	return nil
}

// input is the input stream split by what iambind does with each item.
type input struct {
	passThrough     fn.KubeObjects // every non-generated item, in input order
	passKinds       []passKind     // what each passThrough item is, same order
	others          fn.KubeObjects // passThrough less clusters and bindings
	clusters        fn.KubeObjects
	bindings        fn.KubeObjects
	policies        fn.KubeObjects                // operator policies (Options.Policies kinds)
	serviceAccounts map[subjectRef]*fn.KubeObject // ServiceAccounts among others
	configMaps      map[string]bool               // "<namespace>/<name>" of the ConfigMaps among others
	workloads       fn.KubeObjects                // items that run pods (inject.go)
	generatedPlans  fn.KubeObjects                // iambind's own plan ConfigMaps, regenerated from their bindings
	underKustomize  bool                          // every item carries kustomize's id (kustomize.go)
}

// passKind is what emit does with a pass-through item. classify reads each
// item's apiVersion and kind once: every read walks the object's YAML tree,
// and on a large stream of app resources those reads were a fifth of
// Generate's time (docs/benchmarks.md).
type passKind uint8

const (
	passOther          passKind = iota
	passServiceAccount          // a v1 ServiceAccount: gets or loses iambind's annotations
	passIambind                 // an IdentityCluster, IdentityBinding or policy: becomes local-config
)

func (in *input) pass(obj *fn.KubeObject, k passKind) {
	in.passThrough = append(in.passThrough, obj)
	in.passKinds = append(in.passKinds, k)
}

func classify(items fn.KubeObjects, opts Options, problems *Problems) input {
	in := input{serviceAccounts: map[subjectRef]*fn.KubeObject{}, configMaps: map[string]bool{}, underKustomize: len(items) > 0}
	for _, obj := range items {
		if in.underKustomize && obj.GetAnnotation(AnnotationKustomizeID) == "" {
			in.underKustomize = false
		}
		apiVersion, kind := obj.GetAPIVersion(), obj.GetKind()
		group, version, _ := strings.Cut(apiVersion, "/")
		if apiVersion == "" || !strings.Contains(apiVersion, "/") {
			group, version = "", apiVersion
		}
		switch {
		case group == Group && version == Version && kind == KindCluster:
			in.clusters = append(in.clusters, obj)
			in.pass(obj, passIambind)
		case group == Group && version == Version && kind == KindBinding:
			in.bindings = append(in.bindings, obj)
			in.pass(obj, passIambind)
		case group == Group && version == Version && opts.policyKind(kind) != nil:
			in.policies = append(in.policies, obj)
			in.pass(obj, passIambind)
		case group == Group:
			sink := problemSink{ref: refOf(obj), problems: problems}
			sink.errorf("apiVersion", "%s %s is not supported: this function understands %s %s", apiVersion, kind, APIVersion, opts.kindList())
		case isGenerated(obj, apiVersion, kind):
			// Regenerated below; dropping it here is what makes a removed binding's output disappear.
			if kind == "ConfigMap" {
				in.generatedPlans = append(in.generatedPlans, obj)
			}
		case isGeneratedDiscovery(obj, apiVersion, kind):
			// Regenerated below, like the binding plans.
		default:
			in.others = append(in.others, obj)
			switch {
			case apiVersion == "v1" && kind == "ServiceAccount":
				in.pass(obj, passServiceAccount)
				id := subjectRef{Namespace: namespaceOf(obj), Name: obj.GetName()}
				if _, dup := in.serviceAccounts[id]; !dup {
					in.serviceAccounts[id] = obj
				}
			case apiVersion == "v1" && kind == "ConfigMap":
				in.pass(obj, passOther)
				in.configMaps[namespaceOf(obj)+"/"+obj.GetName()] = true
			default:
				in.pass(obj, passOther)
				if _, runsPods := podTemplatePaths[apiVersion+"/"+kind]; runsPods {
					in.workloads = append(in.workloads, obj)
				}
			}
		}
	}
	return in
}

// isGenerated tells iambind's own output apart from everything else. The
// cheap apiVersion/kind test comes first: most items are neither kind.
func isGenerated(obj *fn.KubeObject, apiVersion, kind string) bool {
	if apiVersion != "v1" || (kind != "ServiceAccount" && kind != "ConfigMap") {
		return false
	}
	if obj.GetLabel(LabelManagedBy) != ManagedByValue || obj.GetAnnotation(AnnotationBinding) == "" {
		return false
	}
	return kind == "ServiceAccount" || obj.GetLabel(LabelPlan) == PlanRoleValue
}

// isGeneratedDiscovery tells a discovery plan iambind wrote.
func isGeneratedDiscovery(obj *fn.KubeObject, apiVersion, kind string) bool {
	return apiVersion == "v1" && kind == "ConfigMap" && obj.GetLabel(LabelManagedBy) == ManagedByValue &&
		obj.GetLabel(LabelPlan) == PlanOIDCValue && obj.GetAnnotation(AnnotationCluster) != ""
}

func namespaceOf(obj *fn.KubeObject) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	return "default"
}

func refOf(obj *fn.KubeObject) ResourceRef {
	return ResourceRef{APIVersion: obj.GetAPIVersion(), Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// decodeClusters decodes and validates the IdentityClusters in scope.
func decodeClusters(objs fn.KubeObjects, functionConfig *fn.KubeObject, problems *Problems) map[string]*IdentityCluster {
	all := append(fn.KubeObjects(nil), objs...)
	if fc := functionConfig; fc != nil && !fc.IsEmpty() {
		switch {
		case fc.GetKind() == KindCluster:
			all = append(all, fc)
		case fc.GetAPIVersion() == "v1" && fc.GetKind() == "ConfigMap":
			// kpt fn eval passes an empty function-input ConfigMap when there is no config.
		default:
			sink := problemSink{ref: refOf(fc), problems: problems}
			sink.errorf("kind", "the function config must be an %s %s (or none), got %s %s", APIVersion, KindCluster, fc.GetAPIVersion(), fc.GetKind())
		}
	}
	clusters := map[string]*IdentityCluster{}
	for _, obj := range all {
		sink := problemSink{ref: refOf(obj), problems: problems}
		var c IdentityCluster
		if obj.GetAPIVersion() != APIVersion {
			sink.errorf("apiVersion", "%q is not supported, use %s", obj.GetAPIVersion(), APIVersion)
			continue
		}
		if !decodeStrict(nodeOf(obj), &c, sink) || !defaultAndValidateCluster(&c, sink) {
			continue
		}
		if prev, dup := clusters[c.Metadata.Name]; dup {
			// kpt fn eval --fn-config may pass a cluster that is also in the package.
			if !sameClusterSpec(prev, &c) {
				sink.errorf("metadata.name", "two IdentityClusters are named %q with different specs", c.Metadata.Name)
			}
			continue
		}
		clusters[c.Metadata.Name] = &c
	}
	return clusters
}

func sameClusterSpec(a, b *IdentityCluster) bool {
	ja, _ := MarshalJSON(a.Spec, false)
	jb, _ := MarshalJSON(b.Spec, false)
	return string(ja) == string(jb)
}

// checkUniqueRoles refuses two bindings that plan the same role (IAM role
// names are unique per account, case-insensitively).
func checkUniqueRoles(planned []*plannedBinding, problems *Problems) {
	owners := map[string]*plannedBinding{}
	for _, pb := range planned {
		key := roleKey(pb.role.ARN, pb.role.Name)
		if other, dup := owners[key]; dup {
			sink := problemSink{ref: pb.ref, problems: problems}
			sink.errorf("spec.role.name", "role %q is also planned by IdentityBinding %s; IAM role names are unique per account (case-insensitive)", pb.role.Name, other.key)
			continue
		}
		owners[key] = pb
	}
	checkUniqueTargetRoles(planned, owners, problems)
}

// roleKey is what makes a role unique in IAM: its account and its name,
// case-insensitively.
func roleKey(arn, name string) string {
	return strings.SplitN(arn, ":", 6)[4] + "/" + strings.ToLower(name)
}

// claim records which binding annotates which ServiceAccount.
type claim struct {
	binding  *plannedBinding
	existing *fn.KubeObject // nil when the ServiceAccount is generated
}

// claimServiceAccounts assigns each concrete subject to exactly one binding
// and checks existing ServiceAccounts for conflicting role annotations.
func claimServiceAccounts(planned []*plannedBinding, existing map[subjectRef]*fn.KubeObject, problems *Problems) map[subjectRef]claim {
	claims := map[subjectRef]claim{}
	for _, pb := range planned {
		sink := problemSink{ref: pb.ref, problems: problems}
		for _, sa := range pb.subjects {
			if other, dup := claims[sa]; dup {
				sink.errorf("spec.serviceAccounts", "ServiceAccount %s is also claimed by IdentityBinding %s; a ServiceAccount can carry only one role", sa, other.binding.key)
				continue
			}
			obj := existing[sa]
			if obj == nil && !pb.create {
				sink.warnf("spec.serviceAccounts", "ServiceAccount %s is not in the input and createServiceAccounts is false, so no ServiceAccount carries this role", sa)
			}
			if obj != nil {
				current := obj.GetAnnotation(AnnotationRoleARN)
				ownedBy := obj.GetAnnotation(AnnotationBinding)
				// A role ARN iambind did not set is the user's (or Helm's): never overwrite it.
				// One that iambind set for this or a since-removed binding is ours to update.
				if current != "" && current != pb.role.ARN && ownedBy == "" {
					sink.errorf("spec.serviceAccounts", "ServiceAccount %s is already annotated %s=%s, not this binding's role %s; remove the annotation or bind another ServiceAccount (iambind never overwrites it silently)", sa, AnnotationRoleARN, current, pb.role.ARN)
					continue
				}
			}
			claims[sa] = claim{binding: pb, existing: obj}
		}
	}
	return claims
}

// checkPlanNames refuses a user ConfigMap that has the name a plan needs;
// taken holds "<namespace>/<name>" of the ConfigMaps in the input.
func checkPlanNames(planned []*plannedBinding, taken map[string]bool, problems *Problems) {
	for _, pb := range planned {
		ns, name, _ := strings.Cut(pb.key, "/")
		if taken[ns+"/"+PlanNamePrefix+name] {
			sink := problemSink{ref: pb.ref, problems: problems}
			sink.errorf("metadata.name", "ConfigMap %s/%s%s already exists in the input and is not iambind's; rename the binding or that ConfigMap", ns, PlanNamePrefix, name)
		}
	}
}

// emit writes the output stream once every check has passed.
func emit(in input, planned []*plannedBinding, discovery []*discoveryPlan, claims map[subjectRef]claim, problems Problems, leaveInputsOut bool) Output {
	out := make(fn.KubeObjects, 0, len(in.passThrough)+2*len(planned)+len(discovery))
	annotated, leftOut := 0, 0
	// Pass-through in input order: ServiceAccounts get (or lose) iambind's
	// annotations, clusters and bindings become local-config (or, under
	// kustomize, which drops local-config anyway, are left out: kustomize.go).
	for i, obj := range in.passThrough {
		switch in.passKinds[i] {
		case passServiceAccount:
			id := subjectRef{Namespace: namespaceOf(obj), Name: obj.GetName()}
			if c, claimed := claims[id]; claimed && c.existing == obj {
				setServiceAccountAnnotations(obj, c.binding.annotations)
				annotated++
			} else {
				setServiceAccountAnnotations(obj, nil) // a removed binding's annotations go
			}
		case passIambind:
			if leaveInputsOut {
				leftOut++
				continue
			}
			if obj.GetAnnotation(AnnotationLocalConfig) != "true" {
				dropNullAnnotations(obj)
				mustSet(obj.SetAnnotation(AnnotationLocalConfig, "true"))
			}
		}
		out = append(out, obj)
	}

	for _, dp := range discovery {
		obj := discoveryConfigMap(dp)
		// A directory of its own: no binding name can clash with it.
		setPathAnnotations(obj, fmt.Sprintf("%s/%s/oidc/%s.yaml", GeneratedDir, dp.namespace, dp.cluster.Metadata.Name), 0)
		out = append(out, obj)
	}
	created := 0
	for _, pb := range planned {
		ns, name, _ := strings.Cut(pb.key, "/")
		file := fmt.Sprintf("%s/%s/%s.yaml", GeneratedDir, ns, name)
		objs := fn.KubeObjects{planConfigMap(pb, ns, name)}
		for _, sa := range pb.subjects {
			if c := claims[sa]; c.binding == pb && c.existing == nil && pb.create {
				objs = append(objs, generatedServiceAccount(sa, pb))
				created++
			}
		}
		for i, obj := range objs {
			setPathAnnotations(obj, file, i)
			out = append(out, obj)
		}
	}
	summary := fmt.Sprintf("%s created, %d annotated in place, %s planned",
		plural(created, "ServiceAccount"), annotated, plural(plannedRoles(planned), "role"))
	if len(discovery) > 0 {
		summary += fmt.Sprintf(", %s to publish", plural(len(discovery), "OIDC issuer"))
	}
	if leftOut > 0 {
		summary += fmt.Sprintf("; %s left out of the output (kustomize drops local-config resources; %s: \"true\" on the IdentityCluster keeps them)",
			plural(leftOut, "input"), AnnotationKeepInputs)
	}
	return Output{Items: out, Problems: problems.sorted(), Summary: summary}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// setServiceAccountAnnotations makes the iambind annotations of a
// ServiceAccount equal want (nil removes them). Keys already present keep
// their position, so re-running over its own output changes nothing.
func setServiceAccountAnnotations(obj *fn.KubeObject, want map[string]string) {
	if want == nil && obj.GetAnnotation(AnnotationBinding) == "" {
		return // never annotated by iambind: leave the user's annotations alone
	}
	dropNullAnnotations(obj)
	for _, k := range serviceAccountAnnotations {
		if v, ok := want[k]; ok {
			if obj.GetAnnotation(k) != v {
				mustSet(obj.SetAnnotation(k, v))
			}
		} else if _, has := obj.GetAnnotations()[k]; has {
			mustSet(obj.RemoveAnnotation(k))
		}
	}
	mustSet(obj.RemoveAnnotationsIfEmpty())
}

func planConfigMap(pb *plannedBinding, ns, name string) *fn.KubeObject {
	obj := newObject("ConfigMap", ns, PlanNamePrefix+name)
	mustSet(obj.SetLabel(LabelPlan, PlanRoleValue))
	mustSet(obj.SetAnnotation(AnnotationBinding, pb.key))
	mustSet(obj.SetAnnotation(AnnotationPlanRoleARN, pb.role.ARN))
	mustSet(obj.SetNestedString(string(pb.roleJSON)+"\n", "data", PlanKeyRole))
	mustSet(obj.SetNestedString(string(pb.trustJSON)+"\n", "data", PlanKeyTrustPolicy))
	if pb.target != nil {
		mustSet(obj.SetAnnotation(AnnotationPlanTargetRoleARN, pb.target.ARN))
		mustSet(obj.SetNestedString(string(pb.targetJSON)+"\n", "data", PlanKeyTargetRole))
		mustSet(obj.SetNestedString(string(pb.targetTrustJSON)+"\n", "data", PlanKeyTargetTrustPolicy))
	}
	return obj
}

func generatedServiceAccount(sa subjectRef, pb *plannedBinding) *fn.KubeObject {
	obj := newObject("ServiceAccount", sa.Namespace, sa.Name)
	for _, k := range serviceAccountAnnotations {
		if v, ok := pb.annotations[k]; ok {
			mustSet(obj.SetAnnotation(k, v))
		}
	}
	return obj
}

func newObject(kind, namespace, name string) *fn.KubeObject {
	obj := fn.NewEmptyKubeObject()
	mustSet(obj.SetAPIVersion("v1"))
	mustSet(obj.SetKind(kind))
	mustSet(obj.SetName(name))
	mustSet(obj.SetNamespace(namespace))
	mustSet(obj.SetLabel(LabelManagedBy, ManagedByValue))
	return obj
}

// setPathAnnotations tells kpt which file to write a generated object to;
// both the current and the legacy annotations, as kpt and kustomize read either.
func setPathAnnotations(obj *fn.KubeObject, file string, index int) {
	mustSet(obj.SetAnnotation(kioutil.PathAnnotation, file))
	mustSet(obj.SetAnnotation(kioutil.IndexAnnotation, strconv.Itoa(index)))
	//lint:ignore SA1019 the legacy annotations are written on purpose, for readers that know only them
	mustSet(obj.SetAnnotation(kioutil.LegacyPathAnnotation, file))
	//lint:ignore SA1019 as above
	mustSet(obj.SetAnnotation(kioutil.LegacyIndexAnnotation, strconv.Itoa(index)))
}

// mustSet panics on errors that only a programming mistake can cause
// (setting a string field on an object iambind built itself).
func mustSet(err error) {
	if err != nil {
		panic(fmt.Sprintf("iambind: internal error: %v", err))
	}
}
