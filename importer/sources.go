package importer

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/iambind/iambind/generator"
)

// Source names where a reference to a role came from.
type Source string

const (
	SourceServiceAccount   Source = "serviceAccount"
	SourceWorkloadIdentity Source = "workloadIdentity" // Identity Manager
	SourceIRSA             Source = "irsa"             // irsa-manager
	SourcePodIdentity      Source = "podIdentity"      // EKS Pod Identity associations
	SourceNodeRole         Source = "nodeRole"         // kiam / kube2iam annotations, reported only
)

// API groups and annotations of the peers import reads.
const (
	WorkloadIdentityAPIVersion = "identity-manager.io/v1alpha1"
	WorkloadIdentityKind       = "WorkloadIdentity"
	IRSAAPIVersion             = "irsa-manager.kkb0318.github.io/v1alpha1"
	IRSAKind                   = "IRSA"
	// AnnotationNodeRole is kiam's and kube2iam's pod (and namespace) annotation.
	AnnotationNodeRole = "iam.amazonaws.com/role"
)

// Subject is one ServiceAccount.
type Subject struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (s Subject) String() string { return s.Namespace + "/" + s.Name }

// Ref is one object's reference to an IAM role: the ServiceAccounts it
// says may assume it, and what the object knows of the token.
type Ref struct {
	Source Source
	Object string // "ServiceAccount shop/orders", for reports
	// RoleARN when the object names the role by ARN; RoleName always.
	RoleARN, RoleName string
	Subjects          []Subject
	// From the ServiceAccount's annotations (zero: not set).
	Audience        string
	TokenExpiration int64
	STSRegional     *bool
	// Pod Identity: the association's EKS cluster and the IdentityCluster
	// name given for it with --eks-cluster-name.
	EKSCluster, IdentityCluster string
}

// NodeRoleRef is a kiam/kube2iam annotation: a role the node assumes for
// the pod. It is reported with the binding it would need, never emitted.
type NodeRoleRef struct {
	Object         string
	Role           string
	ServiceAccount Subject // the pod's ServiceAccount; empty for a namespace
}

// Sources is everything read from manifests and clusters.
type Sources struct {
	Refs     []Ref
	NodeRole []NodeRoleRef
	// Managed counts ServiceAccounts already annotated by iambind (left alone).
	Managed int
	// Ignored names peer objects that are not for AWS.
	Ignored []string
	// Unsupported names references import does not take (reported).
	Unsupported []string
}

// ObjectError is a malformed object: which, which field, what is wrong.
type ObjectError struct {
	Origin, Object, Field, Problem string
}

func (e *ObjectError) Error() string {
	where := e.Object
	if e.Origin != "" {
		where = e.Origin + ": " + e.Object
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Field, e.Problem)
}

// Add reads one Kubernetes object (as decoded from YAML or JSON). origin
// names where it came from (a file, "cluster"), for errors.
func (s *Sources) Add(origin string, obj map[string]any) error {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if items, ok := obj["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return &ObjectError{origin, kind, fmt.Sprintf("items[%d]", i), "is not an object"}
			}
			if err := s.Add(origin, m); err != nil {
				return err
			}
		}
		return nil
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if ns == "" {
		ns = "default"
	}
	id := kind + " " + ns + "/" + name
	if kind != "Namespace" && (len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0) {
		if isSource(apiVersion, kind) {
			return &ObjectError{origin, fmt.Sprintf("%s %q/%q", kind, ns, name), "metadata", "namespace and name must be valid Kubernetes names"}
		}
		return nil // not ours to judge
	}
	annotations := stringMap(meta["annotations"])
	switch {
	case apiVersion == "v1" && kind == "ServiceAccount":
		return s.addServiceAccount(origin, id, Subject{ns, name}, annotations)
	case apiVersion == WorkloadIdentityAPIVersion && kind == WorkloadIdentityKind:
		return s.addWorkloadIdentity(origin, id, ns, name, obj)
	case apiVersion == IRSAAPIVersion && kind == IRSAKind:
		return s.addIRSA(origin, id, obj)
	case apiVersion == "v1" && kind == "Namespace":
		if role := annotations[AnnotationNodeRole]; role != "" {
			s.NodeRole = append(s.NodeRole, NodeRoleRef{Object: "Namespace " + name, Role: role})
		}
	case apiVersion == "v1" && kind == "Pod":
		spec, _ := obj["spec"].(map[string]any)
		s.addNodeRole(id, ns, annotations, spec)
	default:
		// Workloads: the pod template's annotation (Deployment, Job, ...; CronJob one level deeper).
		spec, _ := obj["spec"].(map[string]any)
		if jt, ok := spec["jobTemplate"].(map[string]any); ok {
			spec, _ = jt["spec"].(map[string]any)
		}
		if tmpl, ok := spec["template"].(map[string]any); ok {
			tm, _ := tmpl["metadata"].(map[string]any)
			ts, _ := tmpl["spec"].(map[string]any)
			s.addNodeRole(id, ns, stringMap(tm["annotations"]), ts)
		}
	}
	return nil
}

