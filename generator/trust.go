package generator

import (
	"encoding/json"
	"fmt"
	"slices"
)

// PolicyDocument is an IAM policy document as iambind writes trust policies.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string                           `json:"Sid,omitempty"`
	Effect    string                           `json:"Effect"`
	Principal map[string]StringList            `json:"Principal,omitempty"`
	Action    StringList                       `json:"Action"`
	Condition map[string]map[string]StringList `json:"Condition,omitempty"`
}

// StringList is IAM's "a string or a list of strings": it is written as a
// plain string when it holds one value and read from either form.
type StringList []string

func (s StringList) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

func (s *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("must be a string or a list of strings")
	}
	*s = many
	return nil
}

// TrustIssuer is one cluster's view needed to trust its tokens.
type TrustIssuer struct {
	Partition string
	AccountID string
	Issuer    string
}

// Subjects of one binding, split into exact names and globs. Each entry is a
// full token subject such as system:serviceaccount:shop:orders.
type Subjects struct {
	Exact     []string
	Wildcards []string
}

// BuildTrustPolicy builds the AssumeRoleWithWebIdentity trust policy: per
// issuer (in the given order) one statement for exact subjects (StringEquals)
// and one for wildcard subjects (StringLike); each pins the audience.
func BuildTrustPolicy(issuers []TrustIssuer, audience string, subjects Subjects) PolicyDocument {
	exact := slices.Compact(slices.Sorted(slices.Values(subjects.Exact)))
	wild := slices.Compact(slices.Sorted(slices.Values(subjects.Wildcards)))
	doc := PolicyDocument{Version: PolicyVersion, Statement: []Statement{}}
	for _, is := range issuers {
		host := IssuerHostPath(is.Issuer)
		principal := map[string]StringList{"Federated": {OIDCProviderARN(is.Partition, is.AccountID, is.Issuer)}}
		action := StringList{"sts:AssumeRoleWithWebIdentity"}
		if len(exact) > 0 {
			doc.Statement = append(doc.Statement, Statement{
				Effect: "Allow", Principal: principal, Action: action,
				Condition: map[string]map[string]StringList{
					"StringEquals": {host + ":aud": {audience}, host + ":sub": exact},
				},
			})
		}
		if len(wild) > 0 {
			doc.Statement = append(doc.Statement, Statement{
				Effect: "Allow", Principal: principal, Action: action,
				Condition: map[string]map[string]StringList{
					"StringEquals": {host + ":aud": {audience}},
					"StringLike":   {host + ":sub": wild},
				},
			})
		}
	}
	return doc
}
