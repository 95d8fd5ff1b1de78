package reconcile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/iambind/iambind/reconcile/safety"

	"github.com/iambind/iambind/kube"
	"github.com/iambind/iambind/reconcile/input"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// CheckToken checks the claims of a real ServiceAccount token: whether any
// planned role admits it, for any of its audiences (the verdicts are
// printed on stdout).
func CheckToken(files []string, jwt string, stdin io.Reader, stdout io.Writer) (bool, error) {
	if rest, ok := strings.CutPrefix(jwt, "@"); ok {
		data, err := os.ReadFile(rest)
		if err != nil {
			return false, fmt.Errorf("--token: %w", err)
		}
		jwt = strings.TrimSpace(string(data))
	}
	iss, sub, auds, err := kube.DecodeTokenClaims(jwt)
	if err != nil {
		return false, fmt.Errorf("--token: %w", err)
	}
	if len(auds) == 0 {
		return false, errors.New("--token: the token has no aud claim")
	}
	admitted := false
	for i, aud := range auds {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		ok, err := CheckWebIdentity(files, safety.Token{Issuer: iss, Sub: sub, Aud: aud}, stdin, stdout)
		if err != nil {
			return false, err
		}
		admitted = admitted || ok
	}
	return admitted, nil
}

// CheckWebIdentity prints which planned roles admit a web-identity token
// with these claims, and why the others do not; it reports whether any does.
func CheckWebIdentity(files []string, tok safety.Token, stdin io.Reader, stdout io.Writer) (bool, error) {
	if !strings.HasPrefix(tok.Sub, "system:serviceaccount:") || strings.Count(tok.Sub, ":") != 3 {
		return false, fmt.Errorf("--sub %q must be system:serviceaccount:NAMESPACE:NAME", tok.Sub)
	}
	if !strings.HasPrefix(tok.Issuer, "https://") {
		return false, fmt.Errorf("--issuer %q must be an https:// URL", tok.Issuer)
	}
	in, err := input.ReadInputs(files, stdin)
	if err != nil {
		return false, err
	}
	if len(in.Roles) == 0 {
		return false, errors.New("the input holds no plan (no ConfigMap labelled iambind.dev/plan=role)")
	}
	return RenderCheck(stdout, tok, safety.Check(in, tok)) > 0, nil
}

// RenderCheck prints the verdicts and returns how many roles admit the token.
func RenderCheck(w io.Writer, tok safety.Token, results []safety.CheckResult) int {
	n := 0
	for _, r := range results {
		if r.Admitted {
			n++
		}
	}
	fmt.Fprintf(w, "subject %s, issuer %s, audience %s\n", tok.Sub, tok.Issuer, tok.Aud)
	renderVerdicts(w, results, n)
	return n
}

// renderVerdicts prints which roles admit a subject and why the others do not.
func renderVerdicts(w io.Writer, results []safety.CheckResult, n int) {
	if n > 0 {
		fmt.Fprintf(w, "can assume %d role(s):\n", n)
		for _, r := range results {
			if r.Admitted {
				fmt.Fprintf(w, "  ✓ %s (%s)\n", r.Role, r.ARN)
				for _, line := range r.Chain {
					fmt.Fprintf(w, "      %s\n", line)
				}
			}
		}
	} else {
		fmt.Fprintln(w, "can assume no planned role")
	}
	var misses []safety.CheckResult
	for _, r := range results {
		if !r.Admitted {
			misses = append(misses, r)
		}
	}
	if len(misses) > 0 {
		fmt.Fprintln(w, "cannot assume:")
		for _, r := range misses {
			fmt.Fprintf(w, "  ✗ %s (%s):\n", r.Role, r.ARN)
			for _, why := range r.Reasons {
				fmt.Fprintf(w, "      %s\n", why)
			}
		}
	}
}

// CheckPodIdentity is `check --sub ... --eks-cluster NAME`: which planned
// roles EKS Pod Identity gives the ServiceAccount in that cluster.
func CheckPodIdentity(files []string, sub, cluster string, stdin io.Reader, stdout io.Writer) (bool, error) {
	rest, ok := strings.CutPrefix(sub, "system:serviceaccount:")
	ns, name, _ := strings.Cut(rest, ":")
	if !ok || strings.Count(sub, ":") != 3 || ns == "" || name == "" {
		return false, fmt.Errorf("--sub %q must be system:serviceaccount:NAMESPACE:NAME", sub)
	}
	in, err := input.ReadInputs(files, stdin)
	if err != nil {
		return false, err
	}
	if len(in.Roles) == 0 {
		return false, fmt.Errorf("the input holds no plan (no ConfigMap labelled iambind.dev/plan=role)")
	}
	subject := podidentity.Subject{Namespace: ns, ServiceAccount: name, Cluster: cluster}
	results := make([]safety.CheckResult, 0, len(in.Roles))
	n := 0
	for _, r := range in.Roles {
		if r.PodIdentityTarget != nil {
			continue // reached through its association role: checkChain
		}
		v := podidentity.Check(r.Role, subject)
		res := safety.CheckResult{Role: r.Name, ARN: r.ARN, Source: r.Source, Admitted: v.Admitted, Reasons: v.Reasons}
		if v.Admitted {
			res = checkChain(in, r, subject, res)
		}
		if res.Admitted {
			n++
		}
		results = append(results, res)
	}
	fmt.Fprintf(stdout, "ServiceAccount %s/%s, EKS Pod Identity in cluster %s\n", ns, name, cluster)
	renderVerdicts(stdout, results, n)
	return n > 0, nil
}
