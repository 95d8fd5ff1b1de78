package kubetest

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestStart starts a server, reaches it as the admin, and finds the namespaces
// the API server creates itself and the RBAC bootstrap roles.
func TestStart(t *testing.T) {
	s := StartT(t)
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
	if s.Issuer != Issuer {
		t.Errorf("Issuer = %q", s.Issuer)
	}
}
