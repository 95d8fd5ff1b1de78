package change

import "testing"

func TestSameTrust(t *testing.T) {
	const p = `"Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/A"},"Action":"sts:AssumeRoleWithWebIdentity"`
	merged := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + p + `,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com","oidc.example.com/id/A:sub":["system:serviceaccount:a:x","system:serviceaccount:b:y"]}}}]}`
	split := `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow",` + p + `,"Condition":{"StringEquals":{"oidc.example.com/id/A:sub":"system:serviceaccount:b:y","oidc.example.com/id/A:aud":["sts.amazonaws.com"]}}},
	  {"Effect":"Allow",` + p + `,"Condition":{"StringLike":{"oidc.example.com/id/A:sub":"system:serviceaccount:a:x"},"StringEquals":{"OIDC.example.com/id/A:aud":"sts.amazonaws.com"}}}]}`
	oneOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + p + `,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com","oidc.example.com/id/A:sub":"system:serviceaccount:a:x"}}}]}`
	wild := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + p + `,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com"},"StringLike":{"oidc.example.com/id/A:sub":"system:serviceaccount:a:*"}}}]}`
	wildEq := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + p + `,"Condition":{"StringEquals":{"oidc.example.com/id/A:aud":"sts.amazonaws.com","oidc.example.com/id/A:sub":"system:serviceaccount:a:*"}}}]}`
	noAud := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + p + `,"Condition":{"StringEquals":{"oidc.example.com/id/A:sub":"system:serviceaccount:a:x"}}}]}`
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny",` + p + `}]}`
	for _, tc := range []struct {
		name string
		a, b string
		want bool
	}{
		{"split statements equal the merged one", merged, split, true},
		{"a subject fewer differs", merged, oneOnly, false},
		{"StringLike with a wildcard is not StringEquals", wild, wildEq, false},
		{"no audience condition differs", oneOnly, noAud, false},
		{"a Deny is compared as a document", deny, deny, true},
		{"a Deny differs from an Allow", deny, oneOnly, false},
	} {
		got, err := SameTrust(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := TrustAtoms(deny); err == nil {
		t.Error("TrustAtoms of a Deny statement: want an error")
	}
}
