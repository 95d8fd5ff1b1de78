package importer

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteText prints the report for people: each role's class, the findings,
// and the counts per source.
func (rep *Report) WriteText(w io.Writer) {
	for _, r := range rep.Roles {
		fmt.Fprintf(w, "role %s: %s", r.Role, r.Class)
		if r.Reason != "" {
			fmt.Fprintf(w, ": %s", r.Reason)
		}
		if r.File != "" {
			fmt.Fprintf(w, " → %s", r.File)
		}
		fmt.Fprintf(w, "\n    from %s\n", strings.Join(r.Objects, ", "))
	}
	if len(rep.Findings) > 0 {
		fmt.Fprintln(w, "findings:")
		for _, f := range rep.Findings {
			fmt.Fprintf(w, "  %s: %s: %s\n", f.Object, f.Problem, f.Message)
			if f.Binding != "" {
				fmt.Fprintln(w, "    the binding it would need:")
				for _, line := range strings.Split(strings.TrimRight(f.Binding, "\n"), "\n") {
					fmt.Fprintf(w, "      %s\n", line)
				}
			}
		}
	}
	for _, s := range rep.Ignored {
		fmt.Fprintf(w, "ignored: %s\n", s)
	}
	fmt.Fprintln(w, "summary by source:")
	for _, s := range slices.Sorted(maps.Keys(rep.Summary)) {
		c := rep.Summary[s]
		fmt.Fprintf(w, "  %s: %d exact, %d tightened, %d skipped", s, c.Exact, c.Tightened, c.Skipped)
		if len(c.Reasons) > 0 {
			var rs []string
			for _, k := range slices.Sorted(maps.Keys(c.Reasons)) {
				rs = append(rs, fmt.Sprintf("%s: %d", k, c.Reasons[k]))
			}
			fmt.Fprintf(w, " (%s)", strings.Join(rs, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "import: %s: %d imported exactly, %d tightened, %d skipped; %s; IAM: %s (%s); wrote %s (clusters: %s)\n",
		plural(len(rep.Roles), "role"), rep.byClass[ClassExact], rep.byClass[ClassTightened], rep.byClass[ClassSkipped], plural(len(rep.Findings), "finding"),
		plural(int(rep.Reads.Calls), "read"), rep.Reads.Strategy, rep.Out, strings.Join(rep.Clusters, ", "))
}

// WriteJSON prints the report as one JSON document (docs/import.md).
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Count is the number of roles of a class.
func (rep *Report) Count(c Class) int { return rep.byClass[c] }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
