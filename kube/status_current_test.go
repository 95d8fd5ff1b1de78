package kube_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/iambind/iambind/kube"
)

// TestCurrent: an outcome already recorded is not written again, whatever
// the time; a changed status, message or role.json is. AWS request IDs do
// not make a message new.
func TestCurrent(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	client := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "plan"}})
	ctx := context.Background()
	failed := kube.Status{Phase: kube.Error, RoleJSON: `{"name":"a"}`, Time: clock,
		Message: "role a: operation error IAM: CreateRole, https response error StatusCode: 403, RequestID: 1111-aaaa, api error AccessDenied: no"}
	get := func() *corev1.ConfigMap {
		cm, err := client.CoreV1().ConfigMaps("ns").Get(ctx, "plan", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm
	}
	if kube.Current(get(), failed) {
		t.Fatal("a ConfigMap without status records no outcome")
	}
	if errs := kube.WriteStatuses(ctx, client, []kube.Update{{Namespace: "ns", Name: "plan", Status: failed}}, 4); len(errs) > 0 {
		t.Fatal(errs)
	}
	cm := get()
	later := failed
	later.Time = clock.Add(time.Hour)
	later.Message = "role a: operation error IAM: CreateRole, https response error StatusCode: 403, RequestID: 2222-bbbb, api error AccessDenied: no"
	if !kube.Current(cm, later) {
		t.Errorf("the same failure an hour later (another request ID) counts as new: %q", cm.Annotations[kube.MessageAnnotation])
	}
	for name, s := range map[string]kube.Status{
		"status":    {Phase: kube.Synced, RoleJSON: failed.RoleJSON, Time: clock},
		"message":   {Phase: kube.Error, RoleJSON: failed.RoleJSON, Message: "another reason", Time: clock},
		"role.json": {Phase: kube.Error, RoleJSON: `{"name":"b"}`, Message: failed.Message, Time: clock},
	} {
		if kube.Current(cm, s) {
			t.Errorf("a changed %s counts as current", name)
		}
	}
}

// TestWriteStatusesReportsEach: every update is written, with bounded
// workers, and each failure is returned.
func TestWriteStatusesReportsEach(t *testing.T) {
	var objs []corev1.ConfigMap
	var updates []kube.Update
	client := fake.NewClientset()
	for i := range 30 {
		objs = append(objs, corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprintf("p%d", i)}})
		if _, err := client.CoreV1().ConfigMaps("ns").Create(context.Background(), &objs[i], metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		updates = append(updates, kube.Update{Namespace: "ns", Name: fmt.Sprintf("p%d", i), Status: kube.Status{Phase: kube.Synced, Time: time.Now()}})
	}
	updates = append(updates, kube.Update{Namespace: "ns", Name: "missing", Status: kube.Status{Phase: kube.Synced, Time: time.Now()}})
	errs := kube.WriteStatuses(context.Background(), client, updates, 4)
	if len(errs) != 1 {
		t.Fatalf("errors: %v", errs)
	}
	for i := range 30 {
		cm, _ := client.CoreV1().ConfigMaps("ns").Get(context.Background(), fmt.Sprintf("p%d", i), metav1.GetOptions{})
		if cm.Annotations[kube.StatusAnnotation] != "Synced" {
			t.Errorf("p%d not written", i)
		}
	}
}
