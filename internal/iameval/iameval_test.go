package iameval

import "testing"

func TestEvaluate(t *testing.T) {
	policy := []byte(`{"Statement":[
	 {"Sid":"A","Effect":"Allow","Action":"iam:CreateRole","Resource":"*","Condition":{"StringEquals":{"iam:PermissionsBoundary":"B"},"Null":{"aws:RequestTag/owner":"false"}}},
	 {"Sid":"R","Effect":"Allow","Action":["iam:Get*"],"Resource":"*"},
	 {"Sid":"D","Effect":"Deny","Action":"iam:CreateRole","NotResource":"arn:role/ok/*"},
	 {"Sid":"N","Effect":"Allow","NotAction":"iam:*","Resource":"*"},
	 {"Sid":"L","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalTag/team":"a-*"}}}]}`)
	for _, c := range []struct {
		req  Request
		want Decision
		by   string
	}{
		{Request{"iam:CreateRole", "arn:role/ok/x", map[string]string{"iam:PermissionsBoundary": "B", "aws:RequestTag/owner": "o"}}, Allowed, "A"},
		{Request{"IAM:createrole", "arn:role/ok/x", map[string]string{"IAM:permissionsboundary": "B", "aws:RequestTag/owner": "o"}}, Allowed, "A"},
		{Request{"iam:CreateRole", "arn:role/ok/x", map[string]string{"aws:RequestTag/owner": "o"}}, ImplicitDeny, ""},
		{Request{"iam:CreateRole", "arn:role/ok/x", map[string]string{"iam:PermissionsBoundary": "C", "aws:RequestTag/owner": "o"}}, ImplicitDeny, ""},
		{Request{"iam:CreateRole", "arn:role/ok/x", map[string]string{"iam:PermissionsBoundary": "B"}}, ImplicitDeny, ""},
		{Request{"iam:CreateRole", "arn:role/other/x", map[string]string{"iam:PermissionsBoundary": "B", "aws:RequestTag/owner": "o"}}, ExplicitDeny, "D"},
		{Request{"iam:GetRole", "arn:role/Other", nil}, Allowed, "R"},
		{Request{"iam:PutRolePolicy", "arn:role/ok/x", nil}, ImplicitDeny, ""},
		{Request{"sqs:SendMessage", "arn:q", nil}, Allowed, "N"},
		{Request{"s3:GetObject", "arn:b", map[string]string{"aws:PrincipalTag/team": "a-1"}}, Allowed, "N"},
		{Request{"s3:GetObject", "arn:b", map[string]string{"aws:PrincipalTag/team": "b"}}, ExplicitDeny, "L"},
		{Request{"s3:GetObject", "arn:b", nil}, ExplicitDeny, "L"},
	} {
		got, by, err := Evaluate(policy, c.req)
		if err != nil || got != c.want || by != c.by {
			t.Errorf("%+v: %s by %q (err %v), want %s by %q", c.req, got, by, err, c.want, c.by)
		}
	}
	if _, _, err := Evaluate([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4"}}}]}`), Request{Action: "s3:x", Resource: "y"}); err == nil {
		t.Error("an unsupported operator must be an error")
	}
}
