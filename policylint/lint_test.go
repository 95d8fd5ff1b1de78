package policylint

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iambind/iambind/policylint/catalog"
)

// doc wraps statements in a policy document.
func doc(statements string) []byte {
	return []byte(`{"Version":"2012-10-17","Statement":[` + statements + `]}`)
}

func lines(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(string(f.Severity) + " " + f.String() + "\n")
	}
	return b.String()
}

// TestRules has one case per rule (and the cases each must leave alone),
// with the exact lines a user reads.
func TestRules(t *testing.T) {
	date := catalog.Date()
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"clean", `{"Effect":"Allow","Action":["s3:GetObject","s3:List*","S3:PUTOBJECT"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"StringLike":{"s3:prefix":"home/*"},"Bool":{"aws:SecureTransport":"true"}}}`, ""},
		{"all actions", `{"Effect":"Allow","Action":"*","Resource":"*"}`, ""},
		{"unknown service", `{"Effect":"Allow","Action":["s4:GetObject"],"Resource":"*"}`,
			`error Statement[0].Action[0]: s4:GetObject: unknown service prefix "s4"; did you mean s3?` + "\n"},
		{"unknown service, nothing near", `{"Effect":"Allow","Action":"nosuchservice:Get","Resource":"*"}`,
			`error Statement[0].Action: nosuchservice:Get: unknown service prefix "nosuchservice"` + "\n"},
		{"near action", `{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjet"],"Resource":"*"}`,
			"error Statement[0].Action[1]: s3:GetObjet: did you mean s3:GetObject?\n"},
		{"near action, any case", `{"Effect":"Allow","Action":"ec2:describeinstance","Resource":"*"}`,
			"error Statement[0].Action: ec2:describeinstance: did you mean ec2:DescribeInstances?\n"},
		{"far action", `{"Effect":"Allow","Action":"s3:FrobnicateEveryBucket","Resource":"*"}`,
			"warning Statement[0].Action: s3:FrobnicateEveryBucket is not an action of s3 in iambind's IAM catalogue (" + date + "): check the spelling; if AWS added it since, ignore this warning\n"},
		{"an action of another service", `{"Effect":"Allow","Action":"s3:RunInstances","Resource":"*"}`,
			"warning Statement[0].Action: s3:RunInstances is not an action of s3 in iambind's IAM catalogue (" + date + "); did you mean ec2:RunInstances? (If AWS added it to s3 since, ignore this warning.)\n"},
		{"wildcard matching nothing", `{"Effect":"Allow","Action":["s3:Get*","s3:Frob*"],"Resource":"*"}`,
			"error Statement[0].Action[1]: s3:Frob* matches no s3 action\n"},
		{"wildcard service matching nothing", `{"Effect":"Allow","Action":"*:Frobnicate?","Resource":"*"}`,
			"error Statement[0].Action: *:Frobnicate? matches no action of any service\n"},
		{"not an action", `{"Effect":"Allow","Action":"s3","Resource":"*"}`,
			`error Statement[0].Action: "s3" is not an action: write service:Action (s3:GetObject, s3:Get*)` + "\n"},
		{"NotAction is linted too", `{"Effect":"Deny","NotAction":["iam:GetRol"],"Resource":"*"}`,
			"error Statement[0].NotAction[0]: iam:GetRol: did you mean iam:GetRole?\n"},
		{"resource of another service", `{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:StartInstances"],"Resource":["arn:aws:ec2:us-west-2:111122223333:instance/*","arn:aws:s3:::orders/*"]}`,
			"warning Statement[0].Resource[1]: arn:aws:s3:::orders/* is an ARN of service s3, but no action of the statement (services ec2) acts on s3 resources: this Resource grants nothing\n"},
		{"resource of a service the actions reach", `{"Effect":"Allow","Action":["sts:AssumeRole","ssm:SendCommand"],"Resource":["arn:aws:iam::111122223333:role/x","arn:aws:ec2:us-west-2:111122223333:instance/*"]}`, ""},
		{"NotAction leaves resources alone", `{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::b"}`, ""},
		{"NotResource is not compared", `{"Effect":"Deny","Action":"s3:DeleteObject","NotResource":"arn:aws:dynamodb:us-west-2:111122223333:table/t"}`, ""},
		{"StringEquals with a wildcard", `{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringEquals":{"s3:prefix":["home/","home/*"]},"StringNotEqualsIfExists":{"aws:PrincipalTag/team":"ops?"},"ForAnyValue:StringEqualsIgnoreCase":{"aws:TagKeys":"env*"}}}`,
			"warning Statement[0].Condition.ForAnyValue:StringEqualsIgnoreCase.aws:TagKeys: \"env*\" has a wildcard, but ForAnyValue:StringEqualsIgnoreCase compares it literally: use StringLike\n" +
				"warning Statement[0].Condition.StringEquals.s3:prefix[1]: \"home/*\" has a wildcard, but StringEquals compares it literally: use StringLike\n" +
				"warning Statement[0].Condition.StringNotEqualsIfExists.aws:PrincipalTag/team: \"ops?\" has a wildcard, but StringNotEqualsIfExists compares it literally: use StringNotLike\n"},
		{"literal wildcards and variables are fine", `{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringEquals":{"s3:prefix":["${aws:username}/${*}","a${?}"]}}}`, ""},
		{"unknown condition key", `{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefx":"a/*","ec2:ResourceTag/team":"x","aws:PrincipalTag/team":"x","s3:BucketTag/env":"x"}}}`,
			"warning Statement[0].Condition.StringLike.ec2:ResourceTag/team: ec2:ResourceTag/team is not a condition key of s3 nor a global one in iambind's IAM catalogue (" + date + "), so IAM never finds it in the request\n" +
				"warning Statement[0].Condition.StringLike.s3:prefx: s3:prefx is not a condition key of s3 nor a global one in iambind's IAM catalogue (" + date + "), so IAM never finds it in the request; did you mean s3:prefix?\n"},
		{"unbounded statement: keys of their own service", `{"Effect":"Allow","NotAction":"iam:*","Resource":"*","Condition":{"StringEquals":{"ec2:ResourceTag/team":"x","aws:SourceIpp":"x"}}}`,
			"warning Statement[0].Condition.StringEquals.aws:SourceIpp: aws:SourceIpp is not a condition key of any service nor a global one in iambind's IAM catalogue (" + date + "), so IAM never finds it in the request; did you mean aws:SourceIp?\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lines(Document(doc(tc.doc))); got != tc.want {
				t.Errorf("got:\n%swant:\n%s", got, tc.want)
			}
		})
	}
}

