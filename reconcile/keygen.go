package reconcile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/iambind/iambind/generator"
	"github.com/spf13/cobra"
)

// Files `iambind keygen` writes.
const (
	SignerKeyFile = "sa-signer.key"
	SignerPubFile = "sa-signer.pub"
)

type keygenFlags struct {
	out, keyType                                       string
	cluster, accountID, bucket, region, prefix, issuer string
}

func newKeygenCommand(stdout io.Writer) *cobra.Command {
	var f keygenFlags
	cmd := &cobra.Command{
		Use:   "keygen --out DIR [--bucket B --region R [--prefix P]] [--cluster NAME]",
		Short: "Write a ServiceAccount signing key pair for a self-hosted issuer and print the IdentityCluster and kube-apiserver flags",
		Long: `keygen writes DIR/sa-signer.key (the private key, mode 0600: it stays on the
control plane, never in Git) and DIR/sa-signer.pub (the public key, PEM), and prints
the IdentityCluster with the public key filled in and the kube-apiserver flags that
make the cluster sign its ServiceAccount tokens for the issuer iambind publishes.
It never overwrites an existing file.`,
		Example: `  iambind keygen --out /etc/kubernetes/pki/iambind --cluster lab \
      --bucket acme-oidc --region eu-west-1 --prefix clusters/lab
  iambind keygen --out keys --type ec`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runKeygen(&f, stdout) },
	}
	cmd.Flags().StringVar(&f.out, "out", "", "directory to write sa-signer.key and sa-signer.pub to (created if missing)")
	cmd.Flags().StringVar(&f.keyType, "type", "rsa", "key type: rsa (2048-bit, RS256) or ec (P-256, ES256)")
	cmd.Flags().StringVar(&f.cluster, "cluster", "my-cluster", "IdentityCluster name for the snippet")
	cmd.Flags().StringVar(&f.accountID, "account-id", "111122223333", "AWS account ID for the snippet")
	cmd.Flags().StringVar(&f.bucket, "bucket", "", "S3 bucket the issuer is published in")
	cmd.Flags().StringVar(&f.region, "region", "", "the bucket's region")
	cmd.Flags().StringVar(&f.prefix, "prefix", "", "key prefix in the bucket, without leading or trailing /")
	cmd.Flags().StringVar(&f.issuer, "issuer", "", "issuer URL when it is not the bucket's own (a CDN in front of it)")
	return cmd
}

func runKeygen(f *keygenFlags, stdout io.Writer) error {
	if f.out == "" {
		return fail(errors.New("keygen: --out DIR is required"))
	}
	if f.bucket != "" {
		if p := generator.BucketNameProblem(f.bucket); p != "" {
			return fail(fmt.Errorf("keygen: --bucket: %s", p))
		}
	}
	if p := generator.S3PrefixProblem(f.prefix); p != "" {
		return fail(fmt.Errorf("keygen: --prefix: %s", p))
	}
	key, err := newSigningKey(f.keyType)
	if err != nil {
		return fail(fmt.Errorf("keygen: %w", err))
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fail(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fail(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	keyPath, pubPath := filepath.Join(f.out, SignerKeyFile), filepath.Join(f.out, SignerPubFile)
	if err := writeKeyPair(f.out, keyPath, pubPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), pubPEM); err != nil {
		return fail(fmt.Errorf("keygen: %w", err))
	}
	kid, _ := generator.KeyID(key.Public())
	printKeygenSnippet(stdout, f, string(pubPEM), kid, keyPath, pubPath)
	return nil
}

func newSigningKey(kind string) (crypto.Signer, error) {
	switch kind {
	case "rsa":
		return rsa.GenerateKey(rand.Reader, generator.MinRSABits)
	case "ec":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("--type %q: use rsa or ec", kind)
}

// writeKeyPair creates both files exclusively: an existing key is never
// overwritten (it may be the one the cluster signs with), and a failure
// leaves neither file behind.
func writeKeyPair(dir, keyPath, pubPath string, keyPEM, pubPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, p := range []string{keyPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s already exists: refusing to overwrite a key (move it away, or choose another --out)", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := writeExclusive(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeExclusive(pubPath, pubPEM, 0o644); err != nil {
		os.Remove(keyPath)
		return err
	}
	return nil
}

func writeExclusive(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func printKeygenSnippet(w io.Writer, f *keygenFlags, pubPEM, kid, keyPath, pubPath string) {
	bucket, region := or(f.bucket, "BUCKET"), or(f.region, "REGION")
	issuer := f.issuer
	if issuer == "" {
		issuer = generator.DeriveIssuer(bucket, region, f.prefix)
	}
	absKey, _ := filepath.Abs(keyPath)
	absPub, _ := filepath.Abs(pubPath)
	fmt.Fprintf(w, "# Wrote %s (private, 0600: keep it on the control plane, never in Git)\n", absKey)
	fmt.Fprintf(w, "# and %s (public). Key ID (kid): %s\n", absPub, kid)
	fmt.Fprintln(w, "#")
	fmt.Fprintln(w, "# 1. The IdentityCluster (commit it; during a rotation list both public keys):")
	fmt.Fprintln(w, "---")
	fmt.Fprintf(w, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\nspec:\n  accountID: %q\n", generator.APIVersion, generator.KindCluster, f.cluster, f.accountID)
	if f.issuer != "" {
		fmt.Fprintf(w, "  issuer: %s\n", f.issuer)
	}
	fmt.Fprintf(w, "  discovery:\n    s3:\n      bucket: %s\n      region: %s\n", bucket, region)
	if f.prefix != "" {
		fmt.Fprintf(w, "      prefix: %s\n", f.prefix)
	}
	fmt.Fprintln(w, "    publicKeys:\n      - |")
	for _, line := range strings.Split(strings.TrimSpace(pubPEM), "\n") {
		fmt.Fprintf(w, "        %s\n", line)
	}
	fmt.Fprintln(w, "---")
	fmt.Fprintln(w, "# 2. kube-apiserver flags (then `iambind apply` publishes the issuer):")
	fmt.Fprintf(w, "#   --service-account-issuer=%s\n", issuer)
	fmt.Fprintf(w, "#   --service-account-jwks-uri=%s/%s\n", issuer, generator.JWKSPath)
	fmt.Fprintf(w, "#   --service-account-key-file=%s\n", absPub)
	fmt.Fprintf(w, "#   --service-account-signing-key-file=%s\n", absKey)
	fmt.Fprintf(w, "#   --api-audiences=%s\n", issuer)
	fmt.Fprintln(w, "# Keep the cluster's current issuer as a second --service-account-issuer and its audience in")
	fmt.Fprintln(w, "# --api-audiences while existing tokens expire. Never add sts.amazonaws.com to --api-audiences:")
	fmt.Fprintln(w, "# tokens meant for AWS must not authenticate to the API server.")
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
