package guardrails

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/iameval"
)

// escalationClasses are the ways out of a tenant's role that the default
// guardrails and the shipped boundary must close, each with actions that
// take it alone. Written out here, not read from DefaultDeniedActions, so
// that dropping an entry from the list fails a test.
var escalationClasses = []struct {
	class   string
	actions []string
}{
	{"iam", []string{"iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion", "iam:UpdateAssumeRolePolicy", "iam:AddRoleToInstanceProfile", "iam:AddClientIDToOpenIDConnectProvider"}},
	{"sts role chaining", []string{"sts:AssumeRole", "sts:AssumeRoot"}},
	{"eks cluster control", []string{"eks:CreateAccessEntry", "eks:AssociateAccessPolicy", "eks:UpdateAccessEntry", "eks:UpdateClusterConfig", "eks:CreatePodIdentityAssociation", "eks:UpdatePodIdentityAssociation", "eks:AssociateIdentityProviderConfig"}},
	{"ssm commands and sessions", []string{"ssm:SendCommand", "ssm:StartSession", "ssm:StartAutomationExecution", "ssm:CreateAssociation", "ec2-instance-connect:SendSSHPublicKey"}},
	{"lambda code and configuration", []string{"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:AddPermission"}},
	{"ecs exec and task definitions", []string{"ecs:ExecuteCommand", "ecs:RegisterTaskDefinition", "ecs:RunTask", "ecs:StartTask"}},
	{"batch jobs", []string{"batch:SubmitJob"}},
	{"codebuild", []string{"codebuild:StartBuild", "codebuild:StartBuildBatch", "codebuild:UpdateProject", "codebuild:CreateProject"}},
	{"cloudformation", []string{"cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:SetStackPolicy", "cloudformation:UpdateStackSet"}},
	{"glue with roles", []string{"glue:UpdateDevEndpoint", "glue:UpdateJob", "glue:RunStatement"}},
	{"ec2 user data and instance profiles", []string{"ec2:ModifyInstanceAttribute", "ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"}},
	{"sagemaker notebooks", []string{"sagemaker:CreatePresignedNotebookInstanceUrl", "sagemaker:UpdateNotebookInstanceLifecycleConfig", "sagemaker:UpdateNotebookInstance"}},
	{"data pipeline", []string{"datapipeline:PutPipelineDefinition"}},
	{"other services running one's code", []string{"apprunner:UpdateService", "states:UpdateStateMachine", "codestar:CreateProject"}},
}

// passRoleClasses need iam:PassRole with the second action.
var passRoleClasses = []string{
	"lambda:CreateFunction", "ec2:RunInstances", "ec2:RequestSpotInstances", "glue:CreateDevEndpoint", "glue:CreateJob",
	"sagemaker:CreateNotebookInstance", "sagemaker:CreateTrainingJob", "datapipeline:CreatePipeline",
	"autoscaling:CreateLaunchConfiguration", "eks:CreateNodegroup", "ecs:CreateService", "batch:RegisterJobDefinition",
	"apprunner:CreateService", "states:CreateStateMachine",
}

// ordinaryActions are what workloads do every day: neither the default
// guardrails nor the shipped boundary may stand in their way.
var ordinaryActions = []string{
	"s3:GetObject", "s3:PutObject", "s3:ListBucket", "dynamodb:PutItem", "dynamodb:Query", "sqs:SendMessage",
	"sqs:ReceiveMessage", "sns:Publish", "kms:Decrypt", "secretsmanager:GetSecretValue", "ssm:GetParameter",
	"ssm:GetParametersByPath", "eks:DescribeCluster", "lambda:InvokeFunction", "ecr:GetAuthorizationToken",
	"ecr:BatchGetImage", "logs:PutLogEvents", "cloudwatch:PutMetricData", "sts:GetCallerIdentity",
	"ec2:DescribeInstances", "states:StartExecution", "events:PutEvents", "kinesis:PutRecord",
}

func inlineDoc(statement string) string {
	return `{"Version":"2012-10-17","Statement":[` + statement + `]}`
}

