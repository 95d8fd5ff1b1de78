package reconcile

import (
	"fmt"
	"io"

	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/discovery"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// renderPlan prints the plan in the run's format (text, JSON or markdown).
// Rendering never calls AWS: the call counts are what planning made.
func renderPlan(f *runner, clients *awsapi.Clients, podIdentity *podIdentityRoom, plan *Plan, refused []string, stdout io.Writer) error {
	switch f.Output {
	case "markdown":
		RenderMarkdown(stdout, plan)
	case "json":
		doc := NewJSONDocument("plan", plan)
		doc.Errors = append(doc.Errors, refused...)
		doc.IAMCalls = JSONCalls{Reads: clients.Calls.Reads(), Writes: clients.Calls.Writes(), Retries: clients.Calls.Retries()}
		if podIdentity != nil {
			doc.EKSCalls = &JSONCalls{Reads: podIdentity.calls.Reads(), Writes: podIdentity.calls.Writes(), Retries: podIdentity.calls.Retries()}
		}
		doc.S3Calls = s3Calls(clients, plan)
		return WriteJSON(stdout, doc)
	default:
		RenderText(stdout, plan)
	}
	return nil
}

// renderApplied prints what apply did: the JSON document with its result,
// or the summary lines and, for what failed, what was and was not done.
func renderApplied(f *runner, clients *awsapi.Clients, podIdentity *podIdentityRoom, plan *Plan, refused []string, done applied, stdout io.Writer) error {
	res, piResult, dres := done.iam, done.podIdentity, done.discovery
	reads, writes := clients.Calls.Reads(), clients.Calls.Writes()
	if f.Output == "json" {
		doc := NewJSONDocument("apply", plan)
		doc.IAMCalls = JSONCalls{Reads: reads, Writes: writes, Retries: clients.Calls.Retries()}
		doc.S3Calls = s3Calls(clients, plan)
		doc.Result = &JSONResult{Created: res.Created, Updated: res.Updated, Deleted: res.Deleted, Unchanged: res.Unchanged,
			IAMCalls: doc.IAMCalls, Errors: append([]string{}, refused...), Discovery: discoveryResult(plan, dres)}
		for _, e := range res.Errors {
			doc.Result.Errors = append(doc.Result.Errors, e.Error())
		}
		doc.Errors = doc.Result.Errors
		if podIdentity != nil {
			calls := JSONCalls{Reads: podIdentity.calls.Reads(), Writes: podIdentity.calls.Writes(), Retries: podIdentity.calls.Retries()}
			doc.EKSCalls = &calls
			pr := &JSONPodIdentityResult{EKSCalls: calls}
			if piResult != nil {
				pr.Created, pr.Updated, pr.Deleted, pr.Unchanged = piResult.Created, piResult.Updated, piResult.Deleted, piResult.Unchanged
			}
			doc.Result.PodIdentityAssociations = pr
		}
		if len(res.Unfinished) > 0 {
			doc.Result.Unfinished, doc.Result.Rerun = res.Unfinished, f.Rerun
		}
		return WriteJSON(stdout, doc)
	}
	summary := ApplySummary(res, reads, writes)
	if n := clients.Calls.Retries(); n > 0 {
		summary += fmt.Sprintf(" (+%d retried attempts)", n)
	}
	if plan.Discovery != nil {
		summary += "; " + discovery.ApplySummary(dres, clients.S3Calls.Reads(), clients.S3Calls.Writes())
	}
	fmt.Fprintln(stdout, summary)
	if podIdentity != nil {
		r := piResult
		if r == nil {
			r = &podidentity.Result{}
		}
		fmt.Fprintln(stdout, podidentity.ApplySummary(r, podIdentity.calls.Reads(), podIdentity.calls.Writes()))
	}
	fmt.Fprint(stdout, FailureReport(res, f.Rerun, done.interrupted))
	return nil
}
