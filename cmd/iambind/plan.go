package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/iambind/iambind/kube"
	"github.com/iambind/iambind/reconcile"
)

// registerReconcileFlags binds the flags plan and apply share to cfg.
func registerReconcileFlags(cmd *cobra.Command, cfg *reconcile.Config) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&cfg.Files, "filename", "f", nil, "rendered manifests: a file, a directory (recursive *.yaml, *.yml, *.json) or - for stdin; repeatable")
	fl.StringVar(&cfg.EndpointURL, "endpoint-url", "", "IAM/STS endpoint override, e.g. a local emulator (AWS_ENDPOINT_URL works too)")
	fl.StringVar(&cfg.EKSEndpointURL, "eks-endpoint-url", "", "EKS endpoint override for Pod Identity associations (default: --endpoint-url; AWS_ENDPOINT_URL_EKS works too)")
	fl.BoolVar(&cfg.Prune, "prune", false, "also delete roles owned (tag iambind.dev/owner) by the plan's owners that are no longer in the plan")
	fl.BoolVar(&cfg.Adopt, "adopt", false, "take over existing roles with a planned name that lack this owner's tag (tags and reconciles them)")
	if cfg.Command == reconcile.CommandApply {
		fl.StringVarP(&cfg.Output, "output", "o", "text", "output format: text or json")
	} else {
		fl.StringVarP(&cfg.Output, "output", "o", "text", "output format: text, json, or markdown (a pull-request comment)")
	}
	fl.IntVar(&cfg.Concurrency, "concurrency", reconcile.DefaultConcurrency, "how many roles are read or written in parallel")
	fl.StringVar(&cfg.Guardrails, "guardrails", "", "a Guardrails file (iambind.dev/v1alpha1): every planned role must satisfy it; its permissionsBoundary is added to roles without one (docs/guardrails.md)")

	c := &cfg.Cluster
	fl.BoolVar(&c.Enabled, "from-cluster", false, "read the plan ConfigMaps from the Kubernetes cluster (in-cluster config, else kubeconfig) instead of -f; each plan succeeds or fails alone (namespace tenancy applies), and apply records iambind.dev/status on each when its outcome changed")
	fl.StringVar(&c.Selector, "selector", kube.PlanSelector, "with --from-cluster: label selector of the plan ConfigMaps")
	fl.StringVar(&c.Namespace, "namespace", "", "with --from-cluster: only this namespace (default: all namespaces)")
	fl.IntVar(&c.MaxPoliciesPerRole, "max-policies-per-role", 0, "with --from-cluster: the most managed plus inline policies a tenant plan's role may have (0: IAM's own limits only); a plan over it fails alone")
	fl.IntVar(&c.MaxPlanBytes, "max-plan-bytes", 0, "with --from-cluster: the largest a tenant's plan ConfigMap data may be, in bytes (0: Kubernetes' 1 MiB only); a plan over it fails alone")
	fl.IntVar(&c.MaxRolesPerNamespace, "max-roles-per-namespace", 0, "with --from-cluster: the most roles the plans of one namespace may hold (0: no limit); plans beyond it fail alone, those of roles already in IAM first kept")
	fl.StringArrayVar(&c.Clusters, "cluster", nil, "with --from-cluster: a file of the operator's IdentityCluster(s) for the cluster the Job runs in (repeatable); plans may then trust only these clusters' issuers, and their roles get these clusters' owner and cluster tag whatever a plan says")
	fl.StringSliceVar(&c.Trusted, "trusted-namespaces", nil, "with --from-cluster: namespaces whose plans may bind ServiceAccounts of other namespaces and change any role iambind manages (operator-set: tenants must not be able to write ConfigMaps there); every other plan may bind only its own namespace's ServiceAccounts and roles")
	fl.StringVar(&c.Kubeconfig, "kubeconfig", "", "with --from-cluster outside a pod: kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")

	s := &cfg.Scale
	fl.StringVar(&s.AssumeRole, "assume-role", "", "reconcile each account of the plan through this role, a template: {account} and {partition} are filled per account, e.g. 'arn:{partition}:iam::{account}:role/iambind' (the credentials' own account uses them directly); needed when the plan spans several accounts")
	fl.StringVar(&s.Shard, "shard", "", "reconcile only shard I of N (I/N, 0-based): the roles (or, for a plan spanning several accounts, the accounts) whose stable hash falls in it; prune deletes only that shard's share")
	fl.Float64Var(&s.Rate, "rate", 0, "ceiling of IAM calls per second per account (0: none); either way the pace adapts down on throttling")
	fl.StringVar(&s.Limiter, "limiter", "aimd", "client-side rate limiter: aimd, sdk-adaptive or none (for benchmarks)")
	_ = fl.MarkHidden("limiter")
}

func newPlanCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	cfg := reconcile.Config{Command: reconcile.CommandPlan}
	var detailed bool
	cmd := &cobra.Command{
		Use:   "plan -f FILE|DIR|- ...",
		Short: "Show what apply would change in IAM (reads only)",
		Example: `  kustomize build --enable-alpha-plugins --enable-exec overlays/prod | iambind plan -f -
  iambind plan -f hydrated/ --prune --detailed-exitcode    # CI: exit 2 when IAM would change
  iambind plan --from-cluster -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReconcile(cmd.Context(), cfg, detailed, stdin, stdout, stderr)
		},
	}
	registerReconcileFlags(cmd, &cfg)
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are changes, 1 on error")
	return cmd
}
