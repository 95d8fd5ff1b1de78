package discovery

import (
	"fmt"
	"io"
	"strings"
)

// RenderText writes the discovery part of a plan for humans.
func RenderText(w io.Writer, p *Plan) {
	if p == nil {
		return
	}
	for _, bc := range p.Buckets {
		fmt.Fprintf(w, "%s %s S3 bucket %s (%s) publishing %s", bc.Kind.Symbol(), bc.Kind.Verb(), bc.Bucket, bc.Region, strings.Join(bc.Issuers, ", "))
		if bc.Adopt {
			fmt.Fprint(w, " [adopt]")
		}
		fmt.Fprintln(w)
		for _, c := range bc.Changes {
			c.WriteText(w)
		}
	}
}

// PlanSummary is the plan line's discovery part, "" when there is no plan.
func PlanSummary(p *Plan) string {
	if p == nil || len(p.Buckets) == 0 {
		return ""
	}
	return fmt.Sprintf("S3 discovery buckets: %d to create, %d to update, %d unchanged",
		p.Count(KindCreate), p.Count(KindUpdate), p.Count(KindNoChange))
}

// ApplySummary is apply's closing line's discovery part.
func ApplySummary(r *Result, reads, writes int64) string {
	return fmt.Sprintf("S3 buckets: %d created, %d updated, %d unchanged, %d objects written, %d deleted; S3 calls: %d reads, %d writes",
		r.BucketsCreated, r.BucketsUpdated, r.BucketsUnchanged, r.ObjectsWritten, r.ObjectsDeleted, reads, writes)
}
