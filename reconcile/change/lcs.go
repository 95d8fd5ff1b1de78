package change

import "strings"

// LCS is the table line diffs walk: lcs[i][j] is the length of the longest
// common subsequence of a[i:] and b[j:]. Each diff walks it with its own
// tie-breaking (which of a removal or an addition it prints first).
func LCS(a, b []string) [][]int {
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	return lcs
}

// Line is one line of a line diff: Op is ' ' (in both), '-' (only in a) or
// '+' (only in b); A and B are the indexes of the line in a and b (for '+',
// A is the next line of a; for '-', B the next line of b).
type Line struct {
	Op   byte
	Text string
	A, B int
}

// Lines is the line diff of a and b, walked from their longest common
// subsequence. Where a removal and an addition are equally good, addsFirst
// says which comes first: diff(1) and the plan's document diffs print the
// removal first; the S3 room's object diffs print the addition first.
func Lines(a, b []string, addsFirst bool) []Line {
	lcs := LCS(a, b)
	var out []Line
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, Line{' ', a[i], i, j})
			i++
			j++
		case j < len(b) && (i == len(a) || lcs[i][j+1] > lcs[i+1][j] || (addsFirst && lcs[i][j+1] == lcs[i+1][j])):
			out = append(out, Line{'+', b[j], i, j})
			j++
		default:
			out = append(out, Line{'-', a[i], i, j})
			i++
		}
	}
	return out
}

// Text prints a line diff as "  common", "- removed", "+ added" lines.
func Text(lines []Line) string {
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteByte(l.Op)
		sb.WriteByte(' ')
		sb.WriteString(l.Text)
		sb.WriteByte('\n')
	}
	return sb.String()
}
