package generator

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/iambind/iambind/addons"
)

// addWellKnown renders spec.policies.wellKnown (package addons) into the
// role's managed ARNs and inline documents, next to the user's own, and
// returns the managed ARNs, sorted. Rendered documents are canonical like
// every inline policy, so guardrails, the plan and the lint see them as
// IAM will.
func addWellKnown(p Policies, used []*IdentityCluster, managed []string, inline map[string]json.RawMessage, sink problemSink) []string {
	if len(p.WellKnown) == 0 {
		return managed
	}
	first := used[0]
	ctx := addons.Context{
		Partition:   first.Spec.Partition,
		AccountID:   first.Spec.AccountID,
		Region:      first.Spec.Region,
		RegionField: fmt.Sprintf("spec.region in IdentityCluster %q", first.Metadata.Name),
	}
	userManaged := len(managed)
	userTotal := 0
	for _, doc := range inline {
		userTotal += NonWhitespaceLength(doc)
	}
	managedFrom := map[string]string{}
	for i, ref := range p.Managed {
		managedFrom[ManagedPolicyARN(ctx.Partition, ref)] = fmt.Sprintf("spec.policies.managed[%d]", i)
	}
	seen := map[string]int{}
	for i, wk := range p.WellKnown {
		field := fmt.Sprintf("spec.policies.wellKnown[%d]", i)
		if j, dup := seen[wk.Name]; dup && wk.Name != "" {
			sink.errorf(field+".name", "%s is listed twice (also spec.policies.wellKnown[%d]): give its parameters in one entry", wk.Name, j)
			continue
		}
		seen[wk.Name] = i
		out, problems := addons.Render(addons.Request{
			Name: wk.Name, HostedZoneARNs: wk.HostedZoneARNs, ClusterName: wk.ClusterName,
			SecretARNs: wk.SecretARNs, ParameterARNs: wk.ParameterARNs, BucketARNs: wk.BucketARNs, IPFamily: wk.IPFamily,
		}, ctx)
		for _, pr := range problems {
			f := field
			if pr.Field != "" {
				f += "." + pr.Field
			}
			sink.errorf(f, "%s", pr.Message)
		}
		if len(problems) > 0 {
			continue
		}
		for _, name := range out.Managed {
			arn := ManagedPolicyARN(ctx.Partition, name)
			if other, dup := managedFrom[arn]; dup {
				sink.errorf(field, "%s attaches %s, which %s attaches too: list it once", wk.Name, arn, other)
				continue
			}
			managedFrom[arn] = field
			managed = append(managed, arn)
		}
		if out.Inline == nil {
			continue
		}
		if _, clash := p.Inline[out.InlineName]; clash {
			sink.errorf("spec.policies.inline."+out.InlineName, "is the name of the inline policy spec.policies.wellKnown[%d] (%s) renders: rename this one (names starting %q are meant for well-known policies)", i, wk.Name, addons.InlinePrefix)
			continue
		}
		doc, err := decodePolicyDocument(out.Inline)
		if err == nil {
			if problem := checkPolicyShape(doc); problem != "" {
				err = fmt.Errorf("%s", problem)
			}
		}
		if err != nil {
			sink.errorf(field, "internal error: the rendered %s policy is invalid: %v", wk.Name, err)
			continue
		}
		inline[out.InlineName] = doc
	}
	total := 0
	for _, doc := range inline {
		total += NonWhitespaceLength(doc)
	}
	// The user's own policies were checked alone; say it again only when
	// the well-known ones push the role over.
	if total > MaxInlinePolicyTotal && userTotal <= MaxInlinePolicyTotal {
		sink.errorf("spec.policies.wellKnown", "with the well-known policies the role's inline policies total %d characters (white space not counted); IAM allows %d per role: split the add-ons over several bindings (roles), or move your own inline policies into managed ones", total, MaxInlinePolicyTotal)
	}
	switch n := len(managed); {
	case n > MaxManagedPerRole && userManaged <= MaxManagedPerRole:
		sink.errorf("spec.policies.wellKnown", "with the well-known policies the role has %d managed policies; IAM allows at most %d per role even with a raised quota", n, MaxManagedPerRole)
	case n > DefaultManagedPerRole && userManaged <= DefaultManagedPerRole:
		sink.warnf("spec.policies.wellKnown", "with the well-known policies the role has %d managed policies; IAM's default quota is %d per role, so apply fails unless your account's quota was raised", n, DefaultManagedPerRole)
	}
	sort.Strings(managed)
	return managed
}

// wellKnownField maps a role.json field that a well-known entry produced
// (an inline policy wellKnown-<name>, or one of its managed ARNs) to that
// entry, for findings about the planned role; "" when none did.
func wellKnownField(field string, role Role, b *IdentityBinding, partition string) string {
	wks := b.Spec.Policies.WellKnown
	if rest, ok := strings.CutPrefix(field, "inlinePolicies."+addons.InlinePrefix); ok {
		for i, wk := range wks {
			if rest == wk.Name || strings.HasPrefix(rest, wk.Name+".") {
				return fmt.Sprintf("spec.policies.wellKnown[%d]", i)
			}
		}
		return ""
	}
	var idx int
	if _, err := fmt.Sscanf(field, "managedPolicyArns[%d]", &idx); err != nil || idx >= len(role.ManagedPolicyARNs) {
		return ""
	}
	arn := role.ManagedPolicyARNs[idx]
	for i, wk := range wks {
		names := addons.ManagedNames(wk.Name, wk.IPFamily)
		if slices.ContainsFunc(names, func(n string) bool { return ManagedPolicyARN(partition, n) == arn }) {
			return fmt.Sprintf("spec.policies.wellKnown[%d]", i)
		}
	}
	return ""
}
