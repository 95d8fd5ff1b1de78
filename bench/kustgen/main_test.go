package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWrite checks both layouts hold every synthetic object once: the
// resources in resources.yaml, the IdentityCluster as the transformer's
// config (or, without a function, as one more resource).
func TestWrite(t *testing.T) {
	const n = 100
	count := func(t *testing.T, path, what string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count("\n"+string(b), what)
	}
	t.Run("one", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "k")
		if err := write(dir, n, "/bin/cat", false); err != nil {
			t.Fatal(err)
		}
		if got := count(t, filepath.Join(dir, "resources.yaml"), "\nkind: "); got != n-1 {
			t.Errorf("resources.yaml holds %d objects, want %d", got, n-1)
		}
		if got := count(t, filepath.Join(dir, "cluster.yaml"), "path: /bin/cat\n"); got != 1 {
			t.Errorf("cluster.yaml names the function %d times", got)
		}
		if got := count(t, filepath.Join(dir, "kustomization.yaml"), "transformers:\n  - cluster.yaml\n"); got != 1 {
			t.Error("the kustomization does not list the cluster as its transformer")
		}
	})
	t.Run("alone", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "k")
		if err := write(dir, n, "", false); err != nil {
			t.Fatal(err)
		}
		if got := count(t, filepath.Join(dir, "resources.yaml"), "\nkind: "); got != n {
			t.Errorf("resources.yaml holds %d objects, want %d (the cluster included)", got, n)
		}
		// The pipe form's --cluster file, not listed by the kustomization.
		if got := count(t, filepath.Join(dir, "cluster.yaml"), "\nkind: IdentityCluster\n"); got != 1 {
			t.Errorf("cluster.yaml holds %d IdentityClusters, want 1", got)
		}
		if got := count(t, filepath.Join(dir, "kustomization.yaml"), "cluster.yaml"); got != 0 {
			t.Error("the kustomization lists cluster.yaml")
		}
	})
	t.Run("per-team", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "k")
		if err := write(dir, 400, "/bin/cat", true); err != nil {
			t.Fatal(err)
		}
		teams, _ := filepath.Glob(filepath.Join(dir, "team-*", "resources.yaml"))
		total := 0
		for _, f := range teams {
			total += count(t, f, "\nkind: ")
			if c := count(t, f, "\n  namespace: "+filepath.Base(filepath.Dir(f))+"\n"); c != count(t, f, "\n  namespace: ") {
				t.Errorf("%s holds another namespace's objects", f)
			}
		}
		if len(teams) != 20 || total != 399 {
			t.Errorf("%d team kustomizations holding %d objects, want 20 holding 399", len(teams), total)
		}
	})
	if err := write(filepath.Join(t.TempDir(), "k"), n, "relative/fn", false); err == nil {
		t.Error("a relative -exec path was accepted")
	}
}
