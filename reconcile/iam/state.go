package iam

import "strings"

// ObservedRole is a role as IAM has it now, documents URL-decoded.
type ObservedRole struct {
	Name                string
	Path                string
	ARN                 string
	Description         string
	MaxSessionDuration  int32
	PermissionsBoundary string
	TrustPolicy         string            // decoded JSON
	ManagedPolicyARNs   []string          // sorted
	InlinePolicies      map[string]string // name -> decoded JSON
	Tags                map[string]string
	InstanceProfiles    []string // names; only needed (and only read) for roles that may be deleted
}

// Owner is the role's iambind.dev/owner tag, "" when it has none.
func (o *ObservedRole) Owner() string { return o.Tags[tagOwner] }

// ObservedProvider is an IAM OIDC identity provider.
type ObservedProvider struct {
	ARN       string
	ClientIDs []string
}

// State is what observation found.
type State struct {
	// Roles by lower-cased name (IAM role names are case-insensitive).
	Roles map[string]*ObservedRole
	// Providers by ARN.
	Providers map[string]*ObservedProvider
	// AllRoles is true when Roles holds every role of the account, which
	// prune needs to find owned roles that left the plan.
	AllRoles bool
}

// NewState returns an empty state.
func NewState() *State {
	return &State{Roles: map[string]*ObservedRole{}, Providers: map[string]*ObservedProvider{}}
}

// AddRole records an observed role.
func (s *State) AddRole(r *ObservedRole) { s.Roles[strings.ToLower(r.Name)] = r }

// Role looks a role up by name, case-insensitively as IAM does.
func (s *State) Role(name string) *ObservedRole { return s.Roles[strings.ToLower(name)] }