// isSource reports whether import reads objects of this kind.
func isSource(apiVersion, kind string) bool {
	return apiVersion == "v1" && (kind == "ServiceAccount" || kind == "Pod") ||
		apiVersion == WorkloadIdentityAPIVersion && kind == WorkloadIdentityKind || apiVersion == IRSAAPIVersion && kind == IRSAKind
}

func (s *Sources) addNodeRole(id, ns string, annotations map[string]string, podSpec map[string]any) {
	role := annotations[AnnotationNodeRole]
	if role == "" {
		return
	}
	sa, _ := podSpec["serviceAccountName"].(string)
	if sa == "" {
		sa = "default"
	}
	s.NodeRole = append(s.NodeRole, NodeRoleRef{Object: id, Role: role, ServiceAccount: Subject{ns, sa}})
}

func (s *Sources) addServiceAccount(origin, id string, sa Subject, ann map[string]string) error {
	arn := ann[generator.AnnotationRoleARN]
	if arn == "" {
		return nil
	}
	if ann[generator.AnnotationBinding] != "" {
		s.Managed++
		return nil
	}
	field := func(a string) string { return "metadata.annotations." + a }
	parsed, err := ParseRoleARN(arn)
	if err != nil {
		return &ObjectError{origin, id, field(generator.AnnotationRoleARN), err.Error()}
	}
	ref := Ref{Source: SourceServiceAccount, Object: id, RoleARN: arn, RoleName: parsed.Name, Subjects: []Subject{sa},
		Audience: ann[generator.AnnotationAudience]}
	if v, ok := ann[generator.AnnotationTokenExpiration]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < generator.MinTokenExpiration || n > generator.MaxTokenExpiration {
			return &ObjectError{origin, id, field(generator.AnnotationTokenExpiration),
				fmt.Sprintf("%q is not a number of seconds in %d..%d", v, generator.MinTokenExpiration, generator.MaxTokenExpiration)}
		}
		ref.TokenExpiration = n
	}
	if v, ok := ann[generator.AnnotationRegionalSTS]; ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return &ObjectError{origin, id, field(generator.AnnotationRegionalSTS), fmt.Sprintf("%q is not true or false", v)}
		}
		ref.STSRegional = &b
	}
	s.Refs = append(s.Refs, ref)
	return nil
}

// addWorkloadIdentity reads an Identity Manager WorkloadIdentity. Its role
// is status.name (what the controller made), else spec.name, else
// <namespace>-<name> as the controller derives it; IAM is read for the rest.
func (s *Sources) addWorkloadIdentity(origin, id, ns, name string, obj map[string]any) error {
	spec, ok := obj["spec"].(map[string]any)
	if !ok {
		return &ObjectError{origin, id, "spec", "is missing or not an object"}
	}
	provider, ok := spec["provider"].(string)
	if !ok {
		return &ObjectError{origin, id, "spec.provider", "is missing or not a string"}
	}
	if provider != "AWS" {
		s.Ignored = append(s.Ignored, fmt.Sprintf("%s: provider %s, not AWS", id, provider))
		return nil
	}
	awsSpec, ok := spec["aws"].(map[string]any)
	if !ok {
		return &ObjectError{origin, id, "spec.aws", "is missing or not an object (provider AWS)"}
	}
	role := ""
	if st, ok := obj["status"].(map[string]any); ok {
		role, _ = st["name"].(string)
	}
	if role == "" {
		if v, ok := spec["name"]; ok {
			if role, ok = v.(string); !ok {
				return &ObjectError{origin, id, "spec.name", "is not a string"}
			}
		}
	}
	if role == "" {
		role = ns + "-" + name
	}
	ref := Ref{Source: SourceWorkloadIdentity, Object: id, RoleName: role}
	if raw, ok := awsSpec["serviceAccounts"]; ok && raw != nil {
		list, ok := raw.([]any)
		if !ok {
			return &ObjectError{origin, id, "spec.aws.serviceAccounts", "is not a list"}
		}
		for i, e := range list {
			m, ok := e.(map[string]any)
			f := fmt.Sprintf("spec.aws.serviceAccounts[%d]", i)
			if !ok {
				return &ObjectError{origin, id, f, "is not an object"}
			}
			n, ok := m["name"].(string)
			if !ok || n == "" {
				return &ObjectError{origin, id, f + ".name", "is missing or not a string"}
			}
			sns := ns
			if v, ok := m["namespace"]; ok {
				if sns, ok = v.(string); !ok {
					return &ObjectError{origin, id, f + ".namespace", "is not a string"}
				}
				if sns == "" {
					sns = ns
				}
			}
			if len(validation.IsDNS1123Label(sns)) > 0 || len(validation.IsDNS1123Subdomain(n)) > 0 {
				return &ObjectError{origin, id, f, fmt.Sprintf("%s/%s is not a valid namespace and ServiceAccount name", sns, n)}
			}
			ref.Subjects = append(ref.Subjects, Subject{sns, n})
		}
	}
	s.Refs = append(s.Refs, ref)
	return nil
}

