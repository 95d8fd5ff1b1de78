// Package discovery publishes self-hosted OIDC issuers on S3:
// the discovery document and JWKS of each discovery plan ConfigMap, in a
// bucket iambind owns, readable anonymously through the bucket policy.
//
// It is one room of the reconcile side, shaped like the IAM room:
//
//   - its desired state is input.DiscoveryPlan, read from a plan ConfigMap
//     with the other plans (reconcile/input);
//   - observe.go: reads the buckets' current state (reads only);
//   - diff.go:    the pure heart: desired × observed → a Plan of actions;
//   - act.go:     runs a Plan's actions through aws-sdk-go-v2's S3 client;
//   - render.go:  the plan for humans (text) and machines (JSON).
//
// A fourth AWS service copies this package: its own observe, diff, act and
// render, a field in the orchestrator's Plan and one hook in the pipeline.
package discovery

// ContentType of both published documents.
const ContentType = "application/json"
