// Package kube is iambind's Kubernetes edge: it reads plan ConfigMaps (and the
// annotated ServiceAccounts the consistency guard needs) from a cluster, writes
// the outcome of a reconcile back onto each plan ConfigMap as annotations, and
// decodes ServiceAccount tokens for `iambind check --token`.
package kube
