package guardrails

// DefaultDeniedActions are refused in Allow statements when a Guardrails
// object does not list its own deniedActions. Each entry lets a principal act
// with more than it was given: grant itself (or a principal it controls) more
// IAM permissions, run code as another principal (an instance, function,
// task, build, stack or job that holds a role), or take control of the
// Kubernetes cluster whose namespaces are the tenancy boundary. The list
// starts from public catalogues of AWS privilege-escalation paths (Rhino
// Security Labs' research, Bishop Fox's iam-vulnerable, Datadog's
// pathfinding.cloud, HackTricks Cloud); docs/guardrails.md cites them and
// says which entry stops what.
//
// An entry joined with "+" is a combination: refused only when the role is
// granted every part (passing a role to a service that then runs code with
// it). Actions that run code with a role the resource already holds are
// refused alone: no iam:PassRole is needed for them.
//
// The non-IAM entries are also in the Deny of deploy/base/boundary-policy.json
// (a test keeps them so), and that boundary denies every IAM action, so a
// combination's iam:PassRole is denied there too.
//
// Two rules hold whatever this list says: "*" / "iam:*" (any glob covering
// every IAM action) and NotAction in an inline Allow statement are always
// refused, and so are iam:PassRole and sts:AssumeRole on an unscoped Resource.
var DefaultDeniedActions = []string{
	// IAM: rewriting a policy the principal already has.
	"iam:CreatePolicyVersion",
	"iam:SetDefaultPolicyVersion",
	// IAM: granting more policies to oneself or to another principal.
	"iam:AttachUserPolicy",
	"iam:AttachGroupPolicy",
	"iam:AttachRolePolicy",
	"iam:PutUserPolicy",
	"iam:PutGroupPolicy",
	"iam:PutRolePolicy",
	"iam:AddUserToGroup",
	// IAM: becoming another principal.
	"iam:CreateAccessKey",
	"iam:CreateLoginProfile",
	"iam:UpdateLoginProfile",
	"iam:UpdateAssumeRolePolicy",
	"iam:CreateServiceSpecificCredential",
	"iam:UploadSSHPublicKey",
	"iam:AddRoleToInstanceProfile",
	// IAM: trusting another identity provider, or widening a trusted one.
	"iam:CreateOpenIDConnectProvider",
	"iam:AddClientIDToOpenIDConnectProvider",
	"iam:UpdateOpenIDConnectProviderThumbprint",
	"iam:CreateSAMLProvider",
	"iam:UpdateSAMLProvider",
	// IAM: escaping a permissions boundary (the boundary is what guardrails
	// rely on).
	"iam:DeleteRolePermissionsBoundary",
	"iam:DeleteUserPermissionsBoundary",
	"iam:PutRolePermissionsBoundary",
	"iam:PutUserPermissionsBoundary",

	// STS: becoming another role (role chaining leaves the boundary behind;
	// a role trusting its account's root trusts every principal allowed
	// sts:AssumeRole), or root of a member account.
	"sts:AssumeRole",
	"sts:AssumeRoot",

	// EKS: control of the cluster (an access entry mapped to cluster-admin
	// ends the namespace boundary), or of which ServiceAccount gets which role.
	"eks:CreateAccessEntry",
	"eks:UpdateAccessEntry",
	"eks:AssociateAccessPolicy",
	"eks:UpdateClusterConfig",
	"eks:AssociateIdentityProviderConfig",
	"eks:CreatePodIdentityAssociation",
	"eks:UpdatePodIdentityAssociation",
	"eks:UpdateNodegroupVersion", // a new launch template version: new user data on the nodes
	"eks:CreateAddon",            // an add-on's ServiceAccount gets a role
	"eks:UpdateAddon",
	"iam:PassRole+eks:CreateNodegroup",
	"iam:PassRole+eks:CreateFargateProfile",

	// SSM: commands and shells on instances, as their instance profile.
	"ssm:SendCommand",
	"ssm:StartSession",
	"ssm:ResumeSession",
	"ssm:StartAutomationExecution",
	"ssm:CreateAssociation",
	"ssm:UpdateAssociation",
	"ssm:RegisterTaskWithMaintenanceWindow",
	"ssm:UpdateMaintenanceWindowTask",
	"ec2-instance-connect:SendSSHPublicKey",
	"ec2-instance-connect:SendSerialConsoleSSHPublicKey",

	// Lambda: new code or configuration (layers, environment) in a function
	// that holds a role, or a resource policy letting another principal do it.
	"lambda:UpdateFunctionCode",
	"lambda:UpdateFunctionConfiguration",
	"lambda:AddPermission",
	"iam:PassRole+lambda:CreateFunction",

	// ECS: a shell in a running task, or a task running one's command as
	// its task role.
	"ecs:ExecuteCommand",
	"ecs:RegisterTaskDefinition",
	"ecs:RunTask",
	"ecs:StartTask",
	"iam:PassRole+ecs:CreateService",

	// Batch: a job running one's command as its job role.
	"batch:SubmitJob",
	"iam:PassRole+batch:RegisterJobDefinition",

	// CodeBuild: a build (buildspec override) running as the project's role.
	"codebuild:StartBuild",
	"codebuild:StartBuildBatch",
	"codebuild:UpdateProject",
	"codebuild:CreateProject",

	// CloudFormation: a stack creating resources as its service role.
	"cloudformation:CreateStack",
	"cloudformation:UpdateStack",
	"cloudformation:CreateChangeSet",
	"cloudformation:ExecuteChangeSet",
	"cloudformation:SetStackPolicy",
	"cloudformation:CreateStackSet",
	"cloudformation:UpdateStackSet",
	"cloudformation:CreateStackInstances",
	"cloudformation:UpdateStackInstances",

	// Glue: endpoints, jobs and sessions running code as their role.
	"glue:UpdateDevEndpoint",
	"glue:UpdateJob",
	"glue:RunStatement",
	"iam:PassRole+glue:CreateDevEndpoint",
	"iam:PassRole+glue:CreateJob",
	"iam:PassRole+glue:CreateSession",

	// EC2: user data of an instance that holds a role, its instance profile,
	// launch templates that instances (and Auto Scaling) start from.
	"ec2:ModifyInstanceAttribute",
	"ec2:AssociateIamInstanceProfile",
	"ec2:ReplaceIamInstanceProfileAssociation",
	"ec2:CreateLaunchTemplateVersion",
	"ec2:ModifyLaunchTemplate",
	"iam:PassRole+ec2:RunInstances",
	"iam:PassRole+ec2:RequestSpotInstances",

	// Auto Scaling: launch configurations and groups starting instances with
	// a role.
	"iam:PassRole+autoscaling:CreateLaunchConfiguration",
	"iam:PassRole+autoscaling:CreateAutoScalingGroup",
	"iam:PassRole+autoscaling:UpdateAutoScalingGroup",

	// SageMaker: notebooks (and their lifecycle scripts) and jobs running as
	// their execution role.
	"sagemaker:CreatePresignedNotebookInstanceUrl",
	"sagemaker:CreatePresignedDomainUrl",
	"sagemaker:UpdateNotebookInstance",
	"sagemaker:UpdateNotebookInstanceLifecycleConfig",
	"iam:PassRole+sagemaker:CreateNotebookInstance",
	"iam:PassRole+sagemaker:CreateTrainingJob",
	"iam:PassRole+sagemaker:CreateProcessingJob",

	// Data Pipeline: a pipeline definition running as the pipeline's roles.
	"datapipeline:PutPipelineDefinition",
	"iam:PassRole+datapipeline:CreatePipeline",

	// Other services that run one's code or definition as their role.
	"apprunner:UpdateService",
	"iam:PassRole+apprunner:CreateService",
	"states:UpdateStateMachine",
	"iam:PassRole+states:CreateStateMachine",
	"codestar:CreateProject",
	"codestar:AssociateTeamMember",
	"codestar:CreateProjectFromTemplate",
}
