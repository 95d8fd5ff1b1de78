package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/change"
	"github.com/iambind/iambind/reconcile/input"
)

// PolicySid names the bucket policy statement iambind owns: it grants
// anonymous s3:GetObject on exactly the planned discovery documents.
// Every other statement in the policy is left as it is.
const PolicySid = "IambindOIDCDiscoveryPublicRead"

// Op is an S3 API operation an Action performs.
type Op string

// The S3 operations apply may call, in the order they run for one bucket.
const (
	OpCreateBucket    Op = "CreateBucket"
	OpPutBucketTags   Op = "PutBucketTagging"
	OpPutPublicAccess Op = "PutPublicAccessBlock"
	OpPutObject       Op = "PutObject"
	OpPutPolicy       Op = "PutBucketPolicy"
	OpDeleteObject    Op = "DeleteObject"
)

// Kinds of change of a bucket (the vocabulary every room shares).
const (
	KindCreate   = change.Create
	KindUpdate   = change.Update
	KindNoChange = change.NoChange
)

// Action is one S3 write.
type Action struct {
	Op     Op     `json:"op"`
	Bucket string `json:"bucket"`
	Key    string `json:"key,omitempty"`

	Region   string            `json:"-"`
	Body     []byte            `json:"-"` // PutObject
	Metadata map[string]string `json:"-"` // PutObject
	Tags     map[string]string `json:"-"` // CreateBucket, PutBucketTagging: the full tag set
	Document string            `json:"-"` // PutBucketPolicy
}

// Change is one thing that differs. Documents carry a line diff.
type Change = change.Field

// BucketChange is the planned change of one bucket and its documents.
type BucketChange struct {
	Bucket  string      `json:"bucket"`
	Region  string      `json:"region"`
	Owner   string      `json:"owner"`
	Issuers []string    `json:"issuers"`
	Kind    change.Kind `json:"action"`
	Adopt   bool        `json:"adopt,omitempty"`
	Changes []Change    `json:"changes"`
	Actions []Action    `json:"calls"`
}

