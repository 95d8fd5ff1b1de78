package podidentity

import (
	"strings"
	"testing"
)

const target = "arn:aws:iam::210987654321:role/iambind/shop-orders"

// Chaining settings are created, compared (the policy as a document) and
// updated; the externalId is known after apply until EKS made it.
func TestDiffChainingSettings(t *testing.T) {
	d := desired("prod", "shop", "orders", roleA, "prod")
	d.TargetRoleARN, d.DisableSessionTags, d.Policy = target, true, `{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}`

	p, err := Diff([]*Desired{d}, state(), []string{"prod"}, Options{})
	if err != nil || summary(p) != "create prod/shop/orders" || p.Changes[0].ExternalID != KnownAfterApply {
		t.Fatalf("create: %v %s %+v", err, summary(p), p.Changes)
	}
	var text strings.Builder
	RenderText(&text, p)
	for _, want := range []string{`+ targetRoleArn: "` + target + `"`, `+ disableSessionTags: "true"`, `+ policy: `, "+ externalId: (known after apply)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, text.String())
		}
	}

	// The same settings, the policy spelled differently: no change.
	o := observed("prod", "shop", "orders", roleA, "prod")
	o.TargetRoleARN, o.DisableSessionTags, o.ExternalID = target, true, "ext-1"
	o.Policy = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}`
	p, err = Diff([]*Desired{d}, state(o), []string{"prod"}, Options{})
	if err != nil || summary(p) != "no-change prod/shop/orders" || p.Changes[0].ExternalID != "ext-1" {
		t.Fatalf("in sync: %v %s %+v", err, summary(p), p.Changes)
	}

	// The target removed outside iambind: an update that sets it again.
	o.TargetRoleARN, o.ExternalID = "", ""
	p, err = Diff([]*Desired{d}, state(o), []string{"prod"}, Options{})
	if err != nil || summary(p) != "update prod/shop/orders" || p.Changes[0].Before == nil || p.Changes[0].Before.TargetRoleARN != "" || p.Changes[0].ExternalID != KnownAfterApply {
		t.Fatalf("drift: %v %s %+v", err, summary(p), p.Changes)
	}
	text.Reset()
	RenderText(&text, p)
	if !strings.Contains(text.String(), `~ targetRoleArn: "`+target+`"`) {
		t.Errorf("update text:\n%s", text.String())
	}
}
