// Package reconcile makes AWS IAM (and S3, EKS) match the rendered iambind
// plan. It is the orchestrator; each concern has a room of its own:
//
//   - reconcile/input:   rendered manifests (files, directories, stdin, a
//     cluster's objects) → the desired state: roles, discovery plans, the
//     ServiceAccounts and injected workloads the guard checks; account parts
//     and --shard I/N;
//   - reconcile/safety:  checks that need no AWS: validation of IAM limits,
//     the consistency guard and the trust evaluator (`check`), the operator's
//     guardrails, and the tenancy of cluster plans;
//   - reconcile/iam:     the IAM service: observe (counted reads, per-role or
//     bulk by a cost model), the pure diff into a plan of ordered calls,
//     preflight (policies, quotas) and the executor;
//   - reconcile/discovery, reconcile/podidentity: the S3 and EKS services,
//     each with its own observe, diff, apply and render;
//   - reconcile/change:  the vocabulary every service plans in (kind of
//     change, fields that differ), policy documents as IAM compares them,
//     and the one line diff.
//
// What stays here is the pipeline and its output:
//
//   - pipeline.go:  Run, and the one pipeline (reconcileBatch) for an -f input
//     (per account) and for the cluster's plans: checks without AWS,
//     validation, account check, observe, decisions on the observed state,
//     diff, preflight, then render or apply; a batch says how findings refuse;
//   - apply.go:     apply's phases (S3, IAM upserts, EKS, IAM deletes);
//   - output.go:    the plan, or what apply did, in the run's format;
//   - accounts.go:  a plan spanning accounts, one pipeline per account
//     (--assume-role), run concurrently, reports merged;
//   - fromcluster.go: --from-cluster, where the unit of refusal is one plan
//     ConfigMap (a failed plan gets status Error, the others converge);
//   - plan.go:      Plan, the value `plan` renders and `apply` executes (the
//     IAM plan with the EKS and S3 parts beside it; no client in it);
//   - render.go, markdown.go, jsonstream.go: text, JSON and markdown plans
//     and summaries;
//   - podidentity.go, discovery_hook.go: where the EKS and S3 services plug in;
//   - managed.go, preflight_run.go: the preflight of a run (managed policies
//     judged by their documents, policies that cannot be attached, quotas and
//     their fair share between namespaces);
//   - check.go:     `check`, a token against the plan's trust policies.
//
// Deciding never interleaves with calling AWS: a Plan is a value that one piece
// renders and another executes, so `plan` shows exactly what `apply` will do.
// docs/architecture.md draws the map and the rules a test enforces.
package reconcile
