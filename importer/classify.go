package importer

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/yaml"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/change"
	"github.com/iambind/iambind/reconcile/iam"
)

// classify builds the binding that renders the live role, renders it with
// the generator itself, and compares: exact, tightened, or skipped.
func classify(g *roleGroup, o *iam.ObservedRole, lt *liveTrust, cs *clusterSet, deps Deps, taken map[string]bool) RoleResult {
	res := resultFor(g)
	res.ARN = o.ARN
	skip := func(reason string, b *generator.IdentityBinding) RoleResult {
		res.Class, res.Reason = ClassSkipped, reason
		if b != nil {
			res.Closest = bindingYAML(b)
		}
		return res
	}

	if owner := o.Tags[generator.TagOwner]; owner != "" {
		return skip(fmt.Sprintf("already managed by iambind (%s=%s): import brings in roles iambind does not manage yet", generator.TagOwner, owner), nil)
	}

	// Clusters and mode.
	var clusters []string
	for _, is := range lt.issuers {
		clusters = append(clusters, cs.byIssuer[is].Metadata.Name)
	}
	mode := ""
	var piSubjects []generator.ServiceAccount
	if lt.podIdentity {
		var piClusters []string
		for _, r := range g.refs {
			if r.Source == SourcePodIdentity {
				piClusters = append(piClusters, r.IdentityCluster)
				for _, s := range r.Subjects {
					piSubjects = append(piSubjects, generator.ServiceAccount{Namespace: s.Namespace, Name: s.Name})
				}
			}
		}
		piClusters = slices.Compact(slices.Sorted(slices.Values(piClusters)))
		piSubjects = sortedSAs(piSubjects)
		switch {
		case len(piClusters) == 0:
			return skip(fmt.Sprintf("trusts %s but no Pod Identity association of it was read (give --eks-cluster-name)", generator.PodIdentityPrincipal), nil)
		case len(clusters) == 0:
			mode, clusters = generator.ModePodIdentity, piClusters
		default:
			mode = generator.ModeBoth
			if !slices.Equal(slices.Sorted(slices.Values(clusters)), piClusters) {
				return skip(fmt.Sprintf("trusts the OIDC issuers of clusters %v but has Pod Identity associations in %v", clusters, piClusters), nil)
			}
			if !slices.Equal(piSubjects, lt.subjects) {
				return skip("its Pod Identity associations and its OIDC trust name different ServiceAccounts", nil)
			}
		}
	}
	subjects := lt.subjects
	if mode == generator.ModePodIdentity {
		subjects = piSubjects
	}
	slices.Sort(clusters)

	// The token settings the ServiceAccounts carry.
	audience := ""
	var tokenExp int64
	var regional *bool
	nsOfRef := ""
	for _, r := range g.refs {
		// Only the ServiceAccounts the role trusts speak for its token.
		if r.Source != SourceServiceAccount || len(r.Subjects) == 0 || !admits(lt.subjects, r.Subjects[0]) {
			continue
		}
		if audience == "" {
			audience = r.Audience
		}
		if tokenExp == 0 {
			tokenExp = r.TokenExpiration
		}
		if regional == nil {
			regional = r.STSRegional
		}
		if nsOfRef == "" && len(r.Subjects) > 0 {
			nsOfRef = r.Subjects[0].Namespace
		}
	}
	switch len(lt.audiences) {
	case 0:
	case 1:
		audience = lt.audiences[0]
	default:
		return skip(fmt.Sprintf("trusts several audiences (%s); a binding has one", strings.Join(lt.audiences, ", ")), nil)
	}
	if audience == generator.DefaultAudience {
		audience = ""
	}

	ns := nsOfRef
	if ns == "" && len(subjects) > 0 {
		ns = subjects[0].Namespace
	}
	if ns == "" {
		ns = "default"
	}
	b := newBinding(ns, bindingName(ns, o.Name, taken), o, clusters, subjects)
	b.Spec.Mode = mode
	b.Spec.AllowWildcardSubjects = lt.wildcard
	b.Spec.Audience = audience
	b.Spec.TokenExpiration = tokenExp
	if regional != nil && !*regional {
		b.Spec.STSRegionalEndpoints = regional
	}

	if lt.unexpressible != "" {
		return skip(lt.unexpressible, b)
	}
	rendered, problem := render(b, cs, clusters)
	if problem != "" {
		return skip("no binding can express it: "+problem, b)
	}
	if diff := sameSettings(o, rendered); diff != "" {
		return skip("the rendered role would differ from IAM: "+diff, b)
	}
	res.binding, res.clusters = b, clusters
	renderedTrust := iam.TrustDocument(rendered)
	if same, _ := change.SameTrust(o.TrustPolicy, renderedTrust); same {
		res.Class = ClassExact
		return res
	}
	ratoms, err := change.TrustAtoms(renderedTrust)
	if err == nil {
		if added, ok := tightening(lt.atoms, ratoms); ok && len(added) > 0 {
			res.Class, res.Reason = ClassTightened, "trust tightened: "+strings.Join(added, ", ")+" added"
			return res
		}
	}
	res.binding, res.clusters = nil, nil
	return skip("the trust policy admits other tokens than any binding would (e.g. different ServiceAccounts per issuer)", b)
}

