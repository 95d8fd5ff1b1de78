// Command iambind plans and applies the IAM side of the rendered plan:
// `iambind plan|apply|check|version` (see the reconcile package).
package main

import (
	"os"

	"github.com/iambind/iambind/reconcile"
)

func main() {
	os.Exit(reconcile.Main())
}
