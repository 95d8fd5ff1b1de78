package reconcile

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/clitest"
	"github.com/iambind/iambind/keygen"
)

func runKeygenCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := clitest.Run(context.Background(), append([]string{"keygen"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestKeygen(t *testing.T) {
	for _, kt := range []string{"rsa", "ec"} {
		t.Run(kt, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			code, out, errOut := runKeygenCLI("--out", dir, "--type", kt, "--bucket", "acme-oidc", "--region", "eu-west-1", "--prefix", "clusters/lab", "--cluster", "lab")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			keyPEM, _ := os.ReadFile(filepath.Join(dir, keygen.SignerKeyFile))
			pubPEM, _ := os.ReadFile(filepath.Join(dir, keygen.SignerPubFile))
			st, err := os.Stat(filepath.Join(dir, keygen.SignerKeyFile))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("private key mode: %v %v", st, err)
			}
			block, _ := pem.Decode(keyPEM)
			priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil || block.Type != "PRIVATE KEY" {
				t.Fatalf("private key: %s %v", block.Type, err)
			}
			pub, err := generator.ParsePublicKeyPEM(string(pubPEM))
			if err != nil {
				t.Fatalf("public key: %v", err)
			}
			switch k := priv.(type) {
			case *rsa.PrivateKey:
				if !k.PublicKey.Equal(pub) || kt != "rsa" {
					t.Error("the public key is not the private key's")
				}
			case *ecdsa.PrivateKey:
				if !k.PublicKey.Equal(pub) || kt != "ec" {
					t.Error("the public key is not the private key's")
				}
			}
			// The printed snippet is a valid IdentityCluster for the function.
			snippet := out[strings.Index(out, "\n---\n")+5:]
			snippet = snippet[:strings.Index(snippet, "\n---\n")+1]
			rendered := render(t, snippet)
			if !strings.Contains(rendered, "iambind.dev/issuer: https://acme-oidc.s3.eu-west-1.amazonaws.com/clusters/lab") {
				t.Errorf("snippet does not render the derived issuer:\n%s", rendered)
			}
			if strings.Contains(out, "PRIVATE") && !strings.Contains(out, "(private, 0600") {
				t.Error("keygen printed private key material")
			}
			// Never overwrite: both files stay as they were.
			code, _, errOut = runKeygenCLI("--out", dir, "--type", kt)
			after, _ := os.ReadFile(filepath.Join(dir, keygen.SignerKeyFile))
			if code != 1 || !strings.Contains(errOut, "already exists") || !bytes.Equal(after, keyPEM) {
				t.Errorf("second keygen: exit %d %s", code, errOut)
			}
		})
	}
}

func TestKeygenBadInputWritesNothing(t *testing.T) {
	for _, args := range [][]string{{"--bucket", "Bad_Bucket"}, {"--prefix", "/lab"}, {"--prefix", "a/../b"}, {"--type", "ed25519"}} {
		dir := filepath.Join(t.TempDir(), "keys")
		code, _, errOut := runKeygenCLI(append([]string{"--out", dir}, args...)...)
		if _, err := os.Stat(dir); code != 1 || err == nil {
			t.Errorf("keygen %v: exit %d (%s), directory created: %v", args, code, errOut, err == nil)
		}
	}
	if code, _, errOut := runKeygenCLI(); code != 1 || !strings.Contains(errOut, "--out") {
		t.Errorf("keygen without --out: exit %d %s", code, errOut)
	}
}
