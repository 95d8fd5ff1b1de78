package discovery

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/change"
	"github.com/iambind/iambind/reconcile/input"
)

func desired(cluster, owner, bucket, prefix string) *input.DiscoveryPlan {
	issuer := generator.DeriveIssuer(bucket, "eu-west-1", prefix)
	return &input.DiscoveryPlan{Cluster: cluster, Owner: owner, Issuer: issuer, Partition: "aws", AccountID: "123456789012",
		ProviderARN: generator.OIDCProviderARN("aws", "123456789012", issuer), Audiences: []string{"sts.amazonaws.com"},
		Bucket: bucket, Region: "eu-west-1", Prefix: prefix,
		Config: []byte(`{"issuer":"` + issuer + `"}` + "\n"), JWKS: []byte(`{"keys":["` + cluster + `"]}` + "\n")}
}

// published is the bucket as a perfect apply of ds leaves it.
func published(ds ...*input.DiscoveryPlan) *ObservedBucket {
	ob := &ObservedBucket{Name: ds[0].Bucket, Exists: true, Region: ds[0].Region,
		Tags:         map[string]string{generator.TagOwner: ds[0].Owner, generator.TagManagedBy: "iambind"},
		PublicAccess: &PublicAccess{BlockPublicAcls: true, IgnorePublicAcls: true}, Objects: map[string]*ObservedObject{}}
	var res []string
	for _, d := range ds {
		for k, body := range d.Objects() {
			ob.Objects[k] = &ObservedObject{Body: body, ContentType: ContentType, Owner: d.Owner}
			res = append(res, objectARN("aws", d.Bucket, k))
		}
	}
	slices.Sort(res)
	doc, _, _ := mergePolicy("", publicReadStatement(res))
	ob.Policy = doc
	return ob
}

func opsOf(bc BucketChange) []string {
	var out []string
	for _, a := range bc.Actions {
		s := string(a.Op)
		if a.Key != "" {
			s += " " + a.Key
		}
		out = append(out, s)
	}
	return out
}