// addIRSA reads an irsa-manager IRSA: role spec.iamRole.name, trusted by
// ServiceAccount spec.serviceAccount.name in each of its namespaces.
func (s *Sources) addIRSA(origin, id string, obj map[string]any) error {
	spec, ok := obj["spec"].(map[string]any)
	if !ok {
		return &ObjectError{origin, id, "spec", "is missing or not an object"}
	}
	roleObj, ok := spec["iamRole"].(map[string]any)
	if !ok {
		return &ObjectError{origin, id, "spec.iamRole", "is missing or not an object"}
	}
	role, ok := roleObj["name"].(string)
	if !ok || role == "" {
		return &ObjectError{origin, id, "spec.iamRole.name", "is missing or not a string"}
	}
	saObj, ok := spec["serviceAccount"].(map[string]any)
	if !ok {
		return &ObjectError{origin, id, "spec.serviceAccount", "is missing or not an object"}
	}
	sa, ok := saObj["name"].(string)
	if !ok || len(validation.IsDNS1123Subdomain(sa)) > 0 {
		return &ObjectError{origin, id, "spec.serviceAccount.name", "is missing or not a string"}
	}
	ref := Ref{Source: SourceIRSA, Object: id, RoleName: role}
	list, ok := saObj["namespaces"].([]any)
	if !ok || len(list) == 0 {
		return &ObjectError{origin, id, "spec.serviceAccount.namespaces", "is missing or not a non-empty list"}
	}
	for i, e := range list {
		n, ok := e.(string)
		if !ok || len(validation.IsDNS1123Label(n)) > 0 {
			return &ObjectError{origin, id, fmt.Sprintf("spec.serviceAccount.namespaces[%d]", i), "is not a namespace name"}
		}
		ref.Subjects = append(ref.Subjects, Subject{n, sa})
	}
	s.Refs = append(s.Refs, ref)
	return nil
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		if s, ok := e.(string); ok {
			out[k] = s
		}
	}
	return out
}

// RoleARN is a parsed role ARN.
type RoleARN struct {
	Partition, Account, Path, Name string
}

// ParseRoleARN reads arn:<partition>:iam::<account>:role<path><name>.
func ParseRoleARN(arn string) (RoleARN, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[3] != "" || !strings.HasPrefix(parts[5], "role/") {
		return RoleARN{}, fmt.Errorf("%q is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)", arn)
	}
	switch parts[1] {
	case "aws", "aws-cn", "aws-us-gov":
	default:
		return RoleARN{}, fmt.Errorf("%q: unknown partition %q", arn, parts[1])
	}
	if !isAccountID(parts[4]) {
		return RoleARN{}, fmt.Errorf("%q: account %q is not 12 digits", arn, parts[4])
	}
	res := strings.TrimPrefix(parts[5], "role")
	i := strings.LastIndex(res, "/")
	r := RoleARN{Partition: parts[1], Account: parts[4], Path: res[:i+1], Name: res[i+1:]}
	if !generator.IsValidRoleName(r.Name) {
		return RoleARN{}, fmt.Errorf("%q: %q is not a valid role name", arn, r.Name)
	}
	return r, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
