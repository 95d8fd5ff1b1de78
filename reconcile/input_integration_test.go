package reconcile

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

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

// TestIntegrationGuardRefusesRepointedWorkload: iambind plan and apply
// refuse, before any write, a render whose injected workload was pointed at
// another ServiceAccount after the function ran.
func TestIntegrationGuardRefusesRepointedWorkload(t *testing.T) {
	e := newEnv(t)
	out := injectedRender(t)
	if r := e.run("", "plan", "-f", e.file(out)); r.code != 0 && r.code != 2 {
		t.Fatalf("plan of a fresh render: exit %d\n%s", r.code, r.stderr)
	}
	repointed := strings.Replace(out, "serviceAccountName: orders", "serviceAccountName: web", 1)
	for _, cmd := range []string{"plan", "apply"} {
		r := e.run("", cmd, "-f", e.file(repointed))
		if r.code != 1 || !strings.Contains(r.stderr, "consistency guard") || !strings.Contains(r.stderr, "Deployment shop/orders, container app") {
			t.Fatalf("%s: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
	if names := e.roleNames(); len(names) != 0 {
		t.Fatalf("guard must prevent every write, roles: %v", names)
	}
}