func TestDiff(t *testing.T) {
	lab := desired("lab", "lab", "acme-oidc", "clusters/lab")
	othersStatement := `{"Sid":"Logs","Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::acme-oidc/logs/*"}`
	cases := []struct {
		name    string
		plans   []*input.DiscoveryPlan
		bucket  func() *ObservedBucket
		opts    Options
		kind    change.Kind
		ops     []string
		adopt   bool
		errFrag string
		check   func(t *testing.T, bc BucketChange)
	}{
		{name: "absent bucket is created, tagged, ACL-blocked, then published", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket { return nil },
			kind: KindCreate, ops: []string{"CreateBucket", "PutBucketTagging", "PutPublicAccessBlock",
				"PutObject clusters/lab/.well-known/openid-configuration", "PutObject clusters/lab/keys.json", "PutBucketPolicy"}},
		{name: "in sync", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket { return published(lab) }, kind: KindNoChange},
		{name: "JWKS edited out of band", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Objects["clusters/lab/keys.json"].Body = []byte(`{"keys":[]}`)
			return ob
		}, kind: KindUpdate, ops: []string{"PutObject clusters/lab/keys.json"}},
		{name: "content type drift", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Objects["clusters/lab/.well-known/openid-configuration"].ContentType = "binary/octet-stream"
			return ob
		}, kind: KindUpdate, ops: []string{"PutObject clusters/lab/.well-known/openid-configuration"}},
		{name: "object missing", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			delete(ob.Objects, "clusters/lab/keys.json")
			return ob
		}, kind: KindUpdate, ops: []string{"PutObject clusters/lab/keys.json"}},
		{name: "policy removed", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Policy = ""
			return ob
		}, kind: KindUpdate, ops: []string{"PutBucketPolicy"}},
		{name: "our statement widened by hand is repaired, others' kept", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Policy = `{"Version":"2012-10-17","Statement":[` + othersStatement + `,{"Sid":"` + PolicySid + `","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-oidc/*"}]}`
			return ob
		}, kind: KindUpdate, ops: []string{"PutBucketPolicy"}, check: func(t *testing.T, bc BucketChange) {
			doc := bc.Actions[0].Document
			if !strings.Contains(doc, `"Sid":"Logs"`) || strings.Contains(doc, "acme-oidc/*") || !strings.Contains(doc, "clusters/lab/keys.json") {
				t.Errorf("merged policy: %s", doc)
			}
		}},
		{name: "others' statements alone are no drift; Principal AWS:* equals *", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Policy = `{"Version":"2012-10-17","Statement":[` + othersStatement + `,{"Sid":"` + PolicySid + `","Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::acme-oidc/clusters/lab/keys.json","arn:aws:s3:::acme-oidc/clusters/lab/.well-known/openid-configuration"]}]}`
			return ob
		}, kind: KindNoChange},
		{name: "public access block drift", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.PublicAccess = &PublicAccess{true, true, true, true}
			return ob
		}, kind: KindUpdate, ops: []string{"PutPublicAccessBlock"}},
		{name: "untagged bucket is refused", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Tags = nil
			return ob
		}, errFrag: "has no iambind.dev/owner tag"},
		{name: "another owner's bucket is refused", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Tags[generator.TagOwner] = "prod"
			return ob
		}, errFrag: `its iambind.dev/owner tag is "prod"`},
		{name: "adopt keeps the others' tags", plans: []*input.DiscoveryPlan{lab}, opts: Options{Adopt: true}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Tags = map[string]string{"team": "sec"}
			return ob
		}, kind: KindUpdate, adopt: true, ops: []string{"PutBucketTagging"}, check: func(t *testing.T, bc BucketChange) {
			if tags := bc.Actions[0].Tags; tags["team"] != "sec" || tags[generator.TagOwner] != "lab" {
				t.Errorf("tags: %v", tags)
			}
		}},
		{name: "bucket in another region", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Region = "us-east-1"
			return ob
		}, errFrag: "is in region us-east-1"},
		{name: "two clusters share a bucket", plans: []*input.DiscoveryPlan{lab, desired("stage", "lab", "acme-oidc", "clusters/stage")},
			bucket: func() *ObservedBucket { return published(lab) }, kind: KindUpdate,
			ops: []string{"PutObject clusters/stage/.well-known/openid-configuration", "PutObject clusters/stage/keys.json", "PutBucketPolicy"},
			check: func(t *testing.T, bc BucketChange) {
				var doc struct{ Statement []map[string]any }
				_ = json.Unmarshal([]byte(bc.Actions[2].Document), &doc)
				if res, _ := doc.Statement[0]["Resource"].([]any); len(res) != 4 {
					t.Errorf("statement should cover 4 objects: %v", doc.Statement)
				}
			}},
		{name: "two owners for one bucket", plans: []*input.DiscoveryPlan{lab, desired("prod", "prod", "acme-oidc", "clusters/prod")},
			bucket: func() *ObservedBucket { return nil }, errFrag: "one bucket has one owner"},
		{name: "stale documents stay without --prune", plans: []*input.DiscoveryPlan{lab}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Stale = []string{"old/keys.json"}
			return ob
		}, kind: KindNoChange},
		{name: "stale documents go with --prune", plans: []*input.DiscoveryPlan{lab}, opts: Options{Prune: true}, bucket: func() *ObservedBucket {
			ob := published(lab)
			ob.Stale = []string{"old/.well-known/openid-configuration", "old/keys.json"}
			return ob
		}, kind: KindUpdate, ops: []string{"DeleteObject old/.well-known/openid-configuration", "DeleteObject old/keys.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &State{Buckets: map[string]*ObservedBucket{}}
			if ob := c.bucket(); ob != nil {
				st.Buckets[ob.Name] = ob
			}
			p, err := Diff(c.plans, st, c.opts)
			if c.errFrag != "" {
				if err == nil || !strings.Contains(err.Error(), c.errFrag) {
					t.Fatalf("error %v, want one containing %q", err, c.errFrag)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			bc := p.Buckets[0]
			if bc.Kind != c.kind || bc.Adopt != c.adopt || !slices.Equal(opsOf(bc), c.ops) {
				t.Errorf("got %s adopt=%v %q\nwant %s adopt=%v %q", bc.Kind, bc.Adopt, opsOf(bc), c.kind, c.adopt, c.ops)
			}
			if (len(bc.Actions) > 0) != p.HasChanges() || len(bc.Changes) < len(bc.Actions) {
				t.Errorf("every action is shown as a change: %d changes, %d actions", len(bc.Changes), len(bc.Actions))
			}
			if c.check != nil {
				c.check(t, bc)
			}
		})
	}
}

func TestMergePolicyRefusesMalformed(t *testing.T) {
	if _, _, err := mergePolicy(`{"Statement":"x"}`, publicReadStatement(nil)); err == nil {
		t.Error("a Statement that is a string must be an error")
	}
	if _, _, err := mergePolicy(`not json`, publicReadStatement(nil)); err == nil {
		t.Error("a policy that is not JSON must be an error")
	}
}
