package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

const (
	// PlanSelector selects the plan ConfigMaps the function renders.
	PlanSelector = "iambind.dev/plan=role"
	// RoleARNAnnotation is the IRSA annotation on ServiceAccounts.
	RoleARNAnnotation = "eks.amazonaws.com/role-arn"
	// PlanRoleARNAnnotation is the role ARN the function writes onto each plan ConfigMap.
	PlanRoleARNAnnotation = "iambind.dev/role-arn"

	// lastApplied is kubectl's copy of the whole object: noise in the plan stream.
	lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
)

// Plans is what a cluster holds of the rendered output: the plan ConfigMaps and
// the ServiceAccounts that carry the role ARN of one of them (for the
// consistency guard).
type Plans struct {
	ConfigMaps      []corev1.ConfigMap
	ServiceAccounts []corev1.ServiceAccount
}

// ListPlans lists the plan ConfigMaps matching selector (PlanSelector when empty)
// in namespace (all namespaces when empty), and the ServiceAccounts, in all
// namespaces, annotated with the role ARN of a listed plan. ServiceAccounts are
// listed cluster-wide even with a namespace because a binding may name subjects
// in other namespaces than its own; ServiceAccounts bound to roles outside the
// listed plans are left out, since the guard has nothing to compare them with.
// Both lists are sorted by namespace and name.
func ListPlans(ctx context.Context, client kubernetes.Interface, selector, namespace string) (*Plans, error) {
	if selector == "" {
		selector = PlanSelector
	}
	var plans Plans
	opts := metav1.ListOptions{LabelSelector: selector}
	for {
		list, err := client.CoreV1().ConfigMaps(namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing plan ConfigMaps (%s) in %s: %w", selector, scope(namespace), err)
		}
		plans.ConfigMaps = append(plans.ConfigMaps, list.Items...)
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	arns := map[string]bool{}
	for i := range plans.ConfigMaps {
		if arn := RoleARNOf(&plans.ConfigMaps[i]); arn != "" {
			arns[arn] = true
		}
	}
	if len(arns) > 0 {
		opts = metav1.ListOptions{}
		for {
			list, err := client.CoreV1().ServiceAccounts("").List(ctx, opts)
			if err != nil {
				return nil, fmt.Errorf("listing ServiceAccounts for the consistency guard: %w", err)
			}
			for _, sa := range list.Items {
				if arns[sa.Annotations[RoleARNAnnotation]] {
					plans.ServiceAccounts = append(plans.ServiceAccounts, sa)
				}
			}
			if opts.Continue = list.Continue; opts.Continue == "" {
				break
			}
		}
	}
	sort.Slice(plans.ConfigMaps, func(i, j int) bool {
		return less(&plans.ConfigMaps[i].ObjectMeta, &plans.ConfigMaps[j].ObjectMeta)
	})
	sort.Slice(plans.ServiceAccounts, func(i, j int) bool {
		return less(&plans.ServiceAccounts[i].ObjectMeta, &plans.ServiceAccounts[j].ObjectMeta)
	})
	return &plans, nil
}

// YAML renders the plans as a multi-document YAML stream of ConfigMaps then
// ServiceAccounts, shaped like the rendered output of the function (apiVersion,
// kind, metadata with name, namespace, labels and annotations, data), so that
// the reader behind `-f` consumes it unchanged. Server-side fields (uid,
// resourceVersion, managedFields, kubectl's last-applied copy) are dropped.
func (p *Plans) YAML() ([]byte, error) {
	var buf bytes.Buffer
	emit := func(obj map[string]any) error {
		doc, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if buf.Len() > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
		return nil
	}
	for i := range p.ConfigMaps {
		cm := &p.ConfigMaps[i]
		obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(&cm.ObjectMeta)}
		if len(cm.Data) > 0 {
			obj["data"] = cm.Data
		}
		if err := emit(obj); err != nil {
			return nil, fmt.Errorf("ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
		}
	}
	for i := range p.ServiceAccounts {
		sa := &p.ServiceAccounts[i]
		if err := emit(map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(&sa.ObjectMeta)}); err != nil {
			return nil, fmt.Errorf("ServiceAccount %s/%s: %w", sa.Namespace, sa.Name, err)
		}
	}
	return buf.Bytes(), nil
}

func meta(m *metav1.ObjectMeta) map[string]any {
	out := map[string]any{"name": m.Name, "namespace": m.Namespace}
	if len(m.Labels) > 0 {
		out["labels"] = m.Labels
	}
	annotations := map[string]string{}
	for k, v := range m.Annotations {
		if k != lastApplied {
			annotations[k] = v
		}
	}
	if len(annotations) > 0 {
		out["annotations"] = annotations
	}
	return out
}

// RoleARNOf is a plan ConfigMap's role ARN: the annotation the function sets,
// else the "arn" field of role.json; "" when neither is there. Use it to find the
// ConfigMap(s) to write a role's status onto (a multi-cluster role may be planned
// by one ConfigMap per cluster).
func RoleARNOf(cm *corev1.ConfigMap) string {
	if arn := cm.Annotations[PlanRoleARNAnnotation]; arn != "" {
		return arn
	}
	var role struct {
		ARN string `json:"arn"`
	}
	if json.Unmarshal([]byte(cm.Data["role.json"]), &role) == nil {
		return role.ARN
	}
	return ""
}

func less(a, b *metav1.ObjectMeta) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

func scope(namespace string) string {
	if namespace == "" {
		return "all namespaces"
	}
	return "namespace " + namespace
}
