package generator

import "encoding/json"

// Role is the complete desired state of one IAM role: the schema of
// role.json in a plan ConfigMap. The function writes it and the
// reconcile job reads it; both use this one type.
type Role struct {
	Name                string                     `json:"name"`
	Path                string                     `json:"path"`
	ARN                 string                     `json:"arn"`
	Description         string                     `json:"description"`
	MaxSessionDuration  int32                      `json:"maxSessionDuration"`
	PermissionsBoundary string                     `json:"permissionsBoundary,omitempty"`
	ManagedPolicyARNs   []string                   `json:"managedPolicyArns"`
	InlinePolicies      map[string]json.RawMessage `json:"inlinePolicies"`
	Tags                map[string]string          `json:"tags"`
	TrustPolicy         PolicyDocument             `json:"trustPolicy"`
	OIDCProviders       []OIDCProvider             `json:"oidcProviders"`
	// PodIdentityAssociations are the EKS Pod Identity associations to the
	// role (mode podIdentity or both), sorted; absent in mode irsa.
	PodIdentityAssociations []PodIdentityAssociation `json:"podIdentityAssociations,omitempty"`
	// PodIdentityTarget is set on the target role of an association
	// (spec.podIdentity.targetAccountID): its trust gets sts:ExternalId
	// once EKS has made the associations (podidentity_target.go).
	PodIdentityTarget *PodIdentityTarget `json:"podIdentityTarget,omitempty"`
}

// OIDCProvider is an IAM OIDC identity provider the role's trust policy relies on.
type OIDCProvider struct {
	URL       string   `json:"url"`
	ARN       string   `json:"arn"`
	Audiences []string `json:"audiences"`
}

// Owner is the ownership tag value: prune and adopt work per owner.
func (r *Role) Owner() string { return r.Tags[TagOwner] }

// Binding is the <namespace>/<name> of the IdentityBinding that planned the role.
func (r *Role) Binding() string { return r.Tags[TagBinding] }

// Plan file names inside the plan ConfigMap.
const (
	PlanKeyTrustPolicy = "trust-policy.json"
	PlanKeyRole        = "role.json"
	PlanNamePrefix     = "iambind-"
)
