package addons

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Parameter names, as in spec.policies.wellKnown[i].
const (
	ParamHostedZoneARNs = "hostedZoneARNs"
	ParamClusterName    = "clusterName"
	ParamSecretARNs     = "secretARNs"
	ParamParameterARNs  = "parameterARNs"
	ParamBucketARNs     = "bucketARNs"
	ParamIPFamily       = "ipFamily"
)

type paramDef struct {
	name   string
	set    func(Request) bool
	list   func(Request) []string // nil for a single value
	single func(Request) string
}

var allParams = []paramDef{
	{name: ParamHostedZoneARNs, set: func(r Request) bool { return r.HostedZoneARNs != nil }, list: func(r Request) []string { return r.HostedZoneARNs }},
	{name: ParamClusterName, set: func(r Request) bool { return r.ClusterName != "" }, single: func(r Request) string { return r.ClusterName }},
	{name: ParamSecretARNs, set: func(r Request) bool { return r.SecretARNs != nil }, list: func(r Request) []string { return r.SecretARNs }},
	{name: ParamParameterARNs, set: func(r Request) bool { return r.ParameterARNs != nil }, list: func(r Request) []string { return r.ParameterARNs }},
	{name: ParamBucketARNs, set: func(r Request) bool { return r.BucketARNs != nil }, list: func(r Request) []string { return r.BucketARNs }},
	{name: ParamIPFamily, set: func(r Request) bool { return r.IPFamily != "" }, single: func(r Request) string { return r.IPFamily }},
}

// paramRule is how one parameter is checked: required or not, and the
// pattern and wording of one value. %s in a pattern is the partition.
type paramRule struct {
	required bool
	pattern  string
	noun     string // "S3 bucket ARN"
	note     string // what the pattern asks, in words
	example  string // in partition aws
	enum     []string
}

var paramRules = map[string]paramRule{
	ParamHostedZoneARNs: {required: true, pattern: `^arn:%s:route53:::hostedzone/[A-Z0-9]{1,32}$`,
		noun: "Route 53 hosted zone ARN", note: "one zone, no wildcard", example: "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"},
	ParamClusterName: {required: true, pattern: `^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`,
		noun: "EKS cluster name", note: "letters, digits, - and _, at most 100", example: "prod-usw2"},
	ParamSecretARNs: {pattern: `^arn:%s:secretsmanager:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-][A-Za-z0-9/_+=.@*?-]*$`,
		noun: "Secrets Manager secret ARN", note: "region and account spelt out; a * may follow a name prefix, never replace the name", example: "arn:aws:secretsmanager:us-west-2:111122223333:secret:shop/*"},
	ParamParameterARNs: {pattern: `^arn:%s:ssm:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-][A-Za-z0-9/_.*?-]*$`,
		noun: "SSM parameter ARN", note: "region and account spelt out; a * may follow a path prefix, never replace the name", example: "arn:aws:ssm:us-west-2:111122223333:parameter/shop/*"},
	ParamBucketARNs: {required: true, pattern: `^arn:%s:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`,
		noun: "S3 bucket ARN", note: "the bucket itself: no key, no wildcard", example: "arn:aws:s3:::orders-backups"},
	ParamIPFamily: {enum: []string{"ipv4", "ipv6"}},
}

// maxValues bounds a list parameter: an inline policy is at most 10,240
// characters per role, so hundreds of ARNs could never be applied.
const maxValues = 100

type validator struct {
	partition string
	problems  []Problem
}

func (v *validator) errorf(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) check(name string, r Request) {
	def := paramDefOf(name)
	rule := paramRules[name]
	partition := v.partition
	if partition == "" {
		partition = "aws"
	}
	var re *regexp.Regexp
	if rule.pattern != "" {
		re = regexp.MustCompile(strings.ReplaceAll(rule.pattern, "%s", regexp.QuoteMeta(partition)))
	}
	example := strings.Replace(rule.example, "arn:aws:", "arn:"+partition+":", 1)
	if def.single != nil {
		value := def.single(r)
		switch {
		case value == "" && rule.required:
			v.errorf(name, "is required: the add-on's policy is scoped by it; give the %s, such as %q", rule.noun, example)
		case value == "":
		case rule.enum != nil && !slices.Contains(rule.enum, value):
			v.errorf(name, "%q is not one of %s", value, strings.Join(rule.enum, ", "))
		case re != nil && !re.MatchString(value):
			v.errorf(name, "%q is not a valid %s (%s), such as %q", value, rule.noun, rule.note, example)
		}
		return
	}
	values := def.list(r)
	if def.set(r) && len(values) == 0 {
		v.errorf(name, "is empty: give one or more of the %ss the add-on may use, such as %q", rule.noun, example)
		return
	}
	if len(values) == 0 {
		if rule.required {
			v.errorf(name, "is required: the add-on's policy is scoped to these resources, never to \"*\"; give one or more %ss, such as %q", rule.noun, example)
		}
		return
	}
	if len(values) > maxValues {
		v.errorf(name, "has %d values; at most %d", len(values), maxValues)
		return
	}
	seen := map[string]int{}
	for i, value := range values {
		field := fmt.Sprintf("%s[%d]", name, i)
		if j, dup := seen[value]; dup {
			v.errorf(field, "%q is listed twice (also %s[%d])", value, name, j)
			continue
		}
		seen[value] = i
		if re.MatchString(value) {
			continue
		}
		if parts := strings.SplitN(value, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != partition {
			v.errorf(field, "%q is in partition %s, but the binding's cluster is in %s", value, parts[1], partition)
			continue
		}
		v.errorf(field, "%q is not a valid %s (%s), such as %q", value, rule.noun, rule.note, example)
	}
}

func paramDefOf(name string) paramDef {
	for _, p := range allParams {
		if p.name == name {
			return p
		}
	}
	panic("addons: unknown parameter " + name)
}
