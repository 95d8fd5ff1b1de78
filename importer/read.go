package importer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// ReadFiles adds every object of the given files, directories (recursive
// *.yaml, *.yml, *.json) and "-" (stdin).
func (s *Sources) ReadFiles(paths []string, stdin io.Reader) error {
	for _, p := range paths {
		if p == "-" {
			if err := s.readStream("stdin", stdin); err != nil {
				return err
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("-f %s: %w", p, err)
		}
		var files []string
		if info.IsDir() {
			err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				switch strings.ToLower(filepath.Ext(path)) {
				case ".yaml", ".yml", ".json":
					if !d.IsDir() {
						files = append(files, path)
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("-f %s: %w", p, err)
			}
			sort.Strings(files)
		} else {
			files = []string{p}
		}
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				return err
			}
			err = s.readStream(f, fh)
			fh.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Sources) readStream(origin string, r io.Reader) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bufio.NewReader(r), 4096)
	for i := 0; ; i++ {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", origin, i+1, err)
		}
		if obj == nil {
			continue
		}
		if err := s.Add(origin, obj); err != nil {
			return err
		}
	}
}

// The resources read from a cluster. The peers' CRDs may be absent.
var clusterResources = []struct {
	gvr      schema.GroupVersionResource
	optional bool
}{
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, false},
	{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, false},
	{schema.GroupVersionResource{Group: "identity-manager.io", Version: "v1alpha1", Resource: "workloadidentities"}, true},
	{schema.GroupVersionResource{Group: "irsa-manager.kkb0318.github.io", Version: "v1alpha1", Resource: "irsas"}, true},
}

// ReadCluster adds the ServiceAccounts, pods, namespaces and peer objects
// of a cluster (of one namespace when namespace is set).
func (s *Sources) ReadCluster(ctx context.Context, client dynamic.Interface, namespace string) error {
	for _, r := range clusterResources {
		var cont string
		for {
			list, err := client.Resource(r.gvr).Namespace(namespace).List(ctx, metav1.ListOptions{Limit: 500, Continue: cont})
			if r.optional && (apierrors.IsNotFound(err) || isNoMatch(err)) {
				break // the peer is not installed
			}
			if err != nil {
				return fmt.Errorf("reading the cluster: listing %s: %w", r.gvr.Resource, err)
			}
			for _, it := range list.Items {
				if err := s.Add("cluster", it.Object); err != nil {
					return err
				}
			}
			if cont = list.GetContinue(); cont == "" {
				break
			}
		}
	}
	nsGVR := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	if namespace != "" {
		ns, err := client.Resource(nsGVR).Get(ctx, namespace, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading the cluster: namespace %s: %w", namespace, err)
		}
		return s.Add("cluster", ns.Object)
	}
	list, err := client.Resource(nsGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("reading the cluster: listing namespaces: %w", err)
	}
	for _, it := range list.Items {
		if err := s.Add("cluster", it.Object); err != nil {
			return err
		}
	}
	return nil
}

func isNoMatch(err error) bool {
	return err != nil && strings.Contains(err.Error(), "the server could not find the requested resource")
}

// EKSAPI is the part of the EKS client import uses.
type EKSAPI interface {
	eks.ListPodIdentityAssociationsAPIClient
	DescribePodIdentityAssociation(context.Context, *eks.DescribePodIdentityAssociationInput, ...func(*eks.Options)) (*eks.DescribePodIdentityAssociationOutput, error)
	DescribeCluster(context.Context, *eks.DescribeClusterInput, ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
}

// ReadPodIdentity adds the Pod Identity associations of an EKS cluster,
// for the IdentityCluster identityCluster.
func (s *Sources) ReadPodIdentity(ctx context.Context, client EKSAPI, identityCluster, eksName string) error {
	p := eks.NewListPodIdentityAssociationsPaginator(client, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(eksName)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("EKS cluster %s: ListPodIdentityAssociations: %w", eksName, err)
		}
		for _, a := range page.Associations {
			d, err := client.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(eksName), AssociationId: a.AssociationId})
			if err != nil {
				return fmt.Errorf("EKS cluster %s: DescribePodIdentityAssociation %s: %w", eksName, aws.ToString(a.AssociationId), err)
			}
			as := d.Association
			id := fmt.Sprintf("PodIdentityAssociation %s (%s %s/%s)", aws.ToString(as.AssociationId), eksName, aws.ToString(as.Namespace), aws.ToString(as.ServiceAccount))
			arn, err := ParseRoleARN(aws.ToString(as.RoleArn))
			if err != nil {
				return &ObjectError{"EKS", id, "roleArn", err.Error()}
			}
			ref := Ref{Source: SourcePodIdentity, Object: id, RoleARN: aws.ToString(as.RoleArn), RoleName: arn.Name,
				Subjects:   []Subject{{aws.ToString(as.Namespace), aws.ToString(as.ServiceAccount)}},
				EKSCluster: eksName, IdentityCluster: identityCluster}
			if aws.ToString(as.TargetRoleArn) != "" || aws.ToBool(as.DisableSessionTags) || aws.ToString(as.Policy) != "" {
				s.Unsupported = append(s.Unsupported, fmt.Sprintf("%s: target role, session policy or disabled session tags are not imported", id))
				continue
			}
			s.Refs = append(s.Refs, ref)
		}
	}
	return nil
}
