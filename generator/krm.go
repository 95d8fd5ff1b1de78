package generator

import (
	"fmt"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// Process is the KRM entry point: it runs Generate over a ResourceList and
// reports every problem as a result (resourceRef + field.path). It returns
// false when there are errors, so the function exits non-zero; the items are
// then left exactly as they came in.
func Process(rl *fn.ResourceList) (ok bool, err error) { return process(rl, Options{}) }

func process(rl *fn.ResourceList, opts Options) (ok bool, err error) {
	// The KRM SDK panics on YAML aliases in metadata (labels: *x) when
	// Generate reads them; report that as an error result instead of a
	// stack trace. Such reads happen before anything is changed, so the
	// items are still the input.
	defer func() {
		if r := recover(); r != nil {
			rl.Results = fn.Results{{Severity: fn.Error, Message: fmt.Sprintf(
				"iambind: cannot process the input (%v); if it uses YAML anchors and aliases in metadata, write the values out", r)}}
			ok, err = false, nil
		}
	}()
	out := GenerateWith(rl.Items, rl.FunctionConfig, opts)
	if out.bystandersNeeded {
		return false, ErrBystandersNeeded
	}
	rl.Items = out.Items
	// Results that came in belong to an earlier run; keeping them would make
	// a re-run over our own output differ from the first run.
	rl.Results = nil
	for _, p := range out.Problems {
		rl.Results = append(rl.Results, toResult(p))
	}
	if out.Problems.HasErrors() {
		return false, nil
	}
	rl.Results = append(rl.Results, &fn.Result{Severity: fn.Info, Message: "iambind: " + out.Summary})
	return true, nil
}

func toResult(p Problem) *fn.Result {
	r := &fn.Result{
		Severity: fn.Severity(p.Severity),
		Message:  p.Message,
		ResourceRef: &fn.ResourceRef{
			APIVersion: p.Resource.APIVersion, Kind: p.Resource.Kind,
			Namespace: p.Resource.Namespace, Name: p.Resource.Name,
		},
	}
	if p.Field != "" {
		r.Field = &fn.Field{Path: p.Field}
	}
	return r
}
