package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/input"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestShardedOverlayBuilds renders deploy/sharded with the real kustomize
// (and iambind-fn, which base/ runs as a transformer) and checks the Indexed
// Job: N pods, each given --shard $(JOB_COMPLETION_INDEX)/N, which for every
// index Kubernetes substitutes is a shard the CLI accepts, and together they
// cover every shard once. (TestGitOps has a real API server admit it.)
func TestShardedOverlayBuilds(t *testing.T) {
	bin := filepath.Join(repoRoot, "bin")
	for _, b := range [][]string{{"build", "-o", filepath.Join(bin, "iambind-fn"), "./fn"}} {
		cmd := exec.Command("go", b...)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", b, err, out)
		}
	}
	kustomize := filepath.Join(bin, "kustomize")
	if _, err := os.Stat(kustomize); err != nil {
		cmd := exec.Command("go", "install", "sigs.k8s.io/kustomize/kustomize/v5@v5.8.2")
		cmd.Env = append(os.Environ(), "GOBIN="+bin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("installing kustomize (make tools): %v\n%s", err, out)
		}
	}
	cmd := exec.Command(kustomize, "build", "--enable-alpha-plugins", "--enable-exec", "deploy/sharded")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kustomize build deploy/sharded: %v\n%s", err, stderr.String())
	}
	nodes, err := kio.FromBytes(stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var jobs int
	for _, n := range nodes {
		if n.GetKind() == "ServiceAccount" && n.GetAnnotations()["eks.amazonaws.com/role-arn"] == "" {
			t.Errorf("ServiceAccount %s is not annotated by iambind's own binding", n.GetName())
		}
		if n.GetKind() != "Job" {
			continue
		}
		jobs++
		field := func(path ...string) string {
			v, err := n.Pipe(yaml.Lookup(path...))
			if err != nil || v == nil {
				t.Fatalf("Job %s: no %s: %v", n.GetName(), strings.Join(path, "."), err)
			}
			return v.YNode().Value
		}
		if field("spec", "completionMode") != "Indexed" {
			t.Errorf("Job %s is not Indexed", n.GetName())
		}
		completions, _ := strconv.Atoi(field("spec", "completions"))
		parallelism, _ := strconv.Atoi(field("spec", "parallelism"))
		if completions < 2 || parallelism != completions {
			t.Errorf("completions %d, parallelism %d: want N >= 2 pods all at once", completions, parallelism)
		}
		argsNode, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=iambind]", "args"))
		if err != nil || argsNode == nil {
			t.Fatalf("no container args: %v", err)
		}
		var args []string
		for _, a := range argsNode.Content() {
			args = append(args, a.Value)
		}
		i := slices.Index(args, "--shard")
		if i < 0 || i+1 >= len(args) || !slices.Contains(args, "--prune") || args[0] != "apply" {
			t.Fatalf("args %v: want apply ... --prune --shard $(JOB_COMPLETION_INDEX)/N", args)
		}
		seen := map[int]bool{}
		for index := range completions {
			// What the kubelet substitutes in pod `index`.
			v := strings.ReplaceAll(args[i+1], "$(JOB_COMPLETION_INDEX)", strconv.Itoa(index))
			s, err := input.ParseShard(v)
			if err != nil || s.Count != completions {
				t.Errorf("pod %d gets --shard %q: %v (want N = completions = %d)", index, v, err, completions)
				continue
			}
			seen[s.Index] = true
		}
		if len(seen) != completions {
			t.Errorf("the %d pods cover shards %v", completions, seen)
		}
	}
	if jobs != 1 {
		t.Errorf("deploy/sharded renders %d Jobs, want 1", jobs)
	}
}
