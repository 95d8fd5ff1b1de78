package kube

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Client-side rate limit. client-go's default (5 requests/s, burst 10) made
// one status write per plan cost 40 s at 200 plans; the API server's own
// priority and fairness is the real limiter, so the client only smooths bursts.
const (
	DefaultQPS   = 50
	DefaultBurst = 200
)

// Config returns the client configuration: the in-cluster one when running in a
// pod and no kubeconfig was named explicitly, else the kubeconfig named by the
// argument, $KUBECONFIG or ~/.kube/config (in that order), with its current context.
// A configuration without its own rate limit gets DefaultQPS and DefaultBurst.
func Config(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return withRateLimit(cfg), nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration: not running in a pod, and no usable kubeconfig (--kubeconfig, $KUBECONFIG or ~/.kube/config): %w", err)
	}
	return withRateLimit(cfg), nil
}

func withRateLimit(cfg *rest.Config) *rest.Config {
	if cfg.QPS == 0 {
		cfg.QPS = DefaultQPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	return cfg
}
