package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/iambind/iambind/generator"
)

// clusterSet is one IdentityCluster per issuer and account found.
type clusterSet struct {
	byIssuer map[issuerKey]*generator.IdentityCluster
	byName   map[string]*generator.IdentityCluster
}

func (c *clusterSet) list() []*generator.IdentityCluster {
	out := make([]*generator.IdentityCluster, 0, len(c.byName))
	for _, n := range slices.Sorted(maps.Keys(c.byName)) {
		out = append(out, c.byName[n])
	}
	return out
}

var eksIssuer = regexp.MustCompile(`^oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/id/([A-Za-z0-9]+)$`)

// nameClusters names one IdentityCluster per issuer and account: the name
// given with --eks-cluster-name for that EKS cluster's issuer, else one
// derived from the issuer (eks-<region>-<first 8 of the id>), with the
// account appended when an issuer is trusted in several accounts.
func nameClusters(ctx context.Context, opts Options, deps Deps, issuers map[issuerKey]bool, src *Sources) (*clusterSet, error) {
	cs := &clusterSet{byIssuer: map[issuerKey]*generator.IdentityCluster{}, byName: map[string]*generator.IdentityCluster{}}
	keys := slices.SortedFunc(maps.Keys(issuers), func(a, b issuerKey) int {
		return strings.Compare(a.HostPath+"|"+a.Account, b.HostPath+"|"+b.Account)
	})
	accountsOf := map[string]int{}
	for _, k := range keys {
		accountsOf[k.HostPath]++
	}
	// The EKS clusters named on the command line first.
	for _, ic := range slices.Sorted(maps.Keys(opts.EKSClusterNames)) {
		name := opts.EKSClusterNames[ic]
		issuer, err := eksIssuerOf(ctx, deps, name, keys)
		if err != nil {
			return nil, fmt.Errorf("--eks-cluster-name %s=%s: %w", ic, name, err)
		}
		k := issuerKey{Partition: deps.Partition, Account: deps.Account, HostPath: strings.TrimPrefix(issuer, "https://")}
		c := newCluster(ic, k)
		c.Spec.EKSClusterName = name
		if c.Spec.Region == "" {
			c.Spec.Region = deps.EKSRegion
		}
		cs.byIssuer[k] = c
		cs.byName[ic] = c
	}
	for _, k := range keys {
		if cs.byIssuer[k] != nil {
			continue
		}
		base := clusterBaseName(k.HostPath)
		if accountsOf[k.HostPath] > 1 {
			base += "-" + k.Account
		}
		name := base
		for i := 2; cs.byName[name] != nil; i++ {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		c := newCluster(name, k)
		cs.byIssuer[k] = c
		cs.byName[name] = c
	}
	return cs, nil
}

func newCluster(name string, k issuerKey) *generator.IdentityCluster {
	c := &generator.IdentityCluster{APIVersion: generator.APIVersion, Kind: generator.KindCluster,
		Metadata: generator.ObjectMeta{Name: name},
		Spec:     generator.IdentityClusterSpec{AccountID: k.Account, Issuer: k.URL()}}
	if k.Partition != "aws" {
		c.Spec.Partition = k.Partition
	}
	if m := eksIssuer.FindStringSubmatch(k.HostPath); m != nil {
		c.Spec.Region = m[1]
	}
	return c
}

// eksIssuerOf is the OIDC issuer of an EKS cluster: DescribeCluster, else
// (an API without it) the one issuer the imported roles trust.
func eksIssuerOf(ctx context.Context, deps Deps, name string, keys []issuerKey) (string, error) {
	var describeErr error
	if deps.EKS != nil {
		out, err := deps.EKS.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
		if err == nil && out.Cluster != nil && out.Cluster.Identity != nil && out.Cluster.Identity.Oidc != nil {
			if is := aws.ToString(out.Cluster.Identity.Oidc.Issuer); is != "" {
				return is, nil
			}
		}
		describeErr = err
	}
	hosts := map[string]bool{}
	for _, k := range keys {
		hosts[k.HostPath] = true
	}
	if len(hosts) == 1 {
		for h := range hosts {
			return "https://" + h, nil
		}
	}
	return "", fmt.Errorf("cannot tell the cluster's OIDC issuer (DescribeCluster: %v) and the imported roles trust %d issuers", describeErr, len(hosts))
}

var notLabel = regexp.MustCompile(`[^a-z0-9]+`)

// clusterBaseName derives a DNS-1123 name from an issuer's host and path.
func clusterBaseName(hostPath string) string {
	if m := eksIssuer.FindStringSubmatch(hostPath); m != nil {
		id := strings.ToLower(m[3])
		return "eks-" + m[1] + "-" + id[:min(8, len(id))]
	}
	sum := sha256.Sum256([]byte(hostPath))
	base := strings.Trim(notLabel.ReplaceAllString(strings.ToLower(hostPath), "-"), "-")
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	return base + "-" + hex.EncodeToString(sum[:])[:8]
}

// bindingName derives a DNS-1123 label from a role name, unique in its
// namespace (taken holds "<namespace>/<name>").
func bindingName(ns, role string, taken map[string]bool) string {
	base := strings.Trim(notLabel.ReplaceAllString(strings.ToLower(role), "-"), "-")
	if base == "" {
		base = "role"
	}
	if len(base) > 55 {
		base = strings.TrimRight(base[:55], "-")
	}
	name := base
	for i := 2; taken[ns+"/"+name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	taken[ns+"/"+name] = true
	return name
}
