// Package reconcile makes AWS IAM match the rendered iambind plan.
package reconcile
