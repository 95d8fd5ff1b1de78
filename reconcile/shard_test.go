package reconcile

import (
	"fmt"
	"regexp"
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
			if part.mayPrune(&ObservedRole{Name: fmt.Sprintf("GONE-%02d", j)}) {
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
			if !sh.owns(strings.ToLower(r.Name)) || !sh.Filter(in).mayPrune(&ObservedRole{Name: strings.ToUpper(r.Name)}) {
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
		if part.whole != nil {
			t.Errorf("shard %d keeps a whole-plan filter; accounts are pruned as unsharded", i)
		}
		for _, g := range groupByAccount(part) {
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

var shardLineRE = regexp.MustCompile(`shard (\d+)/(\d+): (\d+) of (\d+) planned roles`)

func TestIntegrationShards(t *testing.T) {
	e := newEnv(t)
	docs := []string{clusterYAML("c", testIssuer)}
	for i := range 8 {
		docs = append(docs, bindingYAML("shop", fmt.Sprintf("app%d", i)))
	}
	full := render(t, docs...)
	const n = 3
	for i := range n {
		r := e.run("", "apply", "-f", e.file(full), "--shard", fmt.Sprintf("%d/%d", i, n))
		m := shardLineRE.FindStringSubmatch(r.stderr)
		if r.code != 0 || m == nil {
			t.Fatalf("shard %d: exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
		}
		want := fmt.Sprintf("roles: %s created", m[3])
		if !strings.Contains(r.stdout, want) {
			t.Errorf("shard %d created other than its %s roles:\n%s", i, m[3], r.stdout)
		}
	}
	if got := len(e.roleNames()); got != 8 {
		t.Fatalf("after all shards: %d roles, want 8: %v", got, e.roleNames())
	}
	e.requireMatches(full)

	// Keep app0 only: the 7 departed roles are pruned, each by its own shard,
	// and a shard whose part is now empty still prunes its share.
	kept := render(t, clusterYAML("c", testIssuer), bindingYAML("shop", "app0"))
	deleted := 0
	emptyShardPruned := false
	for i := range n {
		r := e.run("", "apply", "-f", e.file(kept), "--shard", fmt.Sprintf("%d/%d", i, n), "--prune")
		if r.code != 0 {
			t.Fatalf("prune shard %d: exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
		}
		m := summaryRE.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("shard %d: no summary:\n%s", i, r.stdout)
		}
		var d int
		fmt.Sscan(m[3], &d)
		deleted += d
		if strings.Contains(r.stderr, ": 0 of 1 planned roles") && d > 0 {
			emptyShardPruned = true
		}
	}
	if got := strings.Join(e.roleNames(), ","); got != "shop-app0" || deleted != 7 {
		t.Errorf("after sharded prune: %s (deleted %d, want 7)", got, deleted)
	}
	if !emptyShardPruned {
		t.Log("no shard with an empty part had anything to prune (hash layout); the unit test covers it")
	}
}