func allow(actions ...string) string {
	b, _ := json.Marshal(actions)
	return fmt.Sprintf(`{"Effect":"Allow","Action":%s,"Resource":"*"}`, b)
}

// variants spells one action the ways a tenant could try to slip it past
// the checker: as is, the service's *, a prefix glob, mixed case.
func variants(action string) map[string]string {
	service, name, _ := strings.Cut(action, ":")
	return map[string]string{
		"exact":       action,
		"service *":   service + ":*",
		"prefix glob": service + ":" + name[:4] + "*",
		"mixed case":  strings.ToUpper(service) + ":" + strings.ToLower(name),
	}
}

func messages(vs []Violation) string {
	var lines []string
	for _, v := range vs {
		lines = append(lines, v.String())
	}
	return strings.Join(lines, "\n")
}

// refusedAt reports whether some violation is on field and is a
// guardrails refusal (a denied action or an always-refused rule).
func refusedAt(vs []Violation, field string) bool {
	return slices.ContainsFunc(vs, func(v Violation) bool {
		return v.Field == field && (strings.Contains(v.Message, "privilege escalation") || strings.Contains(v.Message, "always refused"))
	})
}

// TestDefaultsRefuseEachEscalationClass: every action of every class, in
// an inline policy (as is, under a wildcard, in mixed case), in an inline
// NotAction statement, and in a managed policy's document (in Action, or
// left granted by a NotAction that lists other services).
func TestDefaultsRefuseEachEscalationClass(t *testing.T) {
	g := testGuardrails(t, "")
	for _, c := range escalationClasses {
		t.Run(c.class, func(t *testing.T) {
			for _, action := range c.actions {
				for variant, spelled := range variants(action) {
					doc := inlineDoc(allow("s3:GetObject", spelled))
					_, vs := g.Violations(role(map[string]string{"p": doc}))
					if !refusedAt(vs, "inlinePolicies.p.Statement[0].Action[1]") {
						t.Errorf("%s (%s, %q) accepted inline:\n%s", action, variant, spelled, messages(vs))
					}
					mp := g.CheckManagedPolicy("arn:aws:iam::111122223333:policy/iambind/p", doc)
					if !slices.ContainsFunc(mp.Findings, func(f generator.Finding) bool { return f.Field == "Statement[0].Action[1]" }) {
						t.Errorf("%s (%s, %q) accepted in a managed policy: %v", action, variant, spelled, mp.Findings)
					}
				}
				exact := g.CheckManagedPolicy("arn:aws:iam::aws:policy/P", inlineDoc(allow(action)))
				if len(exact.Findings) == 0 || !strings.Contains(fmt.Sprint(exact.Findings), action) {
					t.Errorf("%s: a managed policy granting it must be refused naming it: %v", action, exact.Findings)
				}
				// A NotAction that lists other services leaves the action granted.
				notAction := inlineDoc(`{"Effect":"Allow","NotAction":["s3:*","iam:*"],"Resource":"arn:aws:ec2:eu-west-1:111122223333:instance/*"}`)
				if service, _, _ := strings.Cut(action, ":"); service == "iam" {
					notAction = strings.Replace(notAction, `"iam:*"`, `"organizations:*"`, 1)
				}
				if _, vs := g.Violations(role(map[string]string{"p": notAction})); !refusedAt(vs, "inlinePolicies.p.Statement[0].NotAction") {
					t.Errorf("%s: inline NotAction accepted:\n%s", action, messages(vs))
				}
				if mp := g.CheckManagedPolicy("arn:aws:iam::aws:policy/P", notAction); len(mp.Findings) == 0 {
					t.Errorf("%s: a managed NotAction statement leaving it granted was accepted", action)
				}
			}
		})
	}
	t.Run("passrole combinations", func(t *testing.T) {
		passRole := `{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/app"}`
		for _, action := range passRoleClasses {
			for variant, spelled := range variants(action) {
				doc := inlineDoc(passRole + "," + allow(spelled))
				if _, vs := g.Violations(role(map[string]string{"p": doc})); !refusedAt(vs, "inlinePolicies.p.Statement[1].Action[0]") {
					t.Errorf("iam:PassRole + %s (%s) accepted inline:\n%s", action, variant, messages(vs))
				}
				if mp := g.CheckManagedPolicy("arn:aws:iam::aws:policy/P", doc); len(mp.Findings) == 0 {
					t.Errorf("iam:PassRole + %s (%s) accepted in a managed policy", action, variant)
				}
			}
			if _, vs := g.Violations(role(map[string]string{"p": inlineDoc(allow(action))})); len(vs) != 0 {
				t.Errorf("%s without iam:PassRole is not escalation, refused:\n%s", action, messages(vs))
			}
		}
	})
}

