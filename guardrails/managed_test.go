package guardrails

import (
	"net/url"
	"strings"
	"testing"
)

// Shapes of AWS managed policies (abridged), as GetPolicyVersion returns
// their default version.
const (
	adminDoc      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	powerUserDoc  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization"],"Resource":"*"}]}`
	readOnlyDoc   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","eks:Describe*","eks:List*","lambda:Get*","lambda:List*","ssm:Describe*","ssm:Get*","iam:Get*","iam:List*","cloudformation:Describe*","s3:Get*","s3:List*"],"Resource":"*"}]}`
	ssmFullDoc    = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["cloudwatch:PutMetricData","ssm:*"],"Resource":"*"}}`
	lambdaFullDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:Create*","lambda:Get*"],"Resource":"*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}]}`
	s3ReadDoc     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}`
)

func TestCheckManagedPolicy(t *testing.T) {
	g := testGuardrails(t, "")
	for _, c := range []struct {
		name, doc string
		want      []string // "field: message fragment"; none = accepted
	}{
		{"administrator", adminDoc, []string{`Statement[0].Action: "*" grants every action`}},
		{"power user: NotAction leaves escalation granted", powerUserDoc, []string{
			`Statement[0].NotAction: NotAction ["iam:*" "organizations:*" "account:*"] grants sts:AssumeRole on every role`,
			`Statement[0].NotAction: NotAction ["iam:*" "organizations:*" "account:*"] leaves sts:AssumeRole granted, which is privilege escalation`,
		}},
		{"NotAction without iam", `{"Statement":{"Effect":"Allow","NotAction":"s3:*","Resource":"arn:aws:s3:::b"}}`,
			[]string{`Statement.NotAction: NotAction ["s3:*"] grants every IAM action`}},
		{"NotAction covering the denied glob", `{"Statement":{"Effect":"Allow","NotAction":["iam:*","sts:*","eks:*","ssm:*","ec2*","lambda:*","ecs:*","batch:*","codebuild:*","cloudformation:*","glue:*","autoscaling:*","sagemaker:*","datapipeline:*","apprunner:*","states:*","codestar:*"],"Resource":"*"}}`, nil},
		{"NotAction with a question mark does not cover a whole service", `{"Statement":{"Effect":"Allow","NotAction":["iam:*","sts:*","eks:*","ssm:?endCommand","ec2*","lambda:*","ecs:*","batch:*","codebuild:*","cloudformation:*","glue:*","autoscaling:*","sagemaker:*","datapipeline:*","apprunner:*","states:*","codestar:*"],"Resource":"*"}}`,
			[]string{`leaves ssm:StartSession granted`}},
		{"ssm full access", ssmFullDoc, []string{`Statement.Action[1]: "ssm:*" covers ssm:SendCommand is privilege escalation`}},
		{"passrole and create within one policy", lambdaFullDoc, []string{
			`Statement[1].Action: "iam:PassRole" grants iam:PassRole on every role`,
			`Statement[0].Action[0]: "lambda:Create*" together with the role's other grants is privilege escalation (iam:PassRole at Statement[1].Action, lambda:CreateFunction at Statement[0].Action[0]`,
		}},
		{"read only", readOnlyDoc, nil},
		{"url-encoded as GetPolicyVersion returns it", url.PathEscape(ssmFullDoc), []string{`"ssm:*" covers ssm:SendCommand`}},
		{"unreadable", `{"Statement":[{"Effect":"Allow","action":"ssm:*","Resource":"*"}]}`, []string{`document: cannot be evaluated by the guardrails: Statement[0]: unknown element "action"`}},
		{"deny only takes away", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			mp := g.CheckManagedPolicy("arn:aws:iam::aws:policy/X", c.doc)
			var got []string
			for _, f := range mp.Findings {
				got = append(got, f.Field+": "+f.Message)
			}
			if len(c.want) == 0 && len(got) > 0 {
				t.Fatalf("refused, want accepted:\n%s", strings.Join(got, "\n"))
			}
			for _, w := range c.want {
				if !strings.Contains(strings.Join(got, "\n"), w) {
					t.Errorf("no finding contains %q; got:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

func TestManagedViolations(t *testing.T) {
	g := testGuardrails(t, `  allowedManagedPolicies: ["arn:aws:iam::aws:policy/*"]
  deniedManagedPolicies: [arn:aws:iam::aws:policy/AdministratorAccess]
`)
	const (
		s3Read     = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
		ssmFull    = "arn:aws:iam::aws:policy/AmazonSSMFullAccess"
		lambdaRead = "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"
		creator    = "arn:aws:iam::aws:policy/LambdaCreator"
	)
	policies := map[string]ManagedPolicy{}
	for arn, doc := range map[string]string{
		s3Read:     s3ReadDoc,
		ssmFull:    ssmFullDoc,
		lambdaRead: `{"Statement":[{"Effect":"Allow","Action":["lambda:Get*","lambda:List*"],"Resource":"*"}]}`,
		creator:    `{"Statement":[{"Effect":"Allow","Action":"lambda:CreateFunction","Resource":"*"}]}`,
	} {
		policies[arn] = g.CheckManagedPolicy(arn, doc)
	}

	r := role(nil)
	r.ManagedPolicyARNs = []string{s3Read, lambdaRead}
	if vs := g.ManagedViolations(r, policies); len(vs) != 0 {
		t.Errorf("ordinary managed policies refused:\n%s", messages(vs))
	}

	r.ManagedPolicyARNs = []string{s3Read, ssmFull, "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/NotRead"}
	want := []string{
		`role shop-orders (binding shop/orders): managedPolicyArns[1]: managed policy ` + ssmFull + `: Statement.Action[1]: "ssm:*" covers ssm:SendCommand is privilege escalation (guardrails deniedActions: ssm:SendCommand)`,
		`managedPolicyArns[3]: the document of managed policy arn:aws:iam::aws:policy/NotRead was not read`,
	}
	vs := g.ManagedViolations(r, policies)
	if len(vs) != len(want) {
		t.Errorf("got %d violations, want %d (AdministratorAccess is refused by name in Check, not here):\n%s", len(vs), len(want), messages(vs))
	}
	for i, w := range want {
		if i < len(vs) && !strings.Contains(vs[i].String(), w) {
			t.Errorf("violation %d = %q, want it to contain %q", i, vs[i], w)
		}
	}

	// iam:PassRole inline (scoped, accepted alone) and lambda:CreateFunction
	// in a managed policy: each source is fine alone, together they are not.
	r = role(map[string]string{"pass": inlineDoc(`{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/fn"}`)})
	if _, vs := g.Violations(r); len(vs) != 0 {
		t.Fatalf("scoped iam:PassRole inline must pass alone:\n%s", messages(vs))
	}
	r.ManagedPolicyARNs = []string{s3Read, creator}
	vs = g.ManagedViolations(r, policies)
	if len(vs) != 1 || vs[0].Field != "managedPolicyArns[1]" || !strings.Contains(vs[0].Message,
		`"lambda:CreateFunction" together with the role's other grants is privilege escalation (iam:PassRole at inlinePolicies.pass.Statement[0].Action, lambda:CreateFunction at managedPolicyArns[1] Statement[0].Action; guardrails deniedActions: iam:PassRole+lambda:CreateFunction)`) {
		t.Errorf("a combination split between an inline and a managed policy:\n%s", messages(vs))
	}
}

func TestGlobCovers(t *testing.T) {
	for _, c := range []struct {
		p, d string
		want bool
	}{
		{"ssm:*", "ssm:SendCommand", true},
		{"SSM:*", "ssm:Send*", true},
		{"ssm:Send*", "ssm:*", false},
		{"ssm:?endCommand", "ssm:SendCommand", true},
		{"ssm:?endCommand", "ssm:?endCommand", true},
		{"ssm:S?ndCommand", "ssm:?endCommand", false},
		{"ssm:*", "ssm:?endCommand", true},
		{"*", "iam:Put*", true},
		{"iam:Put?", "iam:Put*", false},
		{"s3:*", "ssm:SendCommand", false},
	} {
		if got := globCovers(c.p, c.d); got != c.want {
			t.Errorf("globCovers(%q, %q) = %v, want %v", c.p, c.d, got, c.want)
		}
	}
}
