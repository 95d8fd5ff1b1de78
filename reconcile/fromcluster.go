package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/kube"
)

// clusterFlags select plan ConfigMaps in a Kubernetes cluster instead of files
// (the in-cluster reconcile Job).
type clusterFlags struct {
	enabled    bool
	selector   string
	namespace  string
	kubeconfig string
}

func (c *clusterFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.enabled, "from-cluster", false, "read the plan ConfigMaps from the Kubernetes cluster (in-cluster config, else kubeconfig) instead of -f; apply writes iambind.dev/status onto each")
	cmd.Flags().StringVar(&c.selector, "selector", kube.PlanSelector, "with --from-cluster: label selector of the plan ConfigMaps")
	cmd.Flags().StringVar(&c.namespace, "namespace", "", "with --from-cluster: only this namespace (default: all namespaces)")
	cmd.Flags().StringVar(&c.kubeconfig, "kubeconfig", "", "with --from-cluster outside a pod: kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")
}

// clusterSource remembers the listed ConfigMaps so apply can write its
// outcome back onto each one as annotations.
type clusterSource struct {
	client     kubernetes.Interface
	configMaps []corev1.ConfigMap
	now        func() time.Time
}

// loadFromCluster lists the plan ConfigMaps (and annotated ServiceAccounts,
// for the guard) and reads them exactly as `-f` would.
func loadFromCluster(ctx context.Context, f *clusterFlags, prune bool) (*clusterSource, *Input, error) {
	if prune && f.namespace != "" {
		return nil, nil, errors.New("--prune with --namespace would delete the owner's roles planned in other namespaces: prune from-cluster considers every namespace, so drop --namespace")
	}
	cfg, err := kube.Config(f.kubeconfig)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to Kubernetes: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to Kubernetes: %w", err)
	}
	plans, err := kube.ListPlans(ctx, client, f.selector, f.namespace)
	if err != nil {
		return nil, nil, fmt.Errorf("listing plan ConfigMaps: %w", err)
	}
	stream, err := plans.YAML()
	if err != nil {
		return nil, nil, err
	}
	in, err := ReadInputs([]string{"-"}, bytes.NewReader(stream))
	if err != nil {
		return nil, nil, err
	}
	return &clusterSource{client: client, configMaps: plans.ConfigMaps, now: time.Now}, in, nil
}

// writeStatus annotates every listed plan ConfigMap with the outcome of its
// role: Synced, or Error with the reason (a refusal before any write marks
// every plan Error with that reason).
func (s *clusterSource) writeStatus(ctx context.Context, res *Result, runErr error) error {
	var errs []error
	for i := range s.configMaps {
		cm := &s.configMaps[i]
		roleJSON := cm.Data[generator.PlanKeyRole]
		st := kube.Status{Phase: kube.Synced, RoleJSON: roleJSON, Time: s.now()}
		var role generator.Role
		switch {
		case json.Unmarshal([]byte(roleJSON), &role) != nil:
			st.Phase, st.Message = kube.Error, "role.json does not parse"
		case res == nil && runErr != nil:
			st.Phase, st.Message = kube.Error, firstLine(runErr.Error())
		case res != nil:
			if err := res.RoleErrors[role.Name]; err != nil {
				st.Phase, st.Message = kube.Error, err.Error()
			}
			for _, p := range role.OIDCProviders {
				if err := res.ProviderErrors[p.URL]; err != nil {
					st.Phase, st.Message = kube.Error, "OIDC provider "+p.URL+": "+err.Error()
				}
			}
		}
		if err := kube.WriteStatus(ctx, s.client, cm.Namespace, cm.Name, st); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// firstLine keeps what happened and its first reason, on one line.
func firstLine(s string) string {
	lines := strings.SplitN(s, "\n", 3)
	if len(lines) > 1 {
		return lines[0] + " " + strings.TrimSpace(lines[1])
	}
	return s
}

// progressReporter prints "roles done/total" on stderr when it is a terminal,
// and nothing otherwise (CI logs and pipes stay clean).
func progressReporter(stderr io.Writer) func(done, total int) {
	f, ok := stderr.(*os.File)
	if !ok {
		return nil
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(f, "\r\033[Kapplying: %d/%d roles", done, total)
		if done == total {
			fmt.Fprint(f, "\r\033[K")
		}
	}
}
