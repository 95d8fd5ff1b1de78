package generator

// Render-time injection for EKS Pod Identity (spec.inject with mode
// podIdentity): what the EKS Pod Identity webhook adds to a pod whose
// ServiceAccount has an association, written into the manifests so that a
// pod created before the association reaches the webhook still gets its
// credentials (docs/injection.md). The webhook's rules followed here: the
// containers of eks.amazonaws.com/skip-containers are left alone; a
// container that sets either of the two container-credentials variables
// itself gets neither; the token file variable uses the Windows path
// C:\var\run\... when the pod selects Windows nodes; an existing volume or
// mount named eks-pod-identity-token is not added again. Because the
// webhook skips whatever is already there, a pod iambind injected passes it
// unchanged (no duplicate volume, mount or variable).

import (
	"strings"

	"github.com/iambind/iambind/internal/yamlnode"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// What EKS Pod Identity injection writes.
const (
	PodIdentityTokenVolumeName = "eks-pod-identity-token"
	PodIdentityTokenMountPath  = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
	PodIdentityTokenFileName   = "eks-pod-identity-token"
	PodIdentityTokenFile       = PodIdentityTokenMountPath + "/" + PodIdentityTokenFileName
	// PodIdentityAgentURI is the EKS Pod Identity agent's credentials
	// endpoint on the node's link-local address.
	PodIdentityAgentURI = "http://169.254.170.23/v1/credentials"

	EnvContainerCredentialsFullURI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvContainerAuthTokenFile      = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
)

// tokenProfile is one kind of injection: the token volume, its mount, and
// the variables that name it. IRSA and Pod Identity each have one; the
// marker records which one's volume and mount iambind owns.
type tokenProfile struct {
	volume, mountPath, file string
	// audience is fixed for Pod Identity; "" takes the binding's (IRSA).
	audience string
	// volumeItem and mountItem are the marker items of its volume and mount.
	volumeItem, mountItem string
}

var (
	irsaProfile = &tokenProfile{volume: TokenVolumeName, mountPath: TokenMountPath, file: TokenFileName,
		volumeItem: markerVolume, mountItem: markerMount}
	podIdentityProfile = &tokenProfile{volume: PodIdentityTokenVolumeName, mountPath: PodIdentityTokenMountPath, file: PodIdentityTokenFileName,
		audience: PodIdentityPrincipal, volumeItem: markerPodIdentityVolume, mountItem: markerPodIdentityMount}
	profiles = []*tokenProfile{irsaProfile, podIdentityProfile}
)

// Marker items of the Pod Identity volume and mount.
const (
	markerPodIdentityVolume = "podIdentityVolume"
	markerPodIdentityMount  = "podIdentityMount"
)

// profileOfItem returns the profile whose volume or mount item it is.
func profileOfItem(item string) *tokenProfile {
	for _, p := range profiles {
		if item == p.volumeItem || item == p.mountItem {
			return p
		}
	}
	return nil
}

// credentialsEnv is the last env group: what makes the SDK use the token.
func credentialsEnv(inj *injection, windows bool) []envVar {
	p := inj.profile
	file := p.mountPath + "/" + p.file
	if windows {
		// As the webhook does for pods on Windows nodes.
		file = `C:` + strings.ReplaceAll(file, "/", `\`)
	}
	if p == podIdentityProfile {
		return []envVar{{EnvContainerCredentialsFullURI, PodIdentityAgentURI}, {EnvContainerAuthTokenFile, file}}
	}
	return []envVar{{EnvRoleARN, inj.roleARN}, {EnvTokenFile, file}}
}

// windowsPod reports whether a pod spec selects Windows nodes, the test the
// webhook makes (kubernetes.io/os or the beta label in nodeSelector).
func windowsPod(spec *yaml.Node) bool {
	sel := yamlnode.Get(spec, "nodeSelector")
	for _, k := range []string{"kubernetes.io/os", "beta.kubernetes.io/os"} {
		if v := yamlnode.Get(sel, k); v != nil && v.Kind == yaml.ScalarNode && v.Value == "windows" {
			return true
		}
	}
	return false
}

// audienceOf is the token audience of an injection.
func (inj *injection) tokenAudience() string {
	if inj.profile.audience != "" {
		return inj.profile.audience
	}
	return inj.audience
}
