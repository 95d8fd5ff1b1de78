package change

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
