// Package layout holds the test that keeps the package structure true:
// the dependency rules of docs/architecture.md, checked over the import
// graph that `go list` reports.
package layout
