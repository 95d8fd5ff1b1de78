package reconcile

import (
	"fmt"
	"html"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/iambind/iambind/reconcile/discovery"
	"github.com/iambind/iambind/reconcile/input"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// The pull-request view of a plan (iambind plan --output markdown): what a
// reviewer reads in ten seconds on top (refusals, warnings, counts per
// account), every change below in collapsed sections, with documents as
// diffs, and an access map GitHub and GitLab draw from its Mermaid source.
// It shows every change the text plan shows; it is deterministic.

// mdMaxMapRoles bounds the access map: beyond it only changed roles are drawn
// (Mermaid and comment size limits); the tables still list every role.
const mdMaxMapRoles = 60

// RenderMarkdown writes the plan as a Markdown pull-request comment.
func RenderMarkdown(w io.Writer, p *Plan) {
	var b strings.Builder
	title := "no changes"
	if p.HasChanges() {
		title = "changes to review"
	}
	fmt.Fprintf(&b, "## iambind plan: %s\n\n", title)
	fmt.Fprintf(&b, "%s\n\n", mdText(PlanSummary(p)))
	if len(p.Warnings) > 0 {
		b.WriteString("### ⚠️ Warnings\n\n")
		for _, warn := range p.Warnings {
			fmt.Fprintf(&b, "- %s\n", mdText(warn))
		}
		b.WriteString("\n")
	}
	mdAccounts(&b, p)
	mdRoleTable(&b, p)
	mdProviders(&b, p)
	mdRoleDetails(&b, p)
	mdOtherServices(&b, p)
	mdOrphans(&b, p)
	mdAccessMap(&b, p)
	io.WriteString(w, b.String())
}

// RenderMarkdownRefusal writes the report of a plan that was refused: nothing
// would be applied, and the reasons come first.
func RenderMarkdownRefusal(w io.Writer, reason error, warnings []string) {
	var b strings.Builder
	b.WriteString("## iambind plan: ⛔ refused\n\n")
	b.WriteString("Nothing will be applied until this is fixed:\n\n")
	for _, line := range strings.Split(strings.TrimSpace(reason.Error()), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintf(&b, "- %s\n", mdText(line))
		}
	}
	b.WriteString("\n")
	if len(warnings) > 0 {
		b.WriteString("### ⚠️ Warnings\n\n")
		for _, warn := range warnings {
			fmt.Fprintf(&b, "- %s\n", mdText(warn))
		}
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}

// accountOf is the account of an IAM ARN ("" when it does not parse).
func accountOf(a string) string {
	if parsed, err := arn.Parse(a); err == nil {
		return parsed.AccountID
	}
	return ""
}

func mdAccounts(b *strings.Builder, p *Plan) {
	counts := map[string]map[iam.ChangeKind]int{}
	for _, rc := range p.Roles {
		acct := accountOf(rc.ARN)
		if counts[acct] == nil {
			counts[acct] = map[iam.ChangeKind]int{}
		}
		counts[acct][rc.Kind]++
	}
	if len(counts) == 0 {
		b.WriteString("No roles in the plan.\n\n")
		return
	}
	b.WriteString("| account | create | update | replace | delete | unchanged |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|\n")
	for _, acct := range slices.Sorted(maps.Keys(counts)) {
		c := counts[acct]
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d |\n", mdCode(acct), c[iam.KindCreate], c[iam.KindUpdate], c[iam.KindReplace], c[iam.KindDelete], c[iam.KindNoChange])
	}
	b.WriteString("\n")
}

var kindMark = map[iam.ChangeKind]string{iam.KindCreate: "🟢 create", iam.KindUpdate: "🟡 update", iam.KindReplace: "🟠 replace",
	iam.KindDelete: "🔴 delete", iam.KindNoChange: "⚪ no change"}

func mdRoleTable(b *strings.Builder, p *Plan) {
	if len(p.Roles) == 0 {
		return
	}
	b.WriteString("| role | account | action | changes |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, rc := range p.Roles {
		action := kindMark[rc.Kind]
		if rc.Adopt {
			action += " (adopt)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", mdCode(rc.Name), mdCode(accountOf(rc.ARN)), action, mdCell(changedFields(rc)))
	}
	b.WriteString("\n")
}

// changedFields names what changes, grouped: "trustPolicy, inlinePolicies.bucket, tags (2)".
func changedFields(rc iam.RoleChange) string {
	if rc.Kind == iam.KindDelete {
		return "the role and its policies"
	}
	if len(rc.Changes) == 0 {
		return "—"
	}
	var out []string
	seen := map[string]int{}
	for _, c := range rc.Changes {
		group := c.Field
		if strings.HasPrefix(group, "tags.") {
			group = "tags"
		}
		if _, ok := seen[group]; !ok {
			out = append(out, group)
		}
		seen[group]++
	}
	for i, g := range out {
		if n := seen[g]; n > 1 {
			out[i] = fmt.Sprintf("%s (%d)", g, n)
		}
	}
	return strings.Join(out, ", ")
}

func mdProviders(b *strings.Builder, p *Plan) {
	if len(p.Providers) == 0 {
		return
	}
	b.WriteString("| OIDC provider | account | action | client IDs to add |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, pc := range p.Providers {
		add := strings.Join(pc.AddClientIDs, ", ")
		if add == "" {
			add = "—"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", mdCode(pc.URL), mdCode(accountOf(pc.ARN)), kindMark[pc.Kind], mdCell(add))
	}
	b.WriteString("\n")
}

func mdRoleDetails(b *strings.Builder, p *Plan) {
	changed := 0
	for _, rc := range p.Roles {
		if len(rc.Actions) > 0 {
			changed++
		}
	}
	if changed == 0 {
		return
	}
	b.WriteString("### Changes\n\n")
	for _, rc := range p.Roles {
		if len(rc.Actions) == 0 {
			continue
		}
		fmt.Fprintf(b, "<details><summary>%s %s <code>%s</code> (<code>%s</code>)</summary>\n\n",
			rc.Kind.Symbol(), rc.Kind.Verb(), html.EscapeString(rc.Name), html.EscapeString(rc.ARN))
		if rc.Reason != "" {
			fmt.Fprintf(b, "%s\n\n", mdText(rc.Reason))
		}
		if rc.Source != "" {
			fmt.Fprintf(b, "From %s.\n\n", mdCode(rc.Source))
		}
		// Scalar fields as the text plan writes them; documents as diffs.
		var fields strings.Builder
		for _, c := range rc.Changes {
			if c.Diff == "" {
				c.WriteText(&fields)
			}
		}
		if fields.Len() > 0 {
			mdFence(b, "diff", dedent(fields.String()))
		}
		for _, c := range rc.Changes {
			if c.Diff == "" {
				continue
			}
			fmt.Fprintf(b, "%s\n\n", mdCode(c.Field))
			mdFence(b, "diff", "--- current\n+++ planned\n"+c.Diff)
		}
		if rc.Kind == iam.KindDelete {
			var calls strings.Builder
			for _, a := range rc.Actions {
				fmt.Fprintf(&calls, "- %s\n", strings.TrimSpace(string(a.Op)+" "+a.Target))
			}
			mdFence(b, "diff", calls.String())
		}
		b.WriteString("</details>\n\n")
	}
}

// dedent removes the 4-space indent renderFieldChange writes for the text plan.
func dedent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "    ")
	}
	return strings.Join(lines, "\n") + "\n"
}

