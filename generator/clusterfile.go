package generator

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

// ReadClusters reads the IdentityCluster objects of a YAML stream (an
// operator's file), fills their defaults and validates them as the function
// does. Other kinds are refused: the file says which clusters are home, and
// nothing else. source names the file in errors.
func ReadClusters(source string, data []byte) ([]IdentityCluster, error) {
	nodes, err := (&kio.ByteReader{Reader: strings.NewReader(string(data)), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var out []IdentityCluster
	var errs []error
	for _, n := range nodes {
		if n.GetKind() != KindCluster || !strings.HasPrefix(n.GetApiVersion(), Group+"/") {
			errs = append(errs, fmt.Errorf("%s: %s %s is not an IdentityCluster", source, n.GetKind(), n.GetName()))
			continue
		}
		var c IdentityCluster
		var problems Problems
		sink := problemSink{ref: ResourceRef{Kind: KindCluster, Name: n.GetName()}, problems: &problems}
		if decodeStrict(n.YNode(), &c, sink) {
			defaultAndValidateCluster(&c, sink)
		}
		for _, p := range problems {
			if p.Severity == SeverityError {
				errs = append(errs, fmt.Errorf("%s: %s", source, p.String()))
			}
		}
		out = append(out, c)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: holds no IdentityCluster", source))
	}
	return out, errors.Join(errs...)
}
