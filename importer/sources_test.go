package importer

import (
	"fmt"
	"strings"
	"testing"
)

func TestSourcesFromManifests(t *testing.T) {
	in := `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: orders
    namespace: shop
    annotations:
      eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/team/orders
      eks.amazonaws.com/audience: vault
      eks.amazonaws.com/token-expiration: "3600"
      eks.amazonaws.com/sts-regional-endpoints: "false"
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: managed
    annotations:
      eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/x
      iambind.dev/binding: default/x
---
apiVersion: identity-manager.io/v1alpha1
kind: WorkloadIdentity
metadata: {name: ledger, namespace: payments}
spec:
  name: spec-name
  provider: AWS
  aws:
    assumeRolePolicy: "{}"
    serviceAccounts: [{name: ledger}, {name: audit, namespace: audit}]
status: {name: made-name}
---
apiVersion: identity-manager.io/v1alpha1
kind: WorkloadIdentity
metadata: {name: plain, namespace: payments}
spec: {provider: AWS, aws: {assumeRolePolicy: "{}"}}
---
apiVersion: identity-manager.io/v1alpha1
kind: WorkloadIdentity
metadata: {name: gcp, namespace: payments}
spec: {provider: GCP}
---
apiVersion: irsa-manager.kkb0318.github.io/v1alpha1
kind: IRSA
metadata: {name: s3, namespace: apps}
spec:
  serviceAccount: {name: s3, namespaces: [apps, batch]}
  iamRole: {name: irsa-s3}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: legacy}
spec:
  jobTemplate:
    spec:
      template:
        metadata:
          annotations: {iam.amazonaws.com/role: nightly-role}
        spec: {serviceAccountName: runner}
`
	var s Sources
	if err := s.ReadFiles([]string{"-"}, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range s.Refs {
		got = append(got, fmt.Sprintf("%s %s %s %v aud=%s exp=%d regional=%v", r.Source, r.Object, r.RoleName, r.Subjects, r.Audience, r.TokenExpiration, r.STSRegional != nil && !*r.STSRegional))
	}
	want := []string{
		"serviceAccount ServiceAccount shop/orders orders [shop/orders] aud=vault exp=3600 regional=true",
		"workloadIdentity WorkloadIdentity payments/ledger made-name [payments/ledger audit/audit] aud= exp=0 regional=false",
		"workloadIdentity WorkloadIdentity payments/plain payments-plain [] aud= exp=0 regional=false",
		"irsa IRSA apps/s3 irsa-s3 [apps/s3 batch/s3] aud= exp=0 regional=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("refs:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Managed != 1 || len(s.Ignored) != 1 || !strings.Contains(s.Ignored[0], "provider GCP") {
		t.Errorf("managed %d, ignored %v", s.Managed, s.Ignored)
	}
	if len(s.NodeRole) != 1 || s.NodeRole[0].Role != "nightly-role" || s.NodeRole[0].ServiceAccount != (Subject{"legacy", "runner"}) {
		t.Errorf("node roles: %+v", s.NodeRole)
	}
}
