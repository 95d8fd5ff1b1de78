package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The layout README recommends for big repositories: one kustomization per
// team, each with the IdentityCluster as its transformer, under a top-level
// kustomization that only lists them. These tests hold README to its word
// with the real kustomize: the layout builds what one kustomization builds,
// and, with spec.discovery, it fails the way README says.

const layoutTeamResources = `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: app, namespace: TEAM}
spec:
  serviceAccounts: [{name: app}, {name: worker}]
  policies: {managed: [AmazonS3ReadOnlyAccess]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: TEAM}
`

var layoutTeams = []string{"team-a", "team-b"}

// buildLayout writes the teams' resources as one kustomization (perTeam
// false) or as one per team under a top level, and runs kustomize build.
func buildLayout(t *testing.T, cluster string, perTeam bool) (out, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	if perTeam {
		top := "resources:\n"
		for _, team := range layoutTeams {
			write(t, filepath.Join(dir, team), "kustomization.yaml", "resources: [app.yaml]\ntransformers: [cluster.yaml]\n")
			write(t, filepath.Join(dir, team), "cluster.yaml", cluster)
			write(t, filepath.Join(dir, team), "app.yaml", strings.ReplaceAll(layoutTeamResources, "TEAM", team))
			top += "  - " + team + "\n"
		}
		write(t, dir, "kustomization.yaml", top)
	} else {
		resources := "resources:\n"
		for _, team := range layoutTeams {
			write(t, dir, team+".yaml", strings.ReplaceAll(layoutTeamResources, "TEAM", team))
			resources += "  - " + team + ".yaml\n"
		}
		write(t, dir, "kustomization.yaml", resources+"transformers: [cluster.yaml]\n")
		write(t, dir, "cluster.yaml", cluster)
	}
	return tryKustomizeBuild(t, dir)
}

func TestKustomizePerTeamLayoutBuildsTheSame(t *testing.T) {
	cluster := execClusterYAML("")
	one, stderr, err := buildLayout(t, cluster, false)
	if err != nil {
		t.Fatalf("one kustomization: %v\n%s", err, stderr)
	}
	perTeam, stderr, err := buildLayout(t, cluster, true)
	if err != nil {
		t.Fatalf("one kustomization per team: %v\n%s", err, stderr)
	}
	// Each team: its plan, its annotated ServiceAccount and the one created.
	for _, team := range layoutTeams {
		for _, want := range []string{
			"name: iambind-app\n  namespace: " + team,
			"iambind.dev/binding: " + team + "/app",
			"name: worker\n  namespace: " + team,
		} {
			if !strings.Contains(perTeam, want) {
				t.Errorf("the per-team build lacks %q:\n%s", want, perTeam)
			}
		}
	}
	if perTeam != one {
		t.Errorf("one kustomization per team builds something else than one kustomization:\n--- one\n%s\n--- per team\n%s", one, perTeam)
	}
}

// With spec.discovery every team's run emits the cluster's discovery plan,
// and kustomize refuses the second copy: README tells such users to keep a
// cluster's bindings in one kustomization.
func TestKustomizePerTeamLayoutWithDiscovery(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "examples", "self-hosted", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cluster := strings.Replace(string(b), "path: ../../bin/iambind-fn", "path: "+fnBinary(), 1)
	if cluster == string(b) {
		t.Fatal("examples/self-hosted/cluster.yaml no longer names ../../bin/iambind-fn")
	}
	one, stderr, err := buildLayout(t, cluster, false)
	if err != nil {
		t.Fatalf("one kustomization: %v\n%s", err, stderr)
	}
	if got := strings.Count(one, "iambind.dev/plan: oidc"); got != 1 {
		t.Fatalf("one kustomization holds %d discovery plans, want 1:\n%s", got, one)
	}
	_, stderr, err = buildLayout(t, cluster, true)
	if err == nil {
		t.Fatal("one kustomization per team with spec.discovery built; README says kustomize refuses the duplicate discovery plan")
	}
	if !strings.Contains(stderr, "already registered id") || !strings.Contains(stderr, "ConfigMap.v1.[noGrp]/iambind-oidc-lab") {
		t.Errorf("kustomize failed, but not on the duplicate discovery plan:\n%s", stderr)
	}
}