func TestDefaultsAllowOrdinaryWorkloads(t *testing.T) {
	g := testGuardrails(t, "")
	doc := inlineDoc(allow(ordinaryActions...))
	if _, vs := g.Violations(role(map[string]string{"p": doc})); len(vs) != 0 {
		t.Errorf("ordinary actions refused:\n%s", messages(vs))
	}
	if mp := g.CheckManagedPolicy("arn:aws:iam::aws:policy/P", doc); len(mp.Findings) != 0 {
		t.Errorf("a managed policy of ordinary actions refused: %v", mp.Findings)
	}
}

// repoFile reads a file of the repository (tests run in guardrails/).
func repoFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestShippedGuardrailsAndBoundary: deploy/base/guardrails.yaml refuses
// every class with the default list, and deploy/base/boundary-policy.json
// explicitly denies each of its actions (and a part of each combination)
// while leaving ordinary workloads alone; IAM's evaluation logic is run by
// internal/iameval.
func TestShippedGuardrailsAndBoundary(t *testing.T) {
	g, err := Load(filepath.Join("..", "deploy", "base", "guardrails.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Spec.DeniedActions, DefaultDeniedActions) {
		t.Errorf("the shipped guardrails must use the default denied actions, got %v", g.Spec.DeniedActions)
	}
	boundary := repoFile(t, "deploy/base/boundary-policy.json")
	if n := len(regexp.MustCompile(`\s`).ReplaceAll(boundary, nil)); n > 6144 {
		t.Errorf("boundary-policy.json has %d non-white-space characters, IAM's limit for a managed policy is 6144", n)
	}
	decide := func(action string) iameval.Decision {
		t.Helper()
		d, _, err := iameval.Evaluate(boundary, iameval.Request{Action: action, Resource: "*"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, c := range escalationClasses {
		for _, action := range c.actions {
			if _, vs := g.Violations(role(map[string]string{"p": inlineDoc(allow(action))})); len(vs) == 0 {
				t.Errorf("%s (%s): the shipped guardrails accept it inline", action, c.class)
			}
			if d := decide(action); d != iameval.ExplicitDeny {
				t.Errorf("%s (%s): the shipped boundary gives %s, want %s", action, c.class, d, iameval.ExplicitDeny)
			}
		}
	}
	for _, entry := range DefaultDeniedActions {
		parts := strings.Split(entry, "+")
		if !slices.ContainsFunc(parts, func(p string) bool { return decide(p) == iameval.ExplicitDeny }) {
			t.Errorf("default denied action %s: the shipped boundary denies no part of it", entry)
		}
	}
	for _, action := range append(slices.Clone(ordinaryActions), passRoleClasses...) {
		if d := decide(action); d != iameval.Allowed {
			t.Errorf("%s: the shipped boundary gives %s, ordinary workloads need it allowed", action, d)
		}
	}
	admin := role(nil)
	admin.ManagedPolicyARNs = []string{"arn:aws:iam::aws:policy/administratoraccess", "arn:aws:iam::aws:policy/job-function/NETWORKADMINISTRATOR"}
	if _, vs := g.Violations(admin); len(vs) != 2 {
		t.Errorf("deniedManagedPolicies must compare ARNs case-insensitively:\n%s", messages(vs))
	}
}
