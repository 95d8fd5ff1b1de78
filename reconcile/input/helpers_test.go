package input

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/internal/fixture"
)

const (
	testAccount = fixture.Account
	testIssuer  = fixture.Issuer
	testIssuer2 = fixture.Issuer2
)

var (
	clusterYAML = fixture.ClusterYAML
	bindingYAML = fixture.BindingYAML
	render      = fixture.Render
)

// readString reads a rendered stream as the CLI would.
func readString(t testing.TB, s string) *Input {
	t.Helper()
	in, err := ReadInputs([]string{"-"}, strings.NewReader(s))
	if err != nil {
		t.Fatalf("ReadInputs: %v", err)
	}
	return in
}

// testRole is a complete desired role.
func testRole(name, owner string) *DesiredRole {
	return &DesiredRole{Source: "test: ConfigMap shop/iambind-" + name, Role: fixture.Role(name, owner)}
}
