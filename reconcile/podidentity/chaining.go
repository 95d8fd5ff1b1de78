package podidentity

import "github.com/iambind/iambind/reconcile/change"

// KnownAfterApply stands for a value EKS makes when apply creates the
// association (its externalId), in plan output.
const KnownAfterApply = "(known after apply)"

// Settings are an association's chaining settings (spec.podIdentity).
type Settings struct {
	TargetRoleARN      string `json:"targetRoleArn,omitempty"`
	DisableSessionTags bool   `json:"disableSessionTags,omitempty"`
	Policy             string `json:"policy,omitempty"`
}

func observedSettings(o *Observed) Settings {
	return Settings{TargetRoleARN: o.TargetRoleARN, DisableSessionTags: o.DisableSessionTags, Policy: o.Policy}
}

func desiredSettings(d *Desired) Settings {
	return Settings{TargetRoleARN: d.TargetRoleARN, DisableSessionTags: d.DisableSessionTags, Policy: d.Policy}
}

// sameSettings compares settings; policies as documents, since EKS need
// not keep the planned formatting.
func sameSettings(a, b Settings) bool {
	if a.TargetRoleARN != b.TargetRoleARN || a.DisableSessionTags != b.DisableSessionTags {
		return false
	}
	if a.Policy == "" || b.Policy == "" {
		return a.Policy == b.Policy
	}
	same, err := change.SameDocument(a.Policy, b.Policy)
	return err == nil && same
}

// ExternalIDs returns, for each target role, the externalIds of the
// observed associations that chain into it.
func ExternalIDs(state *State) map[string][]string {
	out := map[string][]string{}
	for _, o := range state.Associations {
		if o.TargetRoleARN != "" && o.ExternalID != "" {
			out[o.TargetRoleARN] = append(out[o.TargetRoleARN], o.ExternalID)
		}
	}
	return out
}
