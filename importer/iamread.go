package importer

import (
	"context"
	"strings"
	"sync"

	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/input"
)

// roleReads is what reading the referenced roles found.
type roleReads struct {
	roles    map[string]*iam.ObservedRole // by lower-cased name
	failed   map[string]error             // a read that failed, by lower-cased name
	strategy iam.ReadStrategy
}

// readRoles reads the named roles with the reads plan uses: the cost model
// of reconcile/iam chooses per-role reads (GetRole, ListAttachedRolePolicies,
// ListRolePolicies, GetRolePolicy) or the account's bulk reads
// (GetAccountAuthorizationDetails and ListRoles, 1,000 roles a page). A role
// whose read fails (access denied) fails alone; when the bulk read is
// refused, the roles are read one by one instead.
func readRoles(ctx context.Context, client *awsiam.Client, names []string, concurrency int, strategy iam.ReadStrategy) (*roleReads, error) {
	rr := &roleReads{roles: map[string]*iam.ObservedRole{}, failed: map[string]error{}}
	if len(names) == 0 {
		return rr, nil
	}
	ob := &iam.Observer{IAM: client, Concurrency: concurrency}
	if strategy == iam.ReadAuto {
		in := &input.Input{}
		for _, n := range names {
			in.Roles = append(in.Roles, &input.DesiredRole{Role: generator.Role{Name: n}})
		}
		cost := iam.ReadCost{Concurrency: concurrency}
		switch cost.Choose(in, false) {
		case iam.ChoosePerRole:
			strategy = iam.ReadPerRole
		case iam.ChooseBulk:
			strategy = iam.ReadBulk
		default:
			strategy = iam.ReadPerRole
			if sum, err := iam.NewAccountSummary(client).Get(ctx); err == nil && cost.PerRole(in) > cost.Bulk(int(sum["Roles"])) {
				strategy = iam.ReadBulk
			}
		}
	}
	if strategy == iam.ReadBulk {
		ob.Strategy = iam.ReadBulk
		state, err := ob.Observe(ctx, &input.Input{}, true)
		if err == nil {
			rr.strategy = iam.ReadBulk
			for _, n := range names {
				if o := state.Role(n); o != nil {
					rr.roles[strings.ToLower(n)] = o
				}
			}
			return rr, nil
		}
		if awsapi.StopRequested(ctx) {
			return nil, err
		}
		// Refused or failed: fall back to reading each role.
	}
	rr.strategy = iam.ReadPerRole
	var mu sync.Mutex
	err := awsapi.ForEach(ctx, concurrency, len(names), func(ctx context.Context, i int) error {
		o, err := ob.ObserveRole(ctx, names[i])
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			if awsapi.StopRequested(ctx) {
				return err
			}
			rr.failed[strings.ToLower(names[i])] = err
		case o != nil:
			rr.roles[strings.ToLower(names[i])] = o
		}
		return nil
	})
	return rr, err
}
