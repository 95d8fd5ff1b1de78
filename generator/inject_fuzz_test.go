package generator

import "testing"

// FuzzInjectWorkloads feeds arbitrary workload YAML next to a binding with
// injection on for shop/orders (and a wildcard binding) through Generate,
// with the checks of FuzzDecodeBinding: never a panic, the input untouched
// on error, a fixed point on success.
func FuzzInjectWorkloads(f *testing.F) {
	binding := bindingDoc("shop", "orders", "inject: true\nserviceAccounts:\n- name: orders\n- name: default\n") + "---\n" +
		bindingDoc("shop", "etl", "inject: true\nallowWildcardSubjects: true\nserviceAccounts:\n- name: \"etl-*\"\n")
	seeds := []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  serviceAccountName: orders\n  containers: [{name: a, env: [{name: AWS_REGION, value: x}]}]\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\nspec:\n  template:\n    metadata: {annotations: {iambind.dev/injected: 'volume; a: mount AWS_ROLE_ARN'}}\n    spec:\n      containers: [{name: a, volumeMounts: [{name: aws-iam-token, mountPath: /x}]}]\n      volumes: [{name: aws-iam-token, projected: {sources: [{serviceAccountToken: {audience: sts.amazonaws.com, path: token}}]}}]\n",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: shop}\nspec: {jobTemplate: {spec: {template: {spec: {serviceAccountName: etl-1, initContainers: [{name: i}], containers: [{name: a, env: }]}}}}}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [a, {name: b}], volumes: {}}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, annotations: {eks.amazonaws.com/skip-containers: 'a,b'}}\nspec: {containers: [{name: a}, {name: b}, {name: c, env: [{name: AWS_ROLE_ARN, valueFrom: {}}]}]}\n",
		"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r, namespace: shop}\nspec: {workloadRef: {name: d}}\n",
	}
	addFuzzSeeds(f, seeds, "testdata/golden/*inject*/workloads.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if !fuzzableStream(data) {
			return
		}
		checkFuzzRun(t, append(data, []byte("\n---\n"+binding)...), false)
	})
}
