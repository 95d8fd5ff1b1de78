package policylint

import "testing"

// FuzzDocument: no document, however malformed, makes the lint panic, and
// every finding has a path and a message.
func FuzzDocument(f *testing.F) {
	for _, seed := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObjet","*:Get*","s3:*"],"Resource":["arn:aws:ec2:::x","*"],"Condition":{"StringEquals":{"s3:prefix":["a*",1,null]}}}]}`,
		`{"Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:s3:::b","Condition":{"ForAnyValue:StringNotEqualsIfExists":{"aws:TagKeys":"${*}?"}}}}`,
		`{"Statement":[{"Action":":","Resource":"arn:::::"},{"Action":"s3:","Condition":{"a":{"b:c/${":"x"}}}]}`,
		`{"Statement":[]}`, `[]`, `null`, `{"Statement":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, finding := range Document(doc) {
			if finding.Path == "" || finding.Message == "" || (finding.Severity != Error && finding.Severity != Warning) {
				t.Fatalf("finding %+v", finding)
			}
		}
	})
}
