package addons

import (
	"slices"
	"strings"
)

// addon is one well-known name.
type addon struct {
	name    string
	project string   // the add-on, for docs/addons.md
	params  []string // the parameters it takes
	// managed returns the AWS managed policies (path/name) it attaches.
	managed func(Request) []string
	// render returns its inline document (nil for none), with the
	// parameters substituted, in the cluster's partition.
	render func(Request, Context) (map[string]any, []Problem)
	// sources are the ids in sources.json it is built from or documented by.
	sources []string
	// notes say, for docs/addons.md, what the rendering changes upstream.
	notes string
}

func none(Request) []string { return nil }

func fixed(names ...string) func(Request) []string {
	return func(Request) []string { return names }
}

// catalogue is every well-known name. The managed policy names are
// checked against generator/managedpolicies by a test.
var catalogue = []addon{
	{
		name: "ebsCSIDriver", project: "Amazon EBS CSI driver",
		managed: fixed("service-role/AmazonEBSCSIDriverPolicy"), sources: []string{"eks-add-ons"},
		notes: "The AWS managed policy the EKS add-on documentation names.",
	},
	{
		name: "efsCSIDriver", project: "Amazon EFS CSI driver",
		managed: fixed("service-role/AmazonEFSCSIDriverPolicy"), sources: []string{"eks-add-ons"},
		notes: "The AWS managed policy the EKS add-on documentation names.",
	},
	{
		name: "cloudWatchObservability", project: "Amazon CloudWatch Observability",
		managed: fixed("AWSXrayWriteOnlyAccess", "CloudWatchAgentServerPolicy"), sources: []string{"eks-add-ons"},
		notes: "Both AWS managed policies the EKS add-on documentation requires.",
	},
	{
		name: "vpcCNI", project: "Amazon VPC CNI", params: []string{ParamIPFamily},
		managed: func(r Request) []string {
			if r.IPFamily == "ipv6" {
				return nil
			}
			return []string{"AmazonEKS_CNI_Policy"}
		},
		render: func(r Request, ctx Context) (map[string]any, []Problem) {
			if r.IPFamily != "ipv6" {
				return nil, nil
			}
			return inPartition(document("vpcCNI-ipv6.json"), ctx.Partition), nil
		},
		sources: []string{"eks-add-ons", "vpc-cni"},
		notes:   "ipv4 (the default): the AWS managed AmazonEKS_CNI_Policy. ipv6: AWS publishes no managed policy; the IPv6 policy of the project's docs/iam-policy.md, inline.",
	},
	{
		name: "awsLoadBalancerController", project: "AWS Load Balancer Controller", managed: none,
		render: func(_ Request, ctx Context) (map[string]any, []Problem) {
			// The project publishes one document per partition.
			switch ctx.Partition {
			case "aws-cn", "aws-us-gov":
				return document("awsLoadBalancerController-" + ctx.Partition + ".json"), nil
			}
			return document("awsLoadBalancerController.json"), nil
		},
		sources: []string{"aws-load-balancer-controller", "aws-load-balancer-controller-cn", "aws-load-balancer-controller-us-gov"},
		notes:   "Unchanged: the project's own tag conditions (elbv2.k8s.aws/cluster) scope it. The aws-cn and aws-us-gov files for those partitions.",
	},
	{
		name: "externalDNS", project: "ExternalDNS", params: []string{ParamHostedZoneARNs}, managed: none,
		render: func(r Request, ctx Context) (map[string]any, []Problem) {
			doc := inPartition(document("externalDNS.json"), ctx.Partition)
			if !replaceResource(doc, "arn:"+ctx.Partition+":route53:::hostedzone/*", r.HostedZoneARNs) {
				return nil, internalError("externalDNS: the upstream policy has no hostedzone/* resource")
			}
			return doc, nil
		},
		sources: []string{"external-dns"},
		notes:   "`hostedzone/*` replaced by `hostedZoneARNs`; `route53:ListHostedZones` stays on `*` (it has no resource type).",
	},
	{
		name: "certManager", project: "cert-manager", params: []string{ParamHostedZoneARNs}, managed: none,
		render: func(r Request, ctx Context) (map[string]any, []Problem) {
			doc := inPartition(document("certManager.json"), ctx.Partition)
			if !replaceResource(doc, "arn:"+ctx.Partition+":route53:::hostedzone/*", r.HostedZoneARNs) {
				return nil, internalError("certManager: the upstream policy has no hostedzone/* resource")
			}
			return doc, nil
		},
		sources: []string{"cert-manager"},
		notes:   "`hostedzone/*` replaced by `hostedZoneARNs`, as the cert-manager docs advise; `route53:ListHostedZonesByName` stays on `*` (it has no resource type).",
	},
	{
		name: "clusterAutoscaler", project: "Cluster Autoscaler", params: []string{ParamClusterName}, managed: none,
		render: func(r Request, ctx Context) (map[string]any, []Problem) {
			doc := inPartition(document("clusterAutoscaler.json"), ctx.Partition)
			// The README asks to scope the mutating statement by
			// resources or tag conditions; auto-discovery finds the
			// cluster's groups by the presence of these two tag keys, so
			// the condition admits exactly the groups it may scale.
			scoped := false
			for _, st := range statements(doc) {
				m, _ := st.(map[string]any)
				if actions, _ := m["Action"].([]any); slices.Contains(actions, any("autoscaling:SetDesiredCapacity")) {
					m["Condition"] = map[string]any{"Null": map[string]any{
						"aws:ResourceTag/k8s.io/cluster-autoscaler/enabled":          "false",
						"aws:ResourceTag/k8s.io/cluster-autoscaler/" + r.ClusterName: "false",
					}}
					scoped = true
				}
			}
			if !scoped {
				return nil, internalError("clusterAutoscaler: the upstream policy has no autoscaling:SetDesiredCapacity statement")
			}
			return doc, nil
		},
		sources: []string{"cluster-autoscaler"},
		notes:   "The \"Full Cluster Autoscaler Features Policy\"; its SetDesiredCapacity/TerminateInstanceInAutoScalingGroup statement gains the condition the README asks for: both auto-discovery tags (`k8s.io/cluster-autoscaler/enabled`, `k8s.io/cluster-autoscaler/<clusterName>`) present on the group.",
	},
	{
		name: "karpenter", project: "Karpenter", params: []string{ParamClusterName}, managed: none,
		render: func(r Request, ctx Context) (map[string]any, []Problem) {
			if ctx.Region == "" {
				return nil, []Problem{{Message: "karpenter's policy is scoped to the cluster's region: set " + ctx.RegionField}}
			}
			p, acct, c := ctx.Partition, ctx.AccountID, r.ClusterName
			// The names the project's CloudFormation template gives the node
			// role and the interruption queue.
			rep := strings.NewReplacer(
				"${AWS::Partition}", p, "${AWS::Region}", ctx.Region, "${AWS::AccountId}", acct, "${ClusterName}", c,
				"${KarpenterNodeRole.Arn}", "arn:"+p+":iam::"+acct+":role/KarpenterNodeRole-"+c,
				"${KarpenterInterruptionQueue.Arn}", "arn:"+p+":sqs:"+ctx.Region+":"+acct+":"+c,
			)
			return substitute(document("karpenter.json"), rep).(map[string]any), nil
		},
		sources: []string{"karpenter"},
		notes:   "The controller policies of the getting-started CloudFormation template (NodeLifecycle, IAMIntegration, EKSIntegration, Interruption, ZonalShift, ResourceDiscovery) in one document; its tag conditions scope it to `clusterName`. The region is the IdentityCluster's `spec.region` (required); the node role is `KarpenterNodeRole-<clusterName>` and the interruption queue `<clusterName>`, as the template names them.",
	},
	{
		name: "externalSecrets", project: "External Secrets Operator", params: []string{ParamSecretARNs, ParamParameterARNs}, managed: none,
		render: func(r Request, ctx Context) (map[string]any, []Problem) {
			if len(r.SecretARNs) == 0 && len(r.ParameterARNs) == 0 {
				return nil, []Problem{{Message: "needs secretARNs (Secrets Manager), parameterARNs (SSM Parameter Store) or both: the policy is scoped to them, never to \"*\""}}
			}
			var list []any
			if len(r.SecretARNs) > 0 {
				doc := inPartition(document("externalSecrets-secretsManager.json"), ctx.Partition)
				if !replaceResource(doc, "arn:"+ctx.Partition+":secretsmanager:us-west-2:111122223333:secret:dev-*", r.SecretARNs) {
					return nil, internalError("externalSecrets: the upstream Secrets Manager example resource moved")
				}
				list = append(list, statements(doc)...)
			}
			if len(r.ParameterARNs) > 0 {
				doc := inPartition(document("externalSecrets-parameterStore.json"), ctx.Partition)
				if !replaceResource(doc, "arn:"+ctx.Partition+":ssm:us-east-2:1234567889911:parameter/dev-*", r.ParameterARNs) {
					return nil, internalError("externalSecrets: the upstream Parameter Store example resource moved")
				}
				list = append(list, statements(doc)...)
			}
			return map[string]any{"Version": "2012-10-17", "Statement": list}, nil
		},
		sources: []string{"external-secrets-sm", "external-secrets-ssm"},
		notes:   "The Secrets Manager policy (with `secretARNs`) and the Parameter Store fetching policy (with `parameterARNs`) of the provider docs, their example resources replaced; at least one of the two is required. The docs' `ListSecrets`/`BatchGetSecretValue` statement stays on `*` (neither has a resource type). The published Parameter Store example has a trailing comma, dropped on extraction.",
	},
	{
		name: "velero", project: "Velero plugin for AWS", params: []string{ParamBucketARNs}, managed: none,
		render: func(r Request, ctx Context) (map[string]any, []Problem) {
			doc := inPartition(document("velero.json"), ctx.Partition)
			p := "arn:" + ctx.Partition + ":s3:::${BUCKET}"
			if !replaceResource(doc, p+"/*", withSuffix(r.BucketARNs, "/*")) || !replaceResource(doc, p, r.BucketARNs) {
				return nil, internalError("velero: the upstream ${BUCKET} resources moved")
			}
			return doc, nil
		},
		sources: []string{"velero"},
		notes:   "`${BUCKET}` replaced by each of `bucketARNs` (objects and bucket); the EC2 snapshot statement is upstream's, on `*`.",
	},
	{
		name: "mountpointS3CSI", project: "Mountpoint for Amazon S3 CSI driver", params: []string{ParamBucketARNs}, managed: none,
		render: func(r Request, ctx Context) (map[string]any, []Problem) {
			doc := document("mountpointS3CSI.json")
			p := "{arn-aws}s3:::amzn-s3-demo-bucket1"
			if !replaceResource(doc, p+"/*", withSuffix(r.BucketARNs, "/*")) || !replaceResource(doc, p, r.BucketARNs) {
				return nil, internalError("mountpointS3CSI: the upstream example bucket moved")
			}
			return doc, nil
		},
		sources: []string{"eks-s3-csi"},
		notes:   "The driver's docs point to the EKS User Guide's policy for general purpose buckets: its example bucket replaced by each of `bucketARNs`. Directory buckets (S3 Express One Zone) are not covered: add their `s3express:CreateSession` statement inline.",
	},
}
