// Command genplan prints a rendered iambind plan of N roles (a ResourceList,
// the output of the real generator) for the reconcile benchmarks; see
// package benchplan for its shape. Usage: genplan -n 200 > plan.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/iambind/iambind/bench/reconcile/benchplan"
)

func main() {
	n := flag.Int("n", 200, "number of roles (IdentityBindings)")
	var o benchplan.Options
	flag.StringVar(&o.Account, "account", "123456789012", "AWS account ID of the cluster (moto's default)")
	flag.StringVar(&o.Owner, "owner", "bench", "owner tag value (iambind.dev/owner)")
	flag.StringVar(&o.RolePath, "path", "/iambind-bench/", "role path")
	flag.StringVar(&o.Prefix, "prefix", "app", "binding name prefix (role names derive from it)")
	flag.StringVar(&o.Issuer, "issuer", benchplan.DefaultIssuer, "the cluster's OIDC issuer")
	flag.Parse()
	data, err := benchplan.Render(*n, o)
	if err == nil {
		_, err = os.Stdout.Write(data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genplan:", err)
		os.Exit(1)
	}
}