func TestSingleStatementAndStrings(t *testing.T) {
	got := lines(Document([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObjet","Resource":"*"}}`)))
	if want := "error Statement.Action: s3:GetObjet: did you mean s3:GetObject?\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNotAPolicy(t *testing.T) {
	for _, d := range []string{``, `[]`, `{"Statement":5}`, `{"Statement":[5,"x",{"Action":7}]}`, `{"Statement":[{"Action":"s3:GetObject","Condition":[1]}]}`} {
		if got := Document([]byte(d)); len(got) != 0 {
			t.Errorf("Document(%s) = %v, want nothing (shape is validated elsewhere)", d, got)
		}
	}
}

func TestHasErrors(t *testing.T) {
	if HasErrors([]Finding{{Severity: Warning}}) || !HasErrors([]Finding{{Severity: Warning}, {Severity: Error}}) {
		t.Error("HasErrors")
	}
}

func TestActionGlob(t *testing.T) {
	for glob, want := range map[string]Severity{
		"iam:PutRolePolicy":    "",
		"iam:Put*":             "",
		"iam:put*policy":       "",
		"*:PassRole":           "",
		"iam:PutRolePolcy":     Error,
		"iam:Zzz*":             Error,
		"iamm:Put*":            Error,
		"iam:BrandNewThingXyz": Warning,
	} {
		if got, msg := ActionGlob(glob); got != want {
			t.Errorf("ActionGlob(%s) = %q %q, want %q", glob, got, msg, want)
		}
	}
}

func BenchmarkDocument(b *testing.B) {
	d := doc(`{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::orders-bucket/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"shop"}}}`)
	Document(d) // the catalogue's first load is not what this measures
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Document(d)
	}
}

// TestHostileDocumentStaysCheap: a plan written by hand can hold thousands
// of globs that each scan every service; the lint checks a bounded number
// of them, so a 10 KB document cannot make it slow.
func TestHostileDocumentStaysCheap(t *testing.T) {
	var actions []string
	for i := 0; i < 2000; i++ {
		actions = append(actions, fmt.Sprintf(`"*:Zz%d*"`, i))
	}
	d := doc(`{"Effect":"Allow","Action":[` + strings.Join(actions, ",") + `],"Resource":"*"}`)
	Document(doc(`{"Effect":"Allow","Action":"*:Get*","Resource":"*"}`)) // every service parsed once
	start := time.Now()
	fs := Document(d)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("linting %d cross-service globs took %s", len(actions), elapsed)
	}
	if len(fs) != maxCrossServiceGlobs {
		t.Errorf("%d findings, want the first %d globs reported", len(fs), maxCrossServiceGlobs)
	}
}
