package guardrails

// DefaultDeniedActions are refused in inline Allow statements when a
// Guardrails object does not list its own deniedActions. They are the
// privilege-escalation methods of Rhino Security Labs' research "AWS IAM
// Privilege Escalation – Methods and Mitigation" (21 methods): each action
// below lets a principal grant itself (or a principal it controls) more than
// it was given. An entry joined with "+" is a combination: refused only when
// the role is granted every part (passing a role to a service that then runs
// code with it). docs/guardrails.md lists them with the method each stops.
//
// Two rules hold whatever this list says: "*" / "iam:*" (any glob covering
// every IAM action) and NotAction in an Allow statement are always refused,
// and so are iam:PassRole and sts:AssumeRole on an unscoped Resource.
var DefaultDeniedActions = []string{
	// Rewriting a policy the principal already has.
	"iam:CreatePolicyVersion",
	"iam:SetDefaultPolicyVersion",
	// Granting more policies to oneself or to another principal.
	"iam:AttachUserPolicy",
	"iam:AttachGroupPolicy",
	"iam:AttachRolePolicy",
	"iam:PutUserPolicy",
	"iam:PutGroupPolicy",
	"iam:PutRolePolicy",
	"iam:AddUserToGroup",
	// Becoming another principal.
	"iam:CreateAccessKey",
	"iam:CreateLoginProfile",
	"iam:UpdateLoginProfile",
	"iam:UpdateAssumeRolePolicy",
	// Escaping a permissions boundary (not in the research; the boundary is
	// what guardrails rely on).
	"iam:DeleteRolePermissionsBoundary",
	"iam:DeleteUserPermissionsBoundary",
	"iam:PutRolePermissionsBoundary",
	"iam:PutUserPermissionsBoundary",
	// Running code as a more privileged role that is already attached.
	"lambda:UpdateFunctionCode",
	"glue:UpdateDevEndpoint",
	// Passing a role to a service that runs code with it.
	"iam:PassRole+ec2:RunInstances",
	"iam:PassRole+lambda:CreateFunction",
	"iam:PassRole+glue:CreateDevEndpoint",
	"iam:PassRole+cloudformation:CreateStack",
	"iam:PassRole+datapipeline:CreatePipeline",
}
