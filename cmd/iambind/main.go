// Command iambind plans and applies the IAM side of the rendered plan.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "iambind: not implemented yet")
	os.Exit(1)
}
