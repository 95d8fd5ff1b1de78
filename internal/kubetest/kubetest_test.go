package kubetest

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestStart starts a server, reaches it as the admin, and finds the namespaces
// the API server creates itself and the RBAC bootstrap roles; an extra user
// authenticates but is granted nothing.
func TestStart(t *testing.T) {
	s := StartT(t, "tenant")
	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Fatalf("kube-system: %v", err)
	}
	if _, err := client.RbacV1().ClusterRoles().Get(ctx, "cluster-admin", metav1.GetOptions{}); err != nil {
		t.Fatalf("RBAC bootstrap roles missing: %v", err)
	}
	tenant, err := kubernetes.NewForConfig(s.ForUser("tenant"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tenant.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `User "tenant"`) {
		t.Errorf("a user without a role binding listed ConfigMaps: %v", err)
	}
	if s.Issuer != Issuer {
		t.Errorf("Issuer = %q", s.Issuer)
	}
}
