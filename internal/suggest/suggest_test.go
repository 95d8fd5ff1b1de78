package suggest

import (
	"reflect"
	"testing"
)

func TestClosest(t *testing.T) {
	policies := []string{"AmazonS3ReadOnlyAccess", "AmazonS3FullAccess", "AmazonSQSReadOnlyAccess",
		"service-role/AmazonEBSCSIDriverPolicy", "AmazonEBSCSIDriverPolicyV2", "ReadOnlyAccess"}
	fields := []string{"clusters", "serviceAccounts", "policies", "role", "audience", "inject"}
	for _, tc := range []struct {
		word       string
		candidates []string
		want       []string
	}{
		{"AmazonS3ReadOnly", policies, []string{"AmazonS3ReadOnlyAccess"}},
		{"amazons3readonlyaccess", policies, []string{"AmazonS3ReadOnlyAccess"}}, // case only
		{"AmazonS3ReadOnlyAcess", policies, []string{"AmazonS3ReadOnlyAccess"}},
		{"AmazonS3ReadAccess", policies, []string{"AmazonS3FullAccess", "AmazonS3ReadOnlyAccess"}},
		{"AmazonEBSCSIDriverPolicy", policies, []string{"service-role/AmazonEBSCSIDriverPolicy", "AmazonEBSCSIDriverPolicyV2"}},
		{"polices", fields, []string{"policies"}},
		{"serviceAcounts", fields, []string{"serviceAccounts"}},
		{"xyz", fields, nil},
		{"AdministratorAccess", policies, nil},
	} {
		got := Closest(tc.word, tc.candidates, 3)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestPhrase(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{{nil, ""}, {[]string{"a"}, "; did you mean a?"}, {[]string{"a", "b", "c"}, "; did you mean a, b or c?"}} {
		if got := Phrase(tc.in); got != tc.want {
			t.Errorf("Phrase(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
