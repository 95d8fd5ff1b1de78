package safety

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/iambind/iambind/generator"
)

// TagCluster records, on a role created from a cluster plan, which cluster's
// Job made it: the name of the operator's IdentityCluster (--cluster). Two
// clusters in one account may both have a namespace team-a; the namespace
// tag alone cannot tell their roles apart.
const TagCluster = "iambind.dev/cluster"

// Home is the cluster the in-cluster Job runs in, as its operator describes
// it (--cluster FILE, mounted from the Job's own namespace): the issuers a
// tenant's plan may trust, and the owner and cluster its roles get. Nothing
// of it comes from a tenant's plan.
type Home struct {
	Clusters []generator.IdentityCluster // sorted by name
}

// LoadHome reads the operator's IdentityCluster files; nil when none is
// given (the Job then trusts the plans' issuers and owners, as before).
func LoadHome(paths []string) (*Home, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	h := &Home{}
	var errs []error
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("--cluster: %w", err))
			continue
		}
		cs, err := generator.ReadClusters(p, data)
		if err != nil {
			errs = append(errs, fmt.Errorf("--cluster: %w", err))
		}
		h.Clusters = append(h.Clusters, cs...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(h.Clusters, func(i, j int) bool { return h.Clusters[i].Metadata.Name < h.Clusters[j].Metadata.Name })
	for i := 1; i < len(h.Clusters); i++ {
		if h.Clusters[i].Metadata.Name == h.Clusters[i-1].Metadata.Name {
			return nil, fmt.Errorf("--cluster: IdentityCluster %s is given twice", h.Clusters[i].Metadata.Name)
		}
	}
	return h, nil
}

// Names are the home clusters' names, sorted.
func (h *Home) Names() []string {
	out := make([]string, len(h.Clusters))
	for i, c := range h.Clusters {
		out[i] = c.Metadata.Name
	}
	return out
}

// Owners are the owners home clusters give their roles, sorted.
func (h *Home) Owners() []string {
	var out []string
	for _, c := range h.Clusters {
		if !slices.Contains(out, c.Spec.Owner) {
			out = append(out, c.Spec.Owner)
		}
	}
	sort.Strings(out)
	return out
}

// ByIssuer is the home cluster of an issuer URL, nil when none.
func (h *Home) ByIssuer(issuer string) *generator.IdentityCluster {
	for i := range h.Clusters {
		if strings.TrimSuffix(h.Clusters[i].Spec.Issuer, "/") == strings.TrimSuffix(issuer, "/") {
			return &h.Clusters[i]
		}
	}
	return nil
}

// byProviderARN is the home cluster whose OIDC provider has that ARN.
func (h *Home) byProviderARN(arn string) *generator.IdentityCluster {
	for i := range h.Clusters {
		c := &h.Clusters[i]
		if generator.OIDCProviderARN(c.Spec.Partition, c.Spec.AccountID, c.Spec.Issuer) == arn {
			return c
		}
	}
	return nil
}

