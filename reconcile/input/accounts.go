package input

import (
	"regexp"
	"sort"
)

// RoleARNRE splits a role ARN into partition, account and path+name.
var RoleARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):role(/.*)$`)

// ARNAccount returns the partition and account of a role ARN.
func ARNAccount(roleARN string) (partition, account string, ok bool) {
	m := RoleARNRE.FindStringSubmatch(roleARN)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// AccountPart is the part of a plan in one account.
type AccountPart struct {
	Partition, Account string
	In                 *Input
}

// ByAccount splits the plan by the account in each role's ARN, sorted
// by account. A role whose ARN names no account stays in a group of its own
// ("" account), which validation then refuses.
func ByAccount(in *Input) []AccountPart {
	byKey := map[string]*AccountPart{}
	var keys []string
	for _, r := range in.Roles {
		p, a, _ := ARNAccount(r.ARN)
		k := a + "/" + p
		g := byKey[k]
		if g == nil {
			g = &AccountPart{Partition: p, Account: a, In: &Input{Whole: in.Whole}}
			byKey[k] = g
			keys = append(keys, k)
		}
		g.In.Roles = append(g.In.Roles, r)
	}
	// A self-hosted issuer is published in its own account, with or without
	// roles there.
	for _, d := range in.Discovery {
		k := d.AccountID + "/" + d.Partition
		g := byKey[k]
		if g == nil {
			g = &AccountPart{Partition: d.Partition, Account: d.AccountID, In: &Input{Whole: in.Whole}}
			byKey[k] = g
			keys = append(keys, k)
		}
		g.In.Discovery = append(g.In.Discovery, d)
	}
	if len(keys) == 0 && in.Whole != nil {
		return []AccountPart{{Partition: in.Whole.partition, Account: in.Whole.account, In: in}}
	}
	sort.Strings(keys)
	out := make([]AccountPart, len(keys))
	for i, k := range keys {
		g := byKey[k]
		// Every ServiceAccount goes along: the guard judges only those
		// carrying one of the group's role ARNs.
		g.In.ServiceAccounts = in.ServiceAccounts
		g.In.Workloads = in.Workloads
		out[i] = *g
	}
	return out
}

// PlanAccount returns the partition and account ID of the plan's roles
// (Validate ensures there is one), or empty strings for an empty plan.
func PlanAccount(in *Input) (partition, account string) {
	for _, r := range in.Roles {
		if m := RoleARNRE.FindStringSubmatch(r.ARN); m != nil {
			return m[1], m[2]
		}
	}
	for _, d := range in.Discovery {
		return d.Partition, d.AccountID
	}
	if in.Whole != nil {
		return in.Whole.partition, in.Whole.account
	}
	return "", ""
}
