package reconcile

import (
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/iambind/iambind/reconcile/input"
)

// Command is what a run does: Plan reads only, Apply writes.
type Command string

// The commands of a run.
const (
	CommandPlan  Command = "plan"
	CommandApply Command = "apply"
)

// DefaultConcurrency bounds parallel IAM calls (one role at a time per
// worker). IAM's control plane throttles around a few requests per second
// per account, so more workers mostly buy throttling.
const DefaultConcurrency = 4

// Config is one plan or apply run: what the command line asked for, as a
// value. cmd/iambind fills it from the flags; nothing in it is changed by
// the run.
type Config struct {
	Command Command
	// Files are the rendered manifests: files, directories or "-" (stdin).
	Files []string
	// EndpointURL overrides the IAM, STS and S3 endpoint (an emulator);
	// EKSEndpointURL the EKS one (default: EndpointURL).
	EndpointURL, EKSEndpointURL string
	Prune, Adopt                bool
	// Output is text, json, or (plan only) markdown.
	Output      string
	Concurrency int
	// Guardrails is the path of a Guardrails file; "" for none.
	Guardrails string
	// Cluster reads the plans from a Kubernetes cluster instead of Files.
	Cluster ClusterSource
	// Rerun is the command line that finishes a failed apply (reported).
	Rerun string
	Scale Scale
}

// ClusterSource selects plan ConfigMaps in a Kubernetes cluster (the
// in-cluster reconcile Job).
type ClusterSource struct {
	Enabled    bool
	Selector   string
	Namespace  string
	Kubeconfig string
	// Trusted are namespaces whose plans may bind other namespaces.
	Trusted []string
	// Clusters are files of the operator's IdentityClusters for the cluster
	// the Job runs in (--cluster): the issuers plans may trust, the owner
	// and cluster their roles get.
	Clusters []string
	// MaxRolesPerNamespace caps the roles one namespace's plans may hold
	// (--max-roles-per-namespace; 0: no cap). Set by the operator.
	MaxRolesPerNamespace int
	// MaxPoliciesPerRole caps the managed plus inline policies of a tenant
	// plan's role, and MaxPlanBytes the size of its plan ConfigMap's data
	// (--max-policies-per-role, --max-plan-bytes; 0: no cap).
	MaxPoliciesPerRole, MaxPlanBytes int
}

// Scale holds the organisation-scale settings of plan and apply.
type Scale struct {
	// AssumeRole is a role ARN template ({account}, {partition}) through
	// which each account of the plan is reached.
	AssumeRole string
	// Shard is "I/N": reconcile only that part of the plan.
	Shard string
	// Rate is the ceiling of IAM calls per second per account (0: none).
	Rate float64
	// Limiter is aimd, sdk-adaptive or none.
	Limiter string
}

func (s *Scale) validate() error {
	if s.Rate < 0 || math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) {
		return fmt.Errorf("--rate %v must be a number of calls per second >= 0", s.Rate)
	}
	switch s.Limiter {
	case "aimd", "sdk-adaptive", "none", "":
	default:
		return fmt.Errorf("--limiter must be aimd, sdk-adaptive or none, not %q", s.Limiter)
	}
	if s.AssumeRole != "" {
		t := strings.NewReplacer("{account}", "111122223333", "{partition}", "aws").Replace(s.AssumeRole)
		a, err := arn.Parse(t)
		if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") || !strings.Contains(s.AssumeRole, "{account}") {
			return fmt.Errorf("--assume-role %q must be a role ARN template containing {account}, e.g. 'arn:{partition}:iam::{account}:role/iambind'", s.AssumeRole)
		}
	}
	_, err := input.ParseShard(s.Shard)
	return err
}

// Outcome is what a run found, for the caller's exit code.
type Outcome struct {
	// HasChanges: the plan changes something (plan --detailed-exitcode).
	HasChanges bool
}
