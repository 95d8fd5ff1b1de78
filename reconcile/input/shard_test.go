package input

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]Shard{"": {0, 1}, "0/1": {0, 1}, "3/4": {3, 4}, " 1 / 2 ": {1, 2}} {
		got, err := ParseShard(in)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"1/1", "-1/2", "0/0", "1", "a/b", "1/2/3"} {
		if _, err := ParseShard(in); err == nil {
			t.Errorf("ParseShard(%q) accepted", in)
		}
	}
}

// Every role, planned or only observed (pruned), belongs to exactly one
// shard, and the assignment does not depend on the plan's other roles.
func TestShardPartitionsRolesAndPrune(t *testing.T) {
	in := &Input{}
	for i := range 40 {
		in.Roles = append(in.Roles, testRole(fmt.Sprintf("app-%02d", i), "o"))
	}
	const n = 4
	seen := map[string]int{}
	prunedBy := map[string]int{}
	for i := range n {
		part := Shard{i, n}.Filter(in)
		for _, r := range part.Roles {
			seen[r.Name]++
		}
		if got := part.Owners(); !slices.Equal(got, []string{"o"}) {
			t.Errorf("shard %d owners %v, want the whole plan's", i, got)
		}
		for j := range 40 {
			// An owned role that left the plan, named like any other (and in another case).
			if part.MayPrune(fmt.Sprintf("GONE-%02d", j), "") {
				prunedBy[fmt.Sprintf("gone-%02d", j)]++
			}
		}
	}
	for _, r := range in.Roles {
		if seen[r.Name] != 1 {
			t.Errorf("role %s in %d shards", r.Name, seen[r.Name])
		}
	}
	if len(prunedBy) != 40 {
		t.Errorf("%d of 40 departed roles have a pruning shard", len(prunedBy))
	}
	for name, c := range prunedBy {
		if c != 1 {
			t.Errorf("departed role %s pruned by %d shards", name, c)
		}
	}
	// Stable: a role's shard is the same in a smaller plan, and by name regardless of case.
	small := &Input{Roles: in.Roles[:5]}
	for i := range n {
		sh := Shard{i, n}
		for _, r := range sh.Filter(small).Roles {
			if !sh.owns(strings.ToLower(r.Name)) || !sh.Filter(in).MayPrune(strings.ToUpper(r.Name), "") {
				t.Errorf("role %s moved shard", r.Name)
			}
		}
	}
}

// A plan spanning accounts is sharded by account: each account is wholly
// in one shard, which then prunes in it as an unsharded run would.
func TestShardByAccount(t *testing.T) {
	in := &Input{}
	accounts := []string{"111122223333", "123456789012", "210987654321", "333344445555", "444455556666"}
	for _, a := range accounts {
		for i := range 3 {
			r := testRole(fmt.Sprintf("r%d", i), "o")
			r.ARN = strings.Replace(r.ARN, testAccount, a, 1)
			in.Roles = append(in.Roles, r)
		}
	}
	got := map[string]int{}
	for i := range 3 {
		part := Shard{i, 3}.Filter(in)
		if part.Whole != nil {
			t.Errorf("shard %d keeps a whole-plan filter; accounts are pruned as unsharded", i)
		}
		for _, g := range ByAccount(part) {
			if len(g.In.Roles) != 3 {
				t.Errorf("shard %d has %d of account %s's 3 roles", i, len(g.In.Roles), g.Account)
			}
			got[g.Account]++
		}
	}
	for _, a := range accounts {
		if got[a] != 1 {
			t.Errorf("account %s in %d shards", a, got[a])
		}
	}
}
