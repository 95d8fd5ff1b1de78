package podidentity

import (
	"fmt"
	"io"
)

// RenderText writes the association changes for humans, one line each
// (with the role change and the reason under it).
func RenderText(w io.Writer, p *Plan) {
	if p == nil {
		return
	}
	for _, c := range p.Changes {
		fmt.Fprintf(w, "%s %s EKS Pod Identity association %s (region %s)", c.Kind.Symbol(), c.Kind.Verb(), c.Key(), c.Region)
		if c.Adopt {
			fmt.Fprint(w, " [adopt]")
		}
		fmt.Fprintln(w)
		if c.Reason != "" {
			fmt.Fprintf(w, "    # %s\n", c.Reason)
		}
		switch {
		case c.Kind == KindCreate:
			fmt.Fprintf(w, "    + roleArn: %q\n", c.RoleARN)
			renderSettings(w, "+", Settings{}, settingsOf(c))
		case c.Kind == KindDelete:
			fmt.Fprintf(w, "    - roleArn: %q\n", c.RoleARNBefore)
		case c.Kind == KindUpdate && c.RoleARNBefore != c.RoleARN:
			fmt.Fprintf(w, "    ~ roleArn: %q → %q\n", c.RoleARNBefore, c.RoleARN)
		}
		if c.Kind == KindUpdate && c.Before != nil {
			renderSettings(w, "~", *c.Before, settingsOf(c))
		}
		if c.ExternalID == KnownAfterApply {
			fmt.Fprintf(w, "    + externalId: %s (the target role's trust is pinned to it after apply)\n", KnownAfterApply)
		}
	}
}

// Summary is the plan's counts, for the summary line and JSON.
type Summary struct {
	Create   int `json:"create"`
	Update   int `json:"update"`
	Delete   int `json:"delete"`
	NoChange int `json:"noChange"`
}

// Summarize counts the plan's changes; nil when the plan has no associations.
func Summarize(p *Plan) *Summary {
	if p == nil || len(p.Changes) == 0 {
		return nil
	}
	return &Summary{Create: p.Count(KindCreate), Update: p.Count(KindUpdate), Delete: p.Count(KindDelete), NoChange: p.Count(KindNoChange)}
}

// PlanSummary is the association part of the plan's closing line, "" when
// the plan has no associations.
func PlanSummary(p *Plan) string {
	s := Summarize(p)
	if s == nil {
		return ""
	}
	return fmt.Sprintf("Pod Identity associations: %d to create, %d to update, %d to delete, %d unchanged",
		s.Create, s.Update, s.Delete, s.NoChange)
}

// ApplySummary is the association part of apply's closing line.
func ApplySummary(r *Result, reads, writes int64) string {
	return fmt.Sprintf("Pod Identity associations: %d created, %d updated, %d deleted, %d unchanged; EKS calls: %d reads, %d writes",
		r.Created, r.Updated, r.Deleted, r.Unchanged, reads, writes)
}

func settingsOf(c Change) Settings {
	return Settings{TargetRoleARN: c.TargetRoleARN, DisableSessionTags: c.DisableSessionTags, Policy: c.Policy}
}

// renderSettings writes the chaining settings that are set or change.
func renderSettings(w io.Writer, sym string, before, after Settings) {
	if before.TargetRoleARN != after.TargetRoleARN {
		fmt.Fprintf(w, "    %s targetRoleArn: %s\n", sym, arrow(before.TargetRoleARN, after.TargetRoleARN))
	}
	if before.DisableSessionTags != after.DisableSessionTags {
		fmt.Fprintf(w, "    %s disableSessionTags: %s\n", sym, arrow(fmt.Sprint(before.DisableSessionTags), fmt.Sprint(after.DisableSessionTags)))
	}
	if !sameSettings(Settings{Policy: before.Policy}, Settings{Policy: after.Policy}) {
		fmt.Fprintf(w, "    %s policy: %s\n", sym, arrow(before.Policy, after.Policy))
	}
}

func arrow(before, after string) string {
	if before == "" || before == "false" {
		return fmt.Sprintf("%q", after)
	}
	return fmt.Sprintf("%q → %q", before, after)
}
