package generator

import (
	"fmt"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// RolePolicy is an operator policy every planned role must satisfy (the
// guardrails package implements it). It lives outside the generator so that
// the CLI evaluates the very same rules over role.json. Bindings are planned
// in parallel: Check is called concurrently and must only read its policy.
type RolePolicy interface {
	// Check returns the role as it is to be planned (a policy may fill in a
	// field, such as a required permissions boundary) and what it refuses.
	Check(role Role) (Role, []Finding)
}

// Finding is one refusal of a RolePolicy. Field is a role.json path
// (permissionsBoundary, managedPolicyArns[2], inlinePolicies.<name>.Statement[0].Action);
// the generator maps it to the binding field that produced it.
type Finding struct {
	Field   string
	Message string
}

// PolicyKind decodes the objects of one iambind.dev kind that hold an
// operator policy (kind Guardrails).
type PolicyKind struct {
	Kind   string
	Decode func(obj *fn.KubeObject) (RolePolicy, Problems)
}

// Options extend Generate with operator policies.
type Options struct {
	Policies []PolicyKind
	// SetAside says the caller kept bystanders (bystander.go) out of the
	// items and writes them back itself. The run is then not kustomize's,
	// whatever the items carry (a bystander has no kustomize id), and when
	// a planned binding injects it changes nothing and reports
	// ErrBystandersNeeded.
	SetAside bool
}

func (o Options) policyKind(kind string) *PolicyKind {
	for i := range o.Policies {
		if o.Policies[i].Kind == kind {
			return &o.Policies[i]
		}
	}
	return nil
}

// kindList names the kinds the function understands, for an error message.
func (o Options) kindList() string {
	kinds := []string{KindCluster, KindBinding}
	for _, p := range o.Policies {
		kinds = append(kinds, p.Kind)
	}
	return strings.Join(kinds[:len(kinds)-1], ", ") + " and " + kinds[len(kinds)-1]
}

// ProcessWith is Process with operator policies.
func ProcessWith(opts Options) fn.ResourceListProcessorFunc {
	return func(rl *fn.ResourceList) (bool, error) { return process(rl, opts) }
}

// decodePolicies decodes the policy objects in the input; at most one per
// kind, since two would leave unclear which one wins.
func decodePolicies(objs fn.KubeObjects, opts Options, problems *Problems) []RolePolicy {
	var out []RolePolicy
	seen := map[string]ResourceRef{}
	for _, obj := range objs {
		pk := opts.policyKind(obj.GetKind())
		sink := problemSink{ref: refOf(obj), problems: problems}
		if first, dup := seen[pk.Kind]; dup {
			sink.errorf("metadata.name", "a second %s object (the first is %s): give one, so it is clear which rules apply", pk.Kind, first)
			continue
		}
		seen[pk.Kind] = refOf(obj)
		p, ps := pk.Decode(obj)
		*problems = append(*problems, ps...)
		if p != nil && !ps.HasErrors() {
			out = append(out, p)
		}
	}
	return out
}

// applyPolicies runs every policy over a planned binding's role, reports
// refusals against the binding field that produced them, and re-renders
// role.json when a policy filled something in.
func applyPolicies(pb *plannedBinding, b *IdentityBinding, policies []RolePolicy, sink problemSink) bool {
	if len(policies) == 0 {
		return true
	}
	role, ok := pb.role, true
	partition := strings.SplitN(role.ARN, ":", 3)[1]
	for _, p := range policies {
		var findings []Finding
		role, findings = p.Check(role)
		for _, f := range findings {
			field, msg := bindingField(f.Field, role, b, partition), f.Message
			if strings.HasPrefix(field, "spec.policies.wellKnown[") && strings.HasPrefix(f.Field, "inlinePolicies.") {
				// The binding has no field for a rendered statement: say where in the document.
				msg = strings.TrimPrefix(f.Field, "inlinePolicies.") + ": " + msg
			}
			sink.errorf(field, "%s", msg)
			ok = false
		}
	}
	if !ok {
		return false
	}
	roleJSON, err := MarshalJSON(role, true)
	if err != nil {
		sink.errorf("spec.policies", "cannot encode role.json: %v", err)
		return false
	}
	pb.role, pb.roleJSON = role, roleJSON
	return applyPoliciesToTarget(pb, b, policies, sink)
}

// bindingField maps a role.json path to the IdentityBinding field it comes from.
func bindingField(field string, role Role, b *IdentityBinding, partition string) string {
	if f := wellKnownField(field, role, b, partition); f != "" {
		return f
	}
	switch {
	case field == "permissionsBoundary", field == "maxSessionDuration", field == "path", field == "name":
		return "spec.role." + field
	case strings.HasPrefix(field, "inlinePolicies."):
		return "spec.policies.inline." + strings.TrimPrefix(field, "inlinePolicies.")
	case strings.HasPrefix(field, "managedPolicyArns["):
		var i int
		if _, err := fmt.Sscanf(field, "managedPolicyArns[%d]", &i); err == nil && i < len(role.ManagedPolicyARNs) {
			for j, ref := range b.Spec.Policies.Managed {
				if ManagedPolicyARN(partition, ref) == role.ManagedPolicyARNs[i] {
					return fmt.Sprintf("spec.policies.managed[%d]", j)
				}
			}
		}
		return "spec.policies.managed"
	}
	return "spec"
}
