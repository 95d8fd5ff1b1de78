// Package generator is the pure core of iambind: it decodes, defaults and
// validates the iambind.dev/v1alpha1 API and expands IdentityBindings into
// annotated ServiceAccounts and IAM plan ConfigMaps. It does no I/O.
package generator

import (
	"crypto"
	"encoding/json"
)

// API group, version and kinds of the input API.
const (
	Group       = "iambind.dev"
	Version     = "v1alpha1"
	APIVersion  = Group + "/" + Version
	KindCluster = "IdentityCluster"
	KindBinding = "IdentityBinding"
)

// Labels, annotations and tags that iambind reads and writes.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedByValue = "iambind"
	LabelPlan      = "iambind.dev/plan"
	PlanRoleValue  = "role"
	PlanOIDCValue  = "oidc"

	AnnotationBinding         = "iambind.dev/binding"
	AnnotationPlanRoleARN     = "iambind.dev/role-arn"
	AnnotationRoleARN         = "eks.amazonaws.com/role-arn"
	AnnotationRegionalSTS     = "eks.amazonaws.com/sts-regional-endpoints"
	AnnotationAudience        = "eks.amazonaws.com/audience"
	AnnotationTokenExpiration = "eks.amazonaws.com/token-expiration"
	AnnotationLocalConfig     = "config.kubernetes.io/local-config"

	TagOwner     = "iambind.dev/owner"
	TagBinding   = "iambind.dev/binding"
	TagManagedBy = LabelManagedBy

	DefaultAudience           = "sts.amazonaws.com"
	DefaultMaxSessionDuration = 3600
	DefaultMaxTrustPolicySize = 2048
	PolicyVersion             = "2012-10-17"
)

// serviceAccountAnnotations are every annotation iambind may set on a
// ServiceAccount; they are removed when the binding that set them goes away.
var serviceAccountAnnotations = []string{
	AnnotationRoleARN, AnnotationRegionalSTS, AnnotationAudience,
	AnnotationTokenExpiration, AnnotationBinding,
}

// ObjectMeta is the subset of Kubernetes metadata iambind reads from its own kinds.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// IdentityCluster describes one Kubernetes cluster's OIDC issuer and the AWS
// account its roles live in. Bindings reference it by name.
type IdentityCluster struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Metadata   ObjectMeta          `json:"metadata"`
	Spec       IdentityClusterSpec `json:"spec"`
}

