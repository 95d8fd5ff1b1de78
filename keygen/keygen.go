// Package keygen writes a ServiceAccount signing key pair for a self-hosted
// issuer (`iambind keygen`) and prints the IdentityCluster and the
// kube-apiserver flags that go with it.
package keygen

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
)

// Files `iambind keygen` writes.
const (
	SignerKeyFile = "sa-signer.key"
	SignerPubFile = "sa-signer.pub"
)

// Options are what keygen writes and prints.
type Options struct {
	// Out is the directory the key pair is written to (created if missing).
	Out string
	// KeyType is rsa (2048-bit, RS256) or ec (P-256, ES256).
	KeyType string
	// Cluster, AccountID, Bucket, Region, Prefix and Issuer fill the
	// printed IdentityCluster.
	Cluster, AccountID, Bucket, Region, Prefix, Issuer string
}

// Run writes the key pair and prints the snippet; it never overwrites a file.
func Run(o Options, stdout io.Writer) error {
	f := &o
	if f.Out == "" {
		return errors.New("keygen: --out DIR is required")
	}
	if f.Bucket != "" {
		if p := generator.BucketNameProblem(f.Bucket); p != "" {
			return fmt.Errorf("keygen: --bucket: %s", p)
		}
	}
	if p := generator.S3PrefixProblem(f.Prefix); p != "" {
		return fmt.Errorf("keygen: --prefix: %s", p)
	}
	key, err := newSigningKey(f.KeyType)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	keyPath, pubPath := filepath.Join(f.Out, SignerKeyFile), filepath.Join(f.Out, SignerPubFile)
	if err := writeKeyPair(f.Out, keyPath, pubPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), pubPEM); err != nil {
		return fmt.Errorf("keygen: %w", err)
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

func printKeygenSnippet(w io.Writer, f *Options, pubPEM, kid, keyPath, pubPath string) {
	bucket, region := or(f.Bucket, "BUCKET"), or(f.Region, "REGION")
	issuer := f.Issuer
	if issuer == "" {
		issuer = generator.DeriveIssuer(bucket, region, f.Prefix)
	}
	absKey, _ := filepath.Abs(keyPath)
	absPub, _ := filepath.Abs(pubPath)
	fmt.Fprintf(w, "# Wrote %s (private, 0600: keep it on the control plane, never in Git)\n", absKey)
	fmt.Fprintf(w, "# and %s (public). Key ID (kid): %s\n", absPub, kid)
	fmt.Fprintln(w, "#")
	fmt.Fprintln(w, "# 1. The IdentityCluster (commit it; during a rotation list both public keys):")
	fmt.Fprintln(w, "---")
	fmt.Fprintf(w, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\nspec:\n  accountID: %q\n", generator.APIVersion, generator.KindCluster, f.Cluster, f.AccountID)
	if f.Issuer != "" {
		fmt.Fprintf(w, "  issuer: %s\n", f.Issuer)
	}
	fmt.Fprintf(w, "  discovery:\n    s3:\n      bucket: %s\n      region: %s\n", bucket, region)
	if f.Prefix != "" {
		fmt.Fprintf(w, "      prefix: %s\n", f.Prefix)
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