// Plan is the discovery part of `iambind plan`: one change per bucket.
type Plan struct {
	Buckets []BucketChange `json:"buckets"`
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool {
	if p == nil {
		return false
	}
	for _, b := range p.Buckets {
		if len(b.Actions) > 0 {
			return true
		}
	}
	return false
}

// Count returns how many buckets get each kind of change.
func (p *Plan) Count(kind change.Kind) int {
	if p == nil {
		return 0
	}
	return change.Count(p.Buckets, func(b *BucketChange) change.Kind { return b.Kind }, kind)
}

// Options change what Diff may do.
type Options struct {
	Prune bool // delete discovery documents iambind uploaded that left the plan
	Adopt bool // take over an existing bucket without this owner's tag
}

// Diff compares the planned discovery documents with the observed buckets
// and returns the ordered actions that publish them. It is pure. Refusals
// (a foreign bucket without --adopt, a bucket in another region, two
// owners for one bucket) are returned together; the plan is then not to be
// applied at all.
func Diff(plans []*input.DiscoveryPlan, st *State, opts Options) (*Plan, error) {
	p := &Plan{Buckets: []BucketChange{}}
	var errs []error
	names, groups := ByBucket(plans)
	for _, name := range names {
		bc, err := diffBucket(groups[name], st.Buckets[name], opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.Buckets = append(p.Buckets, bc)
	}
	return p, errors.Join(errs...)
}

func diffBucket(ds []*input.DiscoveryPlan, ob *ObservedBucket, opts Options) (BucketChange, error) {
	first := ds[0]
	bc := BucketChange{Bucket: first.Bucket, Region: first.Region, Owner: first.Owner, Changes: []Change{}, Actions: []Action{}}
	for _, d := range ds {
		bc.Issuers = append(bc.Issuers, d.Issuer)
		if d.Owner != first.Owner || d.Region != first.Region || d.Partition != first.Partition {
			return bc, fmt.Errorf("S3 bucket %s: clusters %s and %s both publish to it with a different owner, region or partition; one bucket has one owner",
				first.Bucket, first.Cluster, d.Cluster)
		}
	}
	if ob == nil {
		ob = &ObservedBucket{Name: first.Bucket}
	}
	act := func(a Action) {
		a.Bucket, a.Region = first.Bucket, first.Region
		bc.Actions = append(bc.Actions, a)
	}
	wantTags := map[string]string{generator.TagOwner: first.Owner, generator.TagManagedBy: generator.ManagedByValue}

	if !ob.Exists {
		bc.Kind = KindCreate
		bc.Changes = append(bc.Changes, Change{Field: "bucket", After: first.Bucket + " (" + first.Region + ")"})
		for _, k := range slices.Sorted(maps.Keys(wantTags)) {
			bc.Changes = append(bc.Changes, Change{Field: "tags." + k, After: wantTags[k]})
		}
		act(Action{Op: OpCreateBucket, Tags: wantTags})
		// Emulators and older endpoints drop CreateBucket's tags: tag again
		// right away, so the bucket is never left looking foreign.
		act(Action{Op: OpPutBucketTags, Tags: wantTags})
		bc.Changes = append(bc.Changes, Change{Field: "publicAccessBlock", After: WantedPublicAccess})
		act(Action{Op: OpPutPublicAccess})
	} else {
		if ob.Region != first.Region {
			return bc, fmt.Errorf("S3 bucket %s is in region %s but the plan puts it in %s: the issuer URL would be wrong; set spec.discovery.s3.region to %s or use another bucket",
				first.Bucket, ob.Region, first.Region, ob.Region)
		}
		owner := ob.Tags[generator.TagOwner]
		if owner != first.Owner {
			if !opts.Adopt {
				current := "it has no " + generator.TagOwner + " tag"
				if owner != "" {
					current = fmt.Sprintf("its %s tag is %q", generator.TagOwner, owner)
				}
				return bc, fmt.Errorf("S3 bucket %s already exists and is not owned by %q (%s): refusing to publish into it; re-run with --adopt to take it over",
					first.Bucket, first.Owner, current)
			}
			bc.Adopt = true
			all := maps.Clone(ob.Tags)
			if all == nil {
				all = map[string]string{}
			}
			maps.Copy(all, wantTags)
			for _, k := range slices.Sorted(maps.Keys(wantTags)) {
				c := Change{Field: "tags." + k, After: wantTags[k]}
				if v, ok := ob.Tags[k]; ok {
					c.Before = v
				}
				bc.Changes = append(bc.Changes, c)
			}
			// PutBucketTagging replaces the whole set: keep the others' tags.
			act(Action{Op: OpPutBucketTags, Tags: all})
		}
		if ob.PublicAccess == nil || *ob.PublicAccess != WantedPublicAccess {
			c := Change{Field: "publicAccessBlock", After: WantedPublicAccess}
			if ob.PublicAccess != nil {
				c.Before = *ob.PublicAccess
			}
			bc.Changes = append(bc.Changes, c)
			act(Action{Op: OpPutPublicAccess})
		}
	}

	var resources []string
	for _, d := range ds {
		objs := d.Objects()
		for _, key := range slices.Sorted(maps.Keys(objs)) {
			resources = append(resources, objectARN(d.Partition, d.Bucket, key))
			body := objs[key]
			cur := ob.Objects[key]
			switch {
			case cur == nil:
				bc.Changes = append(bc.Changes, Change{Field: "objects." + key, After: ContentType, Diff: lineDiff("", string(body))})
			case !bytes.Equal(cur.Body, body):
				bc.Changes = append(bc.Changes, Change{Field: "objects." + key, Before: "differs", After: "planned document",
					Diff: lineDiff(string(cur.Body), string(body))})
			case cur.ContentType != ContentType:
				bc.Changes = append(bc.Changes, Change{Field: "objects." + key + ".contentType", Before: cur.ContentType, After: ContentType})
			case cur.Owner != d.Owner:
				bc.Changes = append(bc.Changes, Change{Field: "objects." + key + ".metadata." + MetaOwner, Before: cur.Owner, After: d.Owner})
			default:
				continue
			}
			act(Action{Op: OpPutObject, Key: key, Body: body, Metadata: map[string]string{MetaOwner: d.Owner, MetaCluster: d.Cluster}})
		}
	}
	slices.Sort(resources)

	policy, changed, err := mergePolicy(ob.Policy, publicReadStatement(resources))
	if err != nil {
		return bc, fmt.Errorf("S3 bucket %s: the existing bucket policy: %w", first.Bucket, err)
	}
	if changed {
		before := ourStatement(ob.Policy)
		bc.Changes = append(bc.Changes, Change{Field: "policy.statement." + PolicySid, Before: before, After: json.RawMessage(mustJSON(publicReadStatement(resources))),
			Diff: lineDiff(prettyJSON(before), prettyJSON(publicReadStatement(resources)))})
		act(Action{Op: OpPutPolicy, Document: policy})
	}

	if opts.Prune {
		for _, key := range ob.Stale {
			bc.Changes = append(bc.Changes, Change{Field: "objects." + key, Before: "no longer planned"})
			act(Action{Op: OpDeleteObject, Key: key})
		}
	}
	if bc.Kind == "" {
		bc.Kind = KindNoChange
		if len(bc.Actions) > 0 {
			bc.Kind = KindUpdate
		}
	}
	return bc, nil
}

func objectARN(partition, bucket, key string) string {
	return "arn:" + partition + ":s3:::" + bucket + "/" + key
}

func publicReadStatement(resources []string) map[string]any {
	res := make([]any, len(resources))
	for i, r := range resources {
		res[i] = r
	}
	return map[string]any{
		"Sid": PolicySid, "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": res,
	}
}

// mergePolicy puts stmt into the policy document current ("" for none) in
// place of the statement with its Sid, keeping every other statement, and
// reports whether that changed anything iambind owns.
func mergePolicy(current string, stmt map[string]any) (string, bool, error) {
	doc := map[string]any{}
	if current != "" {
		dec := json.NewDecoder(strings.NewReader(current))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return "", false, fmt.Errorf("is not a JSON object: %v", err)
		}
	}
	var stmts []any
	switch s := doc["Statement"].(type) {
	case nil:
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	default:
		return "", false, fmt.Errorf("Statement is neither a list nor an object")
	}
	var kept []any
	var ours map[string]any
	for _, s := range stmts {
		if m, ok := s.(map[string]any); ok && m["Sid"] == PolicySid {
			ours = m
			continue
		}
		kept = append(kept, s)
	}
	changed := ours == nil || !sameStatement(ours, stmt)
	doc["Statement"] = append(kept, stmt)
	if doc["Version"] == nil {
		doc["Version"] = generator.PolicyVersion
	}
	out, err := generator.MarshalJSON(doc, false)
	return string(out), changed, err
}

// sameStatement compares statements with single values and one-element
// lists taken as equal, and lists as sets (S3 may normalise either).
func sameStatement(a, b map[string]any) bool {
	return bytes.Equal(mustJSON(normalise(a)), mustJSON(normalise(b)))
}

func normalise(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			out[k] = normalise(x)
		}
		if p, ok := out["Principal"].(map[string]any); ok && len(p) == 1 && p["AWS"] == "*" {
			out["Principal"] = "*"
		}
		return out
	case []any:
		var strs []string
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				return t
			}
			strs = append(strs, s)
		}
		slices.Sort(strs)
		strs = slices.Compact(strs)
		if len(strs) == 1 {
			return strs[0]
		}
		return strs
	}
	return v
}

// ourStatement is iambind's statement in policy, or nil.
func ourStatement(policy string) any {
	if policy == "" {
		return nil
	}
	var doc map[string]any
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return nil
	}
	stmts, _ := doc["Statement"].([]any)
	if m, ok := doc["Statement"].(map[string]any); ok {
		stmts = []any{m}
	}
	for _, s := range stmts {
		if m, ok := s.(map[string]any); ok && m["Sid"] == PolicySid {
			return m
		}
	}
	return nil
}

func mustJSON(v any) []byte {
	b, _ := generator.MarshalJSON(v, false)
	return b
}

func prettyJSON(v any) string {
	if v == nil {
		return ""
	}
	b, _ := generator.MarshalJSON(v, true)
	return string(b) + "\n"
}

// lineDiff is a small line diff (- before, + after) of two documents, with
// unchanged lines kept for context: documents are a few dozen lines.
func lineDiff(before, after string) string {
	a := splitLines(before)
	b := splitLines(after)
	return change.Text(change.Lines(a, b, true))
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
