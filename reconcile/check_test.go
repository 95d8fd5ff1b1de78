package reconcile

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/safety"
)

func TestCheckRendersVerdicts(t *testing.T) {
	out := render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"), bindingYAML("shop", "payments"))
	in := readString(t, out)
	tok := safety.Token{Issuer: testIssuer, Sub: "system:serviceaccount:shop:orders", Aud: "sts.amazonaws.com"}
	var sb strings.Builder
	n := RenderCheck(&sb, tok, safety.Check(in, tok))
	if n != 1 || !strings.Contains(sb.String(), "✓ shop-orders") || !strings.Contains(sb.String(), "✗ shop-payments") {
		t.Fatalf("n=%d\n%s", n, sb.String())
	}
}