func sortedSAs(s []generator.ServiceAccount) []generator.ServiceAccount {
	slices.SortFunc(s, func(a, b generator.ServiceAccount) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return slices.Compact(s)
}

// newBinding is the binding of a live role: its explicit name and every
// setting, so the rendered role equals it.
func newBinding(ns, name string, o *iam.ObservedRole, clusters []string, subjects []generator.ServiceAccount) *generator.IdentityBinding {
	b := &generator.IdentityBinding{APIVersion: generator.APIVersion, Kind: generator.KindBinding,
		Metadata: generator.ObjectMeta{Name: name, Namespace: ns}}
	s := &b.Spec
	s.Clusters = clusters
	for _, sa := range subjects {
		e := generator.ServiceAccount{Name: sa.Name}
		if sa.Namespace != ns {
			e.Namespace = sa.Namespace
		}
		s.ServiceAccounts = append(s.ServiceAccounts, e)
	}
	s.Role = generator.RoleSpec{Name: o.Name, Path: o.Path, Description: o.Description, NoDescription: o.Description == "",
		MaxSessionDuration: o.MaxSessionDuration, PermissionsBoundary: o.PermissionsBoundary}
	tags := map[string]string{}
	for k, v := range o.Tags {
		switch {
		case strings.HasPrefix(strings.ToLower(k), "aws:"), k == generator.TagOwner, k == generator.TagBinding, k == generator.TagManagedBy:
		default:
			tags[k] = v
		}
	}
	if len(tags) > 0 {
		s.Role.Tags = tags
	}
	s.Policies.Managed = slices.Clone(o.ManagedPolicyARNs)
	if len(o.InlinePolicies) > 0 {
		s.Policies.Inline = map[string]json.RawMessage{}
		for n, doc := range o.InlinePolicies {
			if c, err := change.CanonicalJSON([]byte(doc)); err == nil {
				s.Policies.Inline[n] = json.RawMessage(c)
			} else {
				s.Policies.Inline[n] = json.RawMessage(mustJSON(doc)) // kept as a JSON string
			}
		}
	}
	return b
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// bindingYAML is the binding as written to its file.
func bindingYAML(b *generator.IdentityBinding) string {
	out, err := yaml.Marshal(b)
	if err != nil {
		return fmt.Sprintf("# cannot encode: %v\n", err)
	}
	return string(out)
}

func clusterYAML(c *generator.IdentityCluster) string {
	out, _ := yaml.Marshal(c)
	return string(out)
}

// render runs the generator over the binding and its clusters and returns
// the planned role, or the generator's errors.
func render(b *generator.IdentityBinding, cs *clusterSet, clusters []string) (*generator.Role, string) {
	var docs []string
	for _, n := range clusters {
		docs = append(docs, clusterYAML(cs.byName[n]))
	}
	docs = append(docs, bindingYAML(b))
	items, err := fn.ParseKubeObjects([]byte(strings.Join(docs, "---\n")))
	if err != nil {
		return nil, err.Error()
	}
	out := generator.Generate(items, nil)
	var errs []string
	for _, p := range out.Problems {
		if p.Severity == generator.SeverityError {
			errs = append(errs, p.String())
		}
	}
	if len(errs) > 0 {
		return nil, strings.Join(errs, "; ")
	}
	for _, it := range out.Items {
		if it.GetKind() == "ConfigMap" && it.GetLabels()[generator.LabelPlan] == generator.PlanRoleValue {
			data, _, _ := it.NestedString("data", generator.PlanKeyRole)
			var r generator.Role
			if err := json.Unmarshal([]byte(data), &r); err != nil {
				return nil, "reading the rendered role.json: " + err.Error()
			}
			return &r, ""
		}
	}
	return nil, "the generator planned no role"
}

// sameSettings compares every setting but the trust and the tags (which
// adoption writes): "" when equal, else what differs.
func sameSettings(o *iam.ObservedRole, r *generator.Role) string {
	var d []string
	if o.Path != r.Path {
		d = append(d, fmt.Sprintf("path %s ≠ %s", o.Path, r.Path))
	}
	if o.Description != r.Description {
		d = append(d, "description")
	}
	if o.MaxSessionDuration != r.MaxSessionDuration {
		d = append(d, "maxSessionDuration")
	}
	if o.PermissionsBoundary != r.PermissionsBoundary {
		d = append(d, "permissionsBoundary")
	}
	if !slices.Equal(o.ManagedPolicyARNs, slices.Compact(slices.Sorted(slices.Values(r.ManagedPolicyARNs)))) {
		d = append(d, "managed policies")
	}
	if !slices.Equal(slices.Sorted(maps.Keys(o.InlinePolicies)), slices.Sorted(maps.Keys(r.InlinePolicies))) {
		d = append(d, "inline policy names")
	} else {
		for n, doc := range o.InlinePolicies {
			if same, err := change.SameDocument(doc, string(r.InlinePolicies[n])); err != nil || !same {
				d = append(d, "inline policy "+n)
			}
		}
	}
	slices.Sort(d)
	return strings.Join(d, ", ")
}

// renderTogether renders every emitted binding with its clusters in one
// generator run, as kustomize will: what renders alone must render
// together too, or nothing is written.
func renderTogether(rep *Report, used map[string]bool) error {
	var docs []string
	for _, c := range rep.clusters {
		if used[c.Metadata.Name] {
			docs = append(docs, clusterYAML(c))
		}
	}
	for _, r := range rep.Roles {
		if r.binding != nil {
			docs = append(docs, bindingYAML(r.binding))
		}
	}
	if len(docs) == 0 {
		return nil
	}
	items, err := fn.ParseKubeObjects([]byte(strings.Join(docs, "---\n")))
	if err != nil {
		return fmt.Errorf("internal: the imported bindings do not parse: %w", err)
	}
	var errs []string
	for _, p := range generator.Generate(items, nil).Problems {
		if p.Severity == generator.SeverityError {
			errs = append(errs, p.String())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("internal: the imported bindings do not render together (nothing written): %s", strings.Join(errs, "; "))
	}
	return nil
}