// mdFence writes a fenced code block whose fence is longer than any run of
// backticks in the content, so no value (IAM documents can hold backticks)
// can close it early.
func mdFence(b *strings.Builder, info, content string) {
	longest, run := 0, 0
	for _, r := range content {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	fmt.Fprintf(b, "%s%s\n%s", fence, info, content)
	if !strings.HasSuffix(content, "\n") {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "%s\n\n", fence)
}

// mdCode is an inline code span that survives any backticks in s.
func mdCode(s string) string {
	if s == "" {
		return "—"
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	ticks := strings.Repeat("`", longest+1)
	if longest > 0 || strings.HasPrefix(s, " ") {
		return ticks + " " + s + " " + ticks
	}
	return ticks + s + ticks
}

// mdCell keeps a table cell on one line and its pipes literal.
func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`)
}

// mdText escapes text from plans and errors (names, ARNs, messages) so it is
// shown as written, never interpreted as Markdown or HTML.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '#', '|', '~', '!', '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdAccessMap draws ServiceAccount → role → policies as a Mermaid flowchart.
func mdAccessMap(b *strings.Builder, p *Plan) {
	roles := p.Roles
	omitted := 0
	if len(roles) > mdMaxMapRoles {
		roles = nil
		for _, rc := range p.Roles {
			if len(rc.Actions) > 0 {
				roles = append(roles, rc)
			}
		}
		omitted = len(p.Roles) - len(roles)
	}
	if len(roles) == 0 {
		return
	}
	b.WriteString("### Access map\n\n")
	if omitted > 0 {
		fmt.Fprintf(b, "Roles without changes are left out (%d).\n\n", omitted)
	}
	var m strings.Builder
	m.WriteString("flowchart LR\n")
	ids := map[string]string{}
	node := func(prefix, key, label, shape string) string {
		if id, ok := ids[prefix+key]; ok {
			return id
		}
		id := fmt.Sprintf("%s%d", prefix, len(ids))
		ids[prefix+key] = id
		open, close := "[", "]"
		switch shape {
		case "round":
			open, close = "(", ")"
		case "doc":
			open, close = "[/", "/]"
		}
		fmt.Fprintf(&m, "  %s%s\"%s\"%s\n", id, open, mermaidText(label), close)
		return id
	}
	var edges, classes []string
	for _, rc := range chainOrder(roles) {
		label := "role " + rc.Name
		if mdIsTarget(rc) {
			label = "target role " + rc.Name + " in " + accountOf(rc.ARN)
		}
		if rc.Kind != iam.KindNoChange {
			label += " (" + rc.Kind.Verb() + ")"
		}
		rid := node("role", rc.ARN, label, "")
		if rc.Kind != iam.KindNoChange {
			classes = append(classes, fmt.Sprintf("  class %s %s", rid, rc.Kind))
		}
		if rc.Desired() == nil {
			continue // a role to delete: no one will assume it
		}
		if t := rc.Desired().PodIdentityTarget; t != nil {
			// EKS chains from the association role into this one.
			aid := node("role", t.AssociationRoleARN, "role "+t.AssociationRoleARN[strings.LastIndex(t.AssociationRoleARN, "/")+1:], "")
			edges = append(edges, fmt.Sprintf("  %s -->|\"EKS Pod Identity chains (sts:ExternalId)\"| %s", aid, rid))
		}
		for _, sub := range trustSubjects(rc.Desired()) {
			sid := node("sa", sub, "ServiceAccount "+sub, "round")
			edges = append(edges, fmt.Sprintf("  %s --> %s", sid, rid))
		}
		edges = append(edges, podIdentityEdges(rc, rid, node)...)
		for _, a := range slices.Sorted(slices.Values(rc.Desired().ManagedPolicyARNs)) {
			pid := node("mp", a, policyLabel(a), "doc")
			edges = append(edges, fmt.Sprintf("  %s --> %s", rid, pid))
		}
		for _, name := range slices.Sorted(maps.Keys(rc.Desired().InlinePolicies)) {
			pid := node("ip", rc.Name+"/"+name, "inline "+name, "doc")
			edges = append(edges, fmt.Sprintf("  %s --> %s", rid, pid))
		}
	}
	for _, e := range edges {
		m.WriteString(e + "\n")
	}
	m.WriteString("  classDef create fill:#dafbe1,stroke:#1a7f37\n")
	m.WriteString("  classDef update fill:#fff8c5,stroke:#9a6700\n")
	m.WriteString("  classDef replace fill:#ffe7d1,stroke:#bc4c00\n")
	m.WriteString("  classDef delete fill:#ffebe9,stroke:#cf222e,stroke-dasharray:4 3\n")
	for _, c := range classes {
		m.WriteString(c + "\n")
	}
	mdFence(b, "mermaid", m.String())
}

// trustSubjects lists the ServiceAccounts ("namespace/name", globs kept) a
// role's trust policy admits, sorted.
func trustSubjects(r *input.DesiredRole) []string {
	seen := map[string]bool{}
	for _, st := range r.TrustPolicy.Statement {
		for _, cond := range st.Condition {
			for key, values := range cond {
				if !strings.HasSuffix(key, ":sub") {
					continue
				}
				for _, v := range values {
					if rest, ok := strings.CutPrefix(v, "system:serviceaccount:"); ok {
						v = strings.Replace(rest, ":", "/", 1)
					}
					seen[v] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// policyLabel shortens a managed policy ARN: AWS managed policies by name,
// customer ones with their account.
func policyLabel(a string) string {
	parsed, err := arn.Parse(a)
	if err != nil {
		return a
	}
	name := strings.TrimPrefix(parsed.Resource, "policy/")
	if parsed.AccountID == "aws" {
		return name
	}
	return parsed.AccountID + ": " + name
}

// mermaidText makes a label safe inside Mermaid's "quoted" node text: quotes
// and markup characters become Mermaid entity codes.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"', '#', '<', '>', '&', '`', '\\', '{', '}', '|':
			fmt.Fprintf(&b, "#%d;", r)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdOtherServices shows the changes of the other rooms (S3 discovery
// documents, EKS Pod Identity associations) as their text plans write them,
// collapsed: the reviewer sees every change the text plan shows.
func mdOtherServices(b *strings.Builder, p *Plan) {
	sections := []struct {
		title   string
		changed bool
		render  func(io.Writer)
	}{
		{"S3 discovery documents (self-hosted issuers)", p.Discovery.HasChanges(), func(w io.Writer) { discovery.RenderText(w, p.Discovery) }},
		{"EKS Pod Identity associations", p.PodIdentity.HasChanges(), func(w io.Writer) { podidentity.RenderText(w, p.PodIdentity) }},
	}
	for _, sec := range sections {
		var text strings.Builder
		sec.render(&text)
		if text.Len() == 0 {
			continue
		}
		fmt.Fprintf(b, "### %s\n\n", sec.title)
		summary := "no changes"
		if sec.changed {
			summary = "changes"
		}
		fmt.Fprintf(b, "<details><summary>%s</summary>\n\n", summary)
		mdFence(b, "diff", dedent(text.String()))
		b.WriteString("</details>\n\n")
	}
}

// mdOrphans lists owned roles that left the plan and stay without --prune.
func mdOrphans(b *strings.Builder, p *Plan) {
	lines := OrphanLines(p)
	if len(lines) == 0 {
		return
	}
	b.WriteString("### Owned roles no longer planned\n\n")
	for _, l := range lines {
		fmt.Fprintf(b, "- %s\n", mdText(l))
	}
	b.WriteString("\n")
}