// Admit checks a tenant plan's role against the home clusters and then
// writes onto it what only the operator decides. The trust policy's
// federated principals and the role's OIDC providers must all be home
// clusters' issuers (a tenant cannot make the account trust an issuer it
// controls); the providers are then exactly the home ones with the default
// audience only (a tenant's audience never changes a shared provider); and
// the owner, cluster and namespace tags are the home cluster's and ns,
// whatever role.json said. A trusted namespace is held to the issuers too:
// trust is about tenants' ServiceAccounts, and the issuers are the cluster's.
func (h *Home) Admit(ns string, r *generator.Role) error {
	var home *generator.IdentityCluster
	use := func(c *generator.IdentityCluster) error {
		if home != nil && home.Spec.Owner != c.Spec.Owner {
			return fmt.Errorf("the role trusts the issuers of clusters %s and %s, which have different owners (%s, %s): one role belongs to one owner",
				home.Metadata.Name, c.Metadata.Name, home.Spec.Owner, c.Spec.Owner)
		}
		if home == nil || c.Metadata.Name < home.Metadata.Name {
			home = c
		}
		return nil
	}
	for i, st := range r.TrustPolicy.Statement {
		if st.Effect == "Allow" && !isPodIdentityStatement(st) {
			for kind := range st.Principal {
				if kind != "Federated" {
					return fmt.Errorf("trust policy statement %d trusts a %s principal: a plan may trust only this cluster's issuers and EKS Pod Identity", i+1, kind)
				}
			}
		}
		for _, arn := range st.Principal["Federated"] {
			c := h.byProviderARN(arn)
			if c == nil {
				return fmt.Errorf("trust policy statement %d trusts the identity provider %s, which is not this cluster's issuer (%s): a plan may trust only the issuers the operator configured (--cluster)",
					i+1, arn, strings.Join(h.issuers(), ", "))
			}
			if err := use(c); err != nil {
				return err
			}
		}
		for op, keys := range st.Condition {
			for key := range keys {
				k := strings.ToLower(key)
				if !strings.HasSuffix(k, ":sub") && !strings.HasSuffix(k, ":aud") && !strings.HasSuffix(k, ":amr") {
					continue
				}
				issuer := "https://" + key[:strings.LastIndex(key, ":")]
				if h.ByIssuer(issuer) == nil {
					return fmt.Errorf("trust policy statement %d: condition %s on %s names an issuer that is not this cluster's (%s)", i+1, op, key, strings.Join(h.issuers(), ", "))
				}
			}
		}
	}
	var providers []generator.OIDCProvider
	for _, p := range r.OIDCProviders {
		c := h.ByIssuer(p.URL)
		if c == nil {
			return fmt.Errorf("oidcProviders: %s is not this cluster's issuer (%s): a plan may not create an identity provider (--cluster)", p.URL, strings.Join(h.issuers(), ", "))
		}
		if err := use(c); err != nil {
			return err
		}
		arn := generator.OIDCProviderARN(c.Spec.Partition, c.Spec.AccountID, c.Spec.Issuer)
		if p.ARN != arn {
			return fmt.Errorf("oidcProviders: %s has ARN %s, not %s", p.URL, p.ARN, arn)
		}
		providers = append(providers, generator.OIDCProvider{URL: p.URL, ARN: arn, Audiences: []string{generator.DefaultAudience}})
	}
	r.OIDCProviders = providers
	for j, a := range r.PodIdentityAssociations {
		if c := h.byEKSName(a.Cluster); c == nil {
			return fmt.Errorf("podIdentityAssociations[%d]: EKS cluster %q is not this cluster (spec.eksClusterName of %s)", j, a.Cluster, strings.Join(h.Names(), ", "))
		} else if err := use(c); err != nil {
			return err
		}
	}
	if home == nil {
		home = &h.Clusters[0] // a Pod Identity role names no issuer
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	r.Tags[generator.TagOwner] = home.Spec.Owner
	r.Tags[TagCluster] = home.Metadata.Name
	r.Tags[TagNamespace] = ns
	return nil
}

// Audiences are the audiences a tenant plan's trust policy names for its
// web-identity statements (the aud condition values).
func Audiences(r *generator.Role) []string {
	var out []string
	for _, st := range r.TrustPolicy.Statement {
		for _, keys := range st.Condition {
			for key, values := range keys {
				if strings.HasSuffix(strings.ToLower(key), ":aud") {
					for _, v := range values {
						if !slices.Contains(out, v) {
							out = append(out, v)
						}
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func (h *Home) issuers() []string {
	out := make([]string, len(h.Clusters))
	for i, c := range h.Clusters {
		out[i] = c.Spec.Issuer
	}
	return out
}

func (h *Home) byEKSName(name string) *generator.IdentityCluster {
	for i := range h.Clusters {
		if h.Clusters[i].Spec.EKSClusterName != "" && h.Clusters[i].Spec.EKSClusterName == name {
			return &h.Clusters[i]
		}
	}
	return nil
}

// NameAllowed reports whether a plan of namespace ns may use this role name:
// a tenant's names start with a home cluster's roleNamePrefix, then ns and
// "-", the names its bindings derive. Another namespace's names (team-a
// planning team-b-payments, which team-b's binding payments derives) are
// not a tenant's to take.
func (h *Home) NameAllowed(ns, name string) bool {
	return h.prefixOf(ns, name) != ""
}

// prefixOf is the prefix of ns that name starts with ("" when none).
func (h *Home) prefixOf(ns, name string) string {
	lower := strings.ToLower(name) // IAM role names are case-insensitive
	for _, c := range h.Clusters {
		if p := c.Spec.RoleNamePrefix + ns + "-"; strings.HasPrefix(lower, strings.ToLower(p)) {
			return p
		}
	}
	return ""
}
