package generator

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestDeriveRoleName(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	hash8 := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])[:8]
	}
	// exactly 64: "ns" + "-" + 61 chars
	name61 := strings.Repeat("b", 61)
	cases := []struct {
		name                   string
		prefix, namespace, bnd string
		want                   string
	}{
		{"plain", "", "shop", "orders", "shop-orders"},
		{"prefix", "eks-", "shop", "orders", "eks-shop-orders"},
		{"exactly 64 is kept", "", "ns", name61, "ns-" + name61},
		{"65 is cut with hash", "", "ns", name61 + "c",
			("ns-" + name61 + "c")[:55] + "-" + hash8("ns-"+name61+"c")},
		{"longest possible", "p-", long63, long63,
			("p-" + long63 + "-" + long63)[:55] + "-" + hash8("p-"+long63+"-"+long63)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DeriveRoleName(c.prefix, c.namespace, c.bnd)
			if got != c.want {
				t.Errorf("DeriveRoleName(%q, %q, %q) = %q, want %q", c.prefix, c.namespace, c.bnd, got, c.want)
			}
			if len(got) > MaxRoleNameLength {
				t.Errorf("%q is %d chars, over %d", got, len(got), MaxRoleNameLength)
			}
			if !roleNamePattern.MatchString(got) {
				t.Errorf("%q is not a valid IAM role name", got)
			}
			if again := DeriveRoleName(c.prefix, c.namespace, c.bnd); again != got {
				t.Errorf("not stable: %q then %q", got, again)
			}
		})
	}
	if got := DeriveRoleName("", "ns", name61+"c"); len(got) != 64 {
		t.Errorf("a cut name should use all 64 characters, got %d", len(got))
	}
	// Two long names that share their first 55 characters must differ.
	a := DeriveRoleName("", long63, long63+"x")
	b := DeriveRoleName("", long63, long63+"y")
	if a == b || a[:55] != b[:55] {
		t.Errorf("long names sharing a prefix: %q and %q should differ only in the hash", a, b)
	}
}

func TestARNs(t *testing.T) {
	const acct = "111122223333"
	issuer := "https://oidc.eks.example.com/id/ABC"
	cases := []struct {
		name, got, want string
	}{
		{"role aws", RoleARN("aws", acct, "/", "r"), "arn:aws:iam::111122223333:role/r"},
		{"role aws path", RoleARN("aws", acct, "/iambind/team/", "r"), "arn:aws:iam::111122223333:role/iambind/team/r"},
		{"role aws-cn", RoleARN("aws-cn", acct, "/", "r"), "arn:aws-cn:iam::111122223333:role/r"},
		{"role aws-us-gov", RoleARN("aws-us-gov", acct, "/x/", "r"), "arn:aws-us-gov:iam::111122223333:role/x/r"},
		{"oidc aws", OIDCProviderARN("aws", acct, issuer), "arn:aws:iam::111122223333:oidc-provider/oidc.eks.example.com/id/ABC"},
		{"oidc aws-cn", OIDCProviderARN("aws-cn", acct, "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/X"),
			"arn:aws-cn:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/X"},
		{"oidc aws-us-gov", OIDCProviderARN("aws-us-gov", acct, "https://oidc.eks.us-gov-west-1.amazonaws.com/id/X"),
			"arn:aws-us-gov:iam::111122223333:oidc-provider/oidc.eks.us-gov-west-1.amazonaws.com/id/X"},
		{"managed bare aws", ManagedPolicyARN("aws", "AmazonS3ReadOnlyAccess"), "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"},
		{"managed bare aws-cn", ManagedPolicyARN("aws-cn", "AmazonS3ReadOnlyAccess"), "arn:aws-cn:iam::aws:policy/AmazonS3ReadOnlyAccess"},
		{"managed bare aws-us-gov", ManagedPolicyARN("aws-us-gov", "AmazonS3ReadOnlyAccess"), "arn:aws-us-gov:iam::aws:policy/AmazonS3ReadOnlyAccess"},
		{"managed with path", ManagedPolicyARN("aws", "service-role/AmazonEBSCSIDriverPolicy"), "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"},
		{"managed with path gov", ManagedPolicyARN("aws-us-gov", "service-role/AmazonEBSCSIDriverPolicy"), "arn:aws-us-gov:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"},
		{"managed full ARN kept", ManagedPolicyARN("aws", "arn:aws:iam::111122223333:policy/orders-extra"), "arn:aws:iam::111122223333:policy/orders-extra"},
		{"boundary name", BoundaryARN("aws", acct, "team-boundary"), "arn:aws:iam::111122223333:policy/team-boundary"},
		{"boundary name cn", BoundaryARN("aws-cn", acct, "team-boundary"), "arn:aws-cn:iam::111122223333:policy/team-boundary"},
		{"boundary ARN kept", BoundaryARN("aws", acct, "arn:aws:iam::999988887777:policy/b"), "arn:aws:iam::999988887777:policy/b"},
		{"boundary empty", BoundaryARN("aws", acct, ""), ""},
		{"subject", SubjectFor("shop", "orders"), "system:serviceaccount:shop:orders"},
		{"issuer host+path", IssuerHostPath(issuer), "oidc.eks.example.com/id/ABC"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestNonWhitespaceLength(t *testing.T) {
	cases := map[string]int{
		"":                     0,
		"{}":                   2,
		"{ \"a\" : 1 }\n":      7,
		"\t\r\n {\n  \"x\"\n}": 5,
		"\"a b\"":              4, // IAM counts after removing all white space, inside strings too
		"é":                    1, // characters, not bytes
	}
	for in, want := range cases {
		if got := NonWhitespaceLength([]byte(in)); got != want {
			t.Errorf("NonWhitespaceLength(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestIsWildcard(t *testing.T) {
	for name, want := range map[string]bool{"*": true, "etl-*": true, "job-?": true, "orders": false, "": false} {
		if got := IsWildcard(name); got != want {
			t.Errorf("IsWildcard(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestMarshalJSONNoHTMLEscape(t *testing.T) {
	got, err := MarshalJSON(map[string]string{"k": "a&b<c>"}, false)
	if err != nil || string(got) != `{"k":"a&b<c>"}` {
		t.Errorf("MarshalJSON = %s, %v", got, err)
	}
	got, _ = MarshalJSON(map[string]int{"b": 1, "a": 2}, true)
	if string(got) != "{\n  \"a\": 2,\n  \"b\": 1\n}" {
		t.Errorf("pretty MarshalJSON = %q", got)
	}
}
