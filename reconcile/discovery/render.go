package discovery

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

var symbol = map[string]string{KindCreate: "+", KindUpdate: "~", KindNoChange: "="}

// RenderText writes the discovery part of a plan for humans.
func RenderText(w io.Writer, p *Plan) {
	if p == nil {
		return
	}
	for _, bc := range p.Buckets {
		verb := map[string]string{KindCreate: "create", KindUpdate: "update", KindNoChange: "no change"}[bc.Kind]
		fmt.Fprintf(w, "%s %s S3 bucket %s (%s) publishing %s", symbol[bc.Kind], verb, bc.Bucket, bc.Region, strings.Join(bc.Issuers, ", "))
		if bc.Adopt {
			fmt.Fprint(w, " [adopt]")
		}
		fmt.Fprintln(w)
		for _, c := range bc.Changes {
			switch {
			case c.Diff != "":
				fmt.Fprintf(w, "    %s:\n", c.Field)
				for _, line := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
					fmt.Fprintf(w, "      %s\n", line)
				}
			case c.Before == nil:
				fmt.Fprintf(w, "    + %s: %s\n", c.Field, show(c.After))
			case c.After == nil:
				fmt.Fprintf(w, "    - %s: %s\n", c.Field, show(c.Before))
			default:
				fmt.Fprintf(w, "    ~ %s: %s → %s\n", c.Field, show(c.Before), show(c.After))
			}
		}
	}
}

func show(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("%q", t)
	case json.RawMessage:
		return string(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Summary is the plan line's discovery part, "" when there is no plan.
func Summary(p *Plan) string {
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
