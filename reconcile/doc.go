// Package reconcile makes AWS IAM match the rendered iambind plan.
//
// It is split by responsibility, each a file:
//
//   - read.go:     rendered manifests (files, directories, stdin) → desired roles
//     and the ServiceAccounts the consistency guard checks;
//   - validate.go: plan checks IAM limits that neither the SDK nor emulators enforce;
//   - guardrails.go: the operator's Guardrails (package guardrails) over every
//     desired role, before AWS is observed (--guardrails);
//   - trust.go:    a pure evaluator of web-identity trust policies (guard and `check`);
//   - observe.go:  reads the current IAM state (reads only, counted);
//   - readcost.go: the cost model that picks per-role or bulk reads (asking
//     the account's size only when the answer is worth the call);
//   - diff.go:     the pure heart: desired × observed → a Plan of ordered typed actions;
//   - preflight.go, preflight_quota.go: before any write, the referenced
//     policies exist (GetPolicy, once per ARN) and the plan fits the
//     account's quotas (GetAccountSummary, read once and only when near);
//   - execute.go:  runs a Plan's actions through aws-sdk-go-v2 with bounded concurrency;
//   - render.go:   the plan for humans (text) and machines (JSON), and the apply summary;
//   - markdown.go: the plan as a pull-request comment (--output markdown): tables,
//     collapsed diffs, a Mermaid access map;
//   - fromcluster.go: `--from-cluster`: each plan ConfigMap read, checked and
//     decided alone (a failed plan gets status Error, the others converge);
//     status written back only when a plan's outcome changed;
//   - tenancy.go:  the namespace boundary of cluster plans (subjects, role
//     claims by the iambind.dev/namespace tag, contested names, prune scope);
//   - cli.go:      the `iambind` command line (plan, apply, check, keygen, version);
//   - keygen.go:   `iambind keygen`, a signing key pair for a self-hosted issuer;
//   - discovery_hook.go: wires the S3 room, package reconcile/discovery (its own
//     plan reader, observe, pure diff, act and render), into plan and apply.
//   - accounts.go: a plan spanning accounts: one pipeline per account
//     (--assume-role), run concurrently, reports merged;
//   - limiter.go:  the per-account client-side rate limiter (AIMD);
//   - shard.go:    --shard I/N, the part of a plan one of N runs reconciles.
//
// Every room (IAM here, S3 in reconcile/discovery, EKS in
// reconcile/podidentity) plans in one vocabulary, package reconcile/change:
// the kind of change of a resource and the fields that differ, written the
// same way in text and markdown plans.
//
// Deciding never interleaves with calling AWS: a Plan is a value that one piece
// renders and another executes, so `plan` shows exactly what `apply` will do.
package reconcile
