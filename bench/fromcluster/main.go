// Command fromcluster measures `iambind apply --from-cluster` against
// `iambind apply -f` on the same rendered plans, on a real
// kube-apiserver (internal/kubetest) and a moto IAM started by
// scripts/bench-fromcluster.sh. It prints a table and PASS/MISS per goal:
//   - from empty, --from-cluster takes at most 1.5 × (+1 s) the time of -f;
//   - a no-op --from-cluster run rewrites no ConfigMap (resourceVersions
//     compared) and is as quick (the same bound against a no-op -f run).
//
// Usage: fromcluster -n 200 -endpoint http://127.0.0.1:PORT -iambind bin/iambind
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/iambind/iambind/bench/reconcile/benchplan"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/kube"
)

func main() {
	n := flag.Int("n", 200, "number of plans (roles)")
	runs := flag.Int("runs", 3, "runs of each measurement (medians are reported)")
	endpoint := flag.String("endpoint", "", "moto server URL")
	bin := flag.String("iambind", "bin/iambind", "the iambind binary")
	flag.Parse()
	if err := run(*n, *runs, *endpoint, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench-fromcluster:", err)
		os.Exit(1)
	}
}

type measure struct {
	wall   time.Duration
	writes string // IAM writes from the summary line
}

var summaryRE = regexp.MustCompile(`IAM calls: (\d+) reads, (\d+) writes`)

