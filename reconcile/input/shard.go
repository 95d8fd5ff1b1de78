package input

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is --shard I/N: this run reconciles only the part of the plan that
// hashes to I, so N runs (an Indexed Job, a CI matrix) split a large estate
// with no coordination. The key is the account ID when the whole plan spans
// several accounts (an account's reads, prune and rate limit stay in one
// run), else the lower-cased role name (IAM names are case-insensitive).
// Prune in a shard deletes only owned roles whose key hashes to the shard,
// so an owned role that left the plan is pruned by exactly one of the N
// runs, as long as all N read the same plan.
type Shard struct {
	Index, Count int
}

// ParseShard parses "I/N" (0 <= I < N); "" is no sharding (0/1).
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{0, 1}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q must be I/N with 0 <= I < N, e.g. 0/4 (I is 0-based, as JOB_COMPLETION_INDEX)", s)
	}
	return Shard{i, n}, nil
}

// Enabled reports whether the plan is split at all.
func (s Shard) Enabled() bool { return s.Count > 1 }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// owns reports whether key hashes to this shard (FNV-1a 64: stable across
// versions and platforms, which a rolling upgrade of the N runs needs).
func (s Shard) owns(key string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()%uint64(s.Count) == uint64(s.Index)
}

// shardKeys says how the plan is keyed: by account when it spans several.
type shardKeys struct{ byAccount bool }

func (k shardKeys) roleKey(name, arn string) string {
	if k.byAccount {
		_, account, _ := ARNAccount(arn)
		return account
	}
	return strings.ToLower(name)
}

// Filter returns the part of the plan this shard reconciles. The result
// remembers the whole plan's owners and account, so a shard whose part is
// empty still prunes (its share of) the owners' roles in that account.
func (s Shard) Filter(in *Input) *Input {
	if !s.Enabled() {
		return in
	}
	keys := shardKeys{byAccount: len(ByAccount(in)) > 1}
	out := &Input{ServiceAccounts: in.ServiceAccounts, Workloads: in.Workloads}
	if s.Index == 0 {
		// Self-hosted issuers are few and shared by every shard's roles:
		// the first shard publishes them.
		out.Discovery = in.Discovery
	}
	for _, r := range in.Roles {
		if s.owns(keys.roleKey(r.Name, r.ARN)) {
			out.Roles = append(out.Roles, r)
		}
	}
	if keys.byAccount {
		// Whole accounts are this shard's: prune works as unsharded in
		// them, and an account not in this part is not this run's to touch.
		return out
	}
	out.Whole = &WholePlan{owners: in.Owners(), roles: len(in.Roles),
		keep: func(name, arn string) bool { return s.owns(keys.roleKey(name, arn)) }}
	out.Whole.partition, out.Whole.account = PlanAccount(in)
	return out
}

// WholePlan is what a part of a plan (a shard, an account) keeps of the
// whole: prune decisions need the owners of the whole plan and which roles
// the part is responsible for.
type WholePlan struct {
	owners             []string
	partition, account string
	roles              int
	// keep reports whether an observed role (name, ARN) belongs to this
	// part, i.e. whether this part may prune it; nil: all.
	keep func(name, arn string) bool
}

// HasPlan reports whether the input holds a plan: roles of its own, or a
// part of a non-empty plan (a shard whose part happens to be empty).
func (in *Input) HasPlan() bool {
	return len(in.Roles) > 0 || len(in.Discovery) > 0 || (in.Whole != nil && in.Whole.roles > 0)
}

// MayPrune reports whether this input's run is responsible for pruning the
// observed role of that name and ARN.
func (in *Input) MayPrune(name, arn string) bool {
	return in.Whole == nil || in.Whole.keep == nil || in.Whole.keep(name, arn)
}