// IdentityClusterSpec is the spec of an IdentityCluster.
type IdentityClusterSpec struct {
	AccountID           string            `json:"accountID"`
	Partition           string            `json:"partition,omitempty"`
	Region              string            `json:"region,omitempty"`
	Issuer              string            `json:"issuer"`
	Owner               string            `json:"owner,omitempty"`
	RolePath            string            `json:"rolePath,omitempty"`
	RoleNamePrefix      string            `json:"roleNamePrefix,omitempty"`
	PermissionsBoundary string            `json:"permissionsBoundary,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
	MaxTrustPolicySize  int               `json:"maxTrustPolicySize,omitempty"`
	// EKSClusterName is the EKS cluster's name, for bindings in mode
	// podIdentity or both (generator/podidentity.go).
	EKSClusterName string `json:"eksClusterName,omitempty"`
	// Discovery makes iambind publish the OIDC issuer of a cluster that is
	// not EKS; see discovery.go.
	Discovery *Discovery `json:"discovery,omitempty"`
	// Inject is the default of spec.inject for bindings using this cluster
	// (render-time token and env injection, docs/injection.md).
	Inject *bool `json:"inject,omitempty"`
}

// Discovery is a self-hosted OIDC issuer: the discovery document and JWKS
// iambind renders from the public keys and publishes on S3.
type Discovery struct {
	S3 *S3Location `json:"s3,omitempty"`
	// PublicKeys are PEM public keys (PKIX "PUBLIC KEY"), one per
	// ServiceAccount signing key; two during a rotation.
	PublicKeys []string `json:"publicKeys,omitempty"`

	keys []crypto.PublicKey `json:"-"` // PublicKeys parsed by validation, same order
}

// S3Location is where the discovery documents are published.
type S3Location struct {
	Bucket string `json:"bucket"`
	// Region defaults to spec.region.
	Region string `json:"region,omitempty"`
	// Prefix is an optional key prefix without leading or trailing "/".
	Prefix string `json:"prefix,omitempty"`
}

// HasDiscovery reports whether iambind publishes this cluster's issuer.
func (c *IdentityCluster) HasDiscovery() bool { return c.Spec.Discovery != nil }

// IdentityBinding is one workload identity: a set of ServiceAccounts that
// assume one IAM role.
type IdentityBinding struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Metadata   ObjectMeta          `json:"metadata"`
	Spec       IdentityBindingSpec `json:"spec"`
}

// IdentityBindingSpec is the spec of an IdentityBinding.
type IdentityBindingSpec struct {
	Clusters              []string         `json:"clusters,omitempty"`
	ServiceAccounts       []ServiceAccount `json:"serviceAccounts,omitempty"`
	CreateServiceAccounts *bool            `json:"createServiceAccounts,omitempty"`
	AllowWildcardSubjects bool             `json:"allowWildcardSubjects,omitempty"`
	Role                  RoleSpec         `json:"role,omitempty"`
	Policies              Policies         `json:"policies,omitempty"`
	Audience              string           `json:"audience,omitempty"`
	STSRegionalEndpoints  *bool            `json:"stsRegionalEndpoints,omitempty"`
	TokenExpiration       int64            `json:"tokenExpiration,omitempty"`
	// Mode is irsa (default), podIdentity or both (generator/podidentity.go).
	Mode string `json:"mode,omitempty"`
	// Inject writes the web-identity token volume and AWS env into the
	// workloads running as its ServiceAccounts; it wins over the cluster's.
	Inject *bool `json:"inject,omitempty"`
	// PodIdentity sets the association's target role, session tags and
	// session policy (mode podIdentity or both; podidentity_target.go).
	PodIdentity *PodIdentitySpec `json:"podIdentity,omitempty"`
}

// ServiceAccount names one subject of a binding. Name may be a glob.
type ServiceAccount struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// RoleSpec overrides the derived IAM role settings.
type RoleSpec struct {
	Name        string `json:"name,omitempty"`
	Path        string `json:"path,omitempty"`
	Description string `json:"description,omitempty"`
	// NoDescription gives the role no description at all (IAM's own
	// default, as most roles made outside iambind have); an empty
	// description means the default one.
	NoDescription       bool              `json:"noDescription,omitempty"`
	MaxSessionDuration  int32             `json:"maxSessionDuration,omitempty"`
	PermissionsBoundary string            `json:"permissionsBoundary,omitempty"`
	Tags                map[string]string `json:"tags,omitempty"`
}

// Policies are the permissions granted to the role.
type Policies struct {
	Managed []string `json:"managed,omitempty"`
	// Inline maps a policy name to a document given either as a YAML/JSON
	// object or as a JSON string; both are kept raw until validation.
	Inline map[string]json.RawMessage `json:"inline,omitempty"`
	// WellKnown names add-ons whose own published policies the role gets:
	// AWS managed policies, or inline documents wellKnown-<name>
	// (generator/wellknown.go, docs/addons.md).
	WellKnown []WellKnownPolicy `json:"wellKnown,omitempty"`
}

// WellKnownPolicy is one entry of spec.policies.wellKnown: an add-on name
// and the parameters that scope its policy.
type WellKnownPolicy struct {
	// Name is the add-on: ebsCSIDriver, efsCSIDriver,
	// awsLoadBalancerController, externalDNS, certManager,
	// clusterAutoscaler, karpenter, externalSecrets, velero,
	// mountpointS3CSI, vpcCNI or cloudWatchObservability.
	Name string `json:"name"`
	// HostedZoneARNs are the Route 53 hosted zones (externalDNS, certManager).
	HostedZoneARNs []string `json:"hostedZoneARNs,omitempty"`
	// ClusterName is the EKS cluster name the tag conditions scope to
	// (clusterAutoscaler, karpenter).
	ClusterName string `json:"clusterName,omitempty"`
	// SecretARNs are the Secrets Manager secrets (externalSecrets).
	SecretARNs []string `json:"secretARNs,omitempty"`
	// ParameterARNs are the SSM parameters (externalSecrets).
	ParameterARNs []string `json:"parameterARNs,omitempty"`
	// BucketARNs are the S3 buckets (velero, mountpointS3CSI).
	BucketARNs []string `json:"bucketARNs,omitempty"`
	// IPFamily is the cluster's IP family for vpcCNI: ipv4 (default) or ipv6.
	IPFamily string `json:"ipFamily,omitempty"`
}
