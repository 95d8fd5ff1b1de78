package podidentity

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
)

func piRole(statements ...generator.Statement) generator.Role {
	return generator.Role{
		Name: "shop-orders", ARN: "arn:aws:iam::111122223333:role/iambind/shop-orders",
		TrustPolicy: generator.PolicyDocument{Version: generator.PolicyVersion, Statement: statements},
		PodIdentityAssociations: []generator.PodIdentityAssociation{
			{Cluster: "prod", Namespace: "shop", ServiceAccount: "orders"},
			{Cluster: "prod", Namespace: "batch", ServiceAccount: "worker"},
		},
	}
}

var prodARN = generator.EKSClusterARN("aws", "us-west-2", "111122223333", "prod")

func goodStatement() generator.Statement {
	return generator.BuildPodIdentityStatement("111122223333", []string{prodARN}, []string{"shop", "batch"}, []string{"orders", "worker"})
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		role   generator.Role
		sub    Subject
		admit  bool
		reason string
	}{
		{"associated and trusted", piRole(goodStatement()), Subject{"shop", "orders", "prod"}, true, ""},
		{"by cluster ARN", piRole(goodStatement()), Subject{"shop", "orders", prodARN}, true, ""},
		{"no association", piRole(goodStatement()), Subject{"shop", "worker", "prod"}, false, "no EKS Pod Identity association prod/shop/worker"},
		{"another cluster", piRole(goodStatement()), Subject{"shop", "orders", "staging"}, false, `names no EKS cluster "staging"`},
		{"a cluster of another account by ARN", piRole(goodStatement()), Subject{"shop", "orders", generator.EKSClusterARN("aws", "us-west-2", "123456789012", "prod")}, false, "aws:SourceArn"},
		{"IRSA only", piRole(generator.Statement{Effect: "Allow", Principal: map[string]generator.StringList{"Federated": {"arn:aws:iam::111122223333:oidc-provider/x"}},
			Action: generator.StringList{"sts:AssumeRoleWithWebIdentity"}}), Subject{"shop", "orders", "prod"}, false, "names no EKS cluster"},
		{"missing TagSession", piRole(func() generator.Statement {
			st := goodStatement()
			st.Action = generator.StringList{"sts:AssumeRole"}
			return st
		}()), Subject{"shop", "orders", "prod"}, false, "does not include sts:TagSession"},
		{"explicit deny wins", piRole(goodStatement(), func() generator.Statement {
			st := goodStatement()
			st.Effect = "Deny"
			return st
		}()), Subject{"shop", "orders", "prod"}, false, "denies it explicitly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Check(tt.role, tt.sub)
			if v.Admitted != tt.admit {
				t.Fatalf("admitted = %v, want %v (%v)", v.Admitted, tt.admit, v.Reasons)
			}
			if tt.reason != "" && !strings.Contains(strings.Join(v.Reasons, "\n"), tt.reason) {
				t.Errorf("reasons %q lack %q", v.Reasons, tt.reason)
			}
		})
	}
}

func TestValidateStatement(t *testing.T) {
	if got := ValidateStatement(goodStatement(), "aws", "111122223333"); len(got) != 0 {
		t.Fatalf("the generator's statement is invalid: %v", got)
	}
	tests := []struct {
		name string
		edit func(*generator.Statement)
		want string
	}{
		{"no source account", func(st *generator.Statement) { delete(st.Condition["StringEquals"], generator.ConditionSourceAcct) }, "must pin aws:SourceAccount"},
		{"another account", func(st *generator.Statement) {
			st.Condition["StringEquals"][generator.ConditionSourceAcct] = generator.StringList{"123456789012"}
		}, "must pin aws:SourceAccount"},
		{"no source arn", func(st *generator.Statement) { delete(st.Condition, "ArnEquals") }, "must pin aws:SourceArn"},
		{"a cluster of another account", func(st *generator.Statement) {
			st.Condition["ArnEquals"][generator.ConditionSourceArn] = generator.StringList{generator.EKSClusterARN("aws", "us-west-2", "123456789012", "x")}
		}, "is not an EKS cluster ARN of account 111122223333"},
		{"a wildcard ARN", func(st *generator.Statement) {
			st.Condition["ArnLike"] = map[string]generator.StringList{generator.ConditionSourceArn: {"arn:aws:eks:*"}}
		}, "operator ArnLike"},
		{"extra action", func(st *generator.Statement) { st.Action = append(st.Action, "sts:AssumeRoleWithWebIdentity") }, "action must be"},
		{"extra principal", func(st *generator.Statement) { st.Principal["AWS"] = generator.StringList{"*"} }, "principal must be"},
		{"deny", func(st *generator.Statement) { st.Effect = "Deny" }, "must be Allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := goodStatement()
			tt.edit(&st)
			got := strings.Join(ValidateStatement(st, "aws", "111122223333"), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems %q lack %q", got, tt.want)
			}
		})
	}
}