func run(n, runs int, endpoint, bin string) error {
	if endpoint == "" {
		return fmt.Errorf("-endpoint is required")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bench-fromcluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	server, err := kubetest.Start()
	if err != nil {
		return err
	}
	defer server.Stop()
	client, err := kubernetes.NewForConfig(server.Config)
	if err != nil {
		return err
	}
	kubeconfig, err := writeKubeconfig(server, dir)
	if err != nil {
		return err
	}
	rendered, err := benchplan.Render(n, benchplan.Options{})
	if err != nil {
		return err
	}
	// HOME_CLUSTER=1 runs the Job as deployed: with the operator's
	// IdentityCluster (--cluster), so tenancy's issuer, owner and name rules
	// are part of what is measured.
	var clusterArgs []string
	if os.Getenv("HOME_CLUSTER") == "1" {
		f := filepath.Join(dir, "cluster.yaml")
		if err := os.WriteFile(f, []byte(benchplan.ClusterYAML(benchplan.Options{})), 0o644); err != nil {
			return err
		}
		clusterArgs = []string{"--cluster", f}
	}
	planFile := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(planFile, rendered, 0o644); err != nil {
		return err
	}
	cms, sas, err := split(rendered)
	if err != nil {
		return err
	}
	namespaces := map[string]bool{}
	for _, cm := range cms {
		namespaces[cm.Namespace] = true
	}
	for ns := range namespaces {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, sa := range sas {
		if _, err := client.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	// recreate puts fresh plan ConfigMaps (no status yet) in the cluster.
	recreate := func() error {
		for ns := range namespaces {
			if err := client.CoreV1().ConfigMaps(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: kube.PlanSelector}); err != nil {
				return err
			}
		}
		for _, cm := range cms {
			if _, err := client.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm.DeepCopy(), metav1.CreateOptions{}); err != nil {
				return err
			}
		}
		return nil
	}
	apply := func(args ...string) (measure, error) {
		cmd := exec.Command(bin, append([]string{"apply", "--endpoint-url", endpoint}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		t0 := time.Now()
		err := cmd.Run()
		m := measure{wall: time.Since(t0)}
		if err != nil {
			return m, fmt.Errorf("iambind apply %v: %v\n%s", args, err, errOut.String())
		}
		if s := summaryRE.FindStringSubmatch(out.String()); s != nil {
			m.writes = s[2]
		}
		return m, nil
	}
	reset := func() error {
		resp, err := http.Post(endpoint+"/moto-api/reset", "", nil)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	var fileCreate, clusterCreate, fileNoop, clusterNoop []measure
	rewritten := 0
	for range runs {
		if err := reset(); err != nil {
			return err
		}
		m, err := apply("-f", planFile)
		if err != nil {
			return err
		}
		fileCreate = append(fileCreate, m)
		if err := reset(); err != nil {
			return err
		}
		if err := recreate(); err != nil {
			return err
		}
		if m, err = apply(append([]string{"--from-cluster", "--kubeconfig", kubeconfig}, clusterArgs...)...); err != nil {
			return err
		}
		clusterCreate = append(clusterCreate, m)
	}
	// No-op runs, each mode over the state it made itself (a role made from a
	// cluster plan carries iambind.dev/namespace, which -f would remove).
	for range runs {
		before, err := versions(ctx, client)
		if err != nil {
			return err
		}
		m, err := apply(append([]string{"--from-cluster", "--kubeconfig", kubeconfig}, clusterArgs...)...)
		if err != nil {
			return err
		}
		clusterNoop = append(clusterNoop, m)
		after, err := versions(ctx, client)
		if err != nil {
			return err
		}
		for k, v := range before {
			if after[k] != v {
				rewritten++
			}
		}
	}
	if err := reset(); err != nil {
		return err
	}
	if _, err := apply("-f", planFile); err != nil {
		return err
	}
	for range runs {
		m, err := apply("-f", planFile)
		if err != nil {
			return err
		}
		fileNoop = append(fileNoop, m)
	}

	fc, cc, fn, cn := median(fileCreate), median(clusterCreate), median(fileNoop), median(clusterNoop)
	fmt.Printf("%-36s | %8s | %10s\n", "", "wall s", "IAM writes")
	fmt.Printf("%-36s | %8.2f | %10s\n", fmt.Sprintf("apply -f, create %d", n), fc.wall.Seconds(), fc.writes)
	fmt.Printf("%-36s | %8.2f | %10s\n", fmt.Sprintf("apply --from-cluster, create %d", n), cc.wall.Seconds(), cc.writes)
	fmt.Printf("%-36s | %8.2f | %10s\n", fmt.Sprintf("apply -f, no-op %d", n), fn.wall.Seconds(), fn.writes)
	fmt.Printf("%-36s | %8.2f | %10s\n", fmt.Sprintf("apply --from-cluster, no-op %d", n), cn.wall.Seconds(), cn.writes)
	fmt.Printf("  (medians of %d runs; ConfigMaps rewritten by the %d no-op runs: %d)\n\n", runs, runs, rewritten)
	bound := func(base time.Duration) time.Duration { return base*3/2 + time.Second }
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	fmt.Printf("goal  create    --from-cluster %.2f s <= 1.5 x %.2f s + 1 s = %.2f s  %s\n", cc.wall.Seconds(), fc.wall.Seconds(), bound(fc.wall).Seconds(), verdict(cc.wall <= bound(fc.wall)))
	fmt.Printf("goal  no-op     --from-cluster %.2f s <= 1.5 x %.2f s + 1 s = %.2f s  %s\n", cn.wall.Seconds(), fn.wall.Seconds(), bound(fn.wall).Seconds(), verdict(cn.wall <= bound(fn.wall)))
	fmt.Printf("goal  no-op     %d ConfigMaps rewritten, %s IAM writes (goal 0 and 0)  %s\n", rewritten, cn.writes, verdict(rewritten == 0 && cn.writes == "0"))
	return nil
}

func median(ms []measure) measure {
	sorted := append([]measure(nil), ms...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].wall < sorted[j].wall })
	return sorted[len(sorted)/2]
}

func versions(ctx context.Context, c kubernetes.Interface) (map[string]string, error) {
	list, err := c.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{LabelSelector: kube.PlanSelector})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, cm := range list.Items {
		out[cm.Namespace+"/"+cm.Name] = cm.ResourceVersion
	}
	return out, nil
}

// split returns the plan ConfigMaps and ServiceAccounts of a rendered stream.
func split(rendered []byte) ([]*corev1.ConfigMap, []*corev1.ServiceAccount, error) {
	objs, err := kubetest.Decode(rendered)
	if err != nil {
		return nil, nil, err
	}
	var cms []*corev1.ConfigMap
	var sas []*corev1.ServiceAccount
	for _, o := range objs {
		if o.GetKind() == "ResourceList" {
			for _, it := range items(o.Object) {
				if err := add(it, &cms, &sas); err != nil {
					return nil, nil, err
				}
			}
			continue
		}
		if err := add(o.Object, &cms, &sas); err != nil {
			return nil, nil, err
		}
	}
	return cms, sas, nil
}

// items are a ResourceList's items.
func items(obj map[string]any) []map[string]any {
	raw, _ := obj["items"].([]any)
	var out []map[string]any
	for _, it := range raw {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func add(obj map[string]any, cms *[]*corev1.ConfigMap, sas *[]*corev1.ServiceAccount) error {
	switch obj["kind"] {
	case "ConfigMap":
		var cm corev1.ConfigMap
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &cm); err != nil {
			return err
		}
		if cm.Labels[generator.LabelPlan] == generator.PlanRoleValue {
			stripPaths(&cm.ObjectMeta)
			*cms = append(*cms, &cm)
		}
	case "ServiceAccount":
		var sa corev1.ServiceAccount
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &sa); err != nil {
			return err
		}
		stripPaths(&sa.ObjectMeta)
		*sas = append(*sas, &sa)
	}
	return nil
}

func stripPaths(m *metav1.ObjectMeta) {
	for k := range m.Annotations {
		if k == "config.kubernetes.io/path" || k == "internal.config.kubernetes.io/path" || k == "config.kubernetes.io/index" || k == "internal.config.kubernetes.io/index" {
			delete(m.Annotations, k)
		}
	}
}

func writeKubeconfig(s *kubetest.Server, dir string) (string, error) {
	path := filepath.Join(dir, "kubeconfig")
	return path, s.WriteKubeconfig(path)
}
