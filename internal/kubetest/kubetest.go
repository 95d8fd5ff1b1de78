// Package kubetest runs a real Kubernetes API server (etcd + kube-apiserver,
// no controller-manager, no nodes) on loopback ports for tests.
//
// The binaries come from scripts/build-kube-assets.sh (kube-apiserver built from
// the Go module proxy; etcd from the distribution or the proxy). When they are
// missing, Start runs that script; if it fails, Start fails loudly with the
// command to run — the suite never skips silently.
//
// The server is set up for what iambind needs to prove: RBAC authorization,
// an admin bearer token, and ServiceAccount tokens (TokenRequest) signed with a
// key generated at start and issued by an https issuer (Issuer) so trust
// policies can be built for it. Nothing creates namespaces' default
// ServiceAccounts: create what you need.
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Issuer is the ServiceAccount token issuer of every kubetest server. It need not
// resolve: tokens are only decoded and matched against trust policies.
const Issuer = "https://oidc.kubetest.iambind.invalid/id/KUBETEST"

// APIAudience is the audience the API server itself accepts.
const APIAudience = "https://kubernetes.default.svc"

// Server is a running etcd + kube-apiserver pair.
type Server struct {
	// Config authenticates as an admin (group system:masters).
	Config *rest.Config
	// Issuer is the --service-account-issuer (the Issuer constant unless
	// Options set another).
	Issuer string
	// Dir holds the server's files (keys, certificates, logs, etcd data).
	Dir string

	procs      []*proc
	userTokens map[string]string
	// What RestartAPIServer needs to start kube-apiserver again.
	apiserverArgs []string
	apiserverBin  string
	host, token   string
}

// Options change how a server signs and verifies ServiceAccount tokens.
// The zero value is the default: Issuer and a key generated at start.
type Options struct {
	// Users are extra identities (see Start).
	Users []string
	// Issuer is --service-account-issuer (default Issuer).
	Issuer string
	// SigningKeyFile is --service-account-signing-key-file (PEM private key).
	SigningKeyFile string
	// KeyFiles are the --service-account-key-file public keys tokens are
	// verified with (and published at /openid/v1/jwks); default: the
	// signing key's public half.
	KeyFiles []string
	// JWKSURI is --service-account-jwks-uri, the jwks_uri of the server's
	// discovery document (default: the server's own address).
	JWKSURI string
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
}

// stop asks the process to exit (SIGTERM), kills it after grace, and waits
// until it is reaped: Stop and RestartAPIServer both end processes so.
func (p *proc) stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// AssetsDir is where the binaries are looked for: $KUBE_ASSETS, else
// $KUBEBUILDER_ASSETS, else <repo>/.cache/kube-assets.
func AssetsDir() string {
	for _, env := range []string{"KUBE_ASSETS", "KUBEBUILDER_ASSETS"} {
		if dir := os.Getenv(env); dir != "" {
			return dir
		}
	}
	return filepath.Join(repoRoot(), ".cache", "kube-assets")
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// EnsureAssets returns the directory holding etcd and kube-apiserver, building
// them with scripts/build-kube-assets.sh (progress on stderr) when missing.
func EnsureAssets() (string, error) {
	dir := AssetsDir()
	if haveAssets(dir) {
		return dir, nil
	}
	script := filepath.Join(repoRoot(), "scripts", "build-kube-assets.sh")
	fmt.Fprintf(os.Stderr, "kubetest: etcd/kube-apiserver missing in %s; running %s (≈3 min cold)\n", dir, script)
	cmd := exec.Command(script, dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil || !haveAssets(dir) {
		return "", fmt.Errorf("the real-API-server tests need etcd and kube-apiserver in %s and building them failed (%v): run `make kube-assets` (or %s %s) and read its output", dir, err, script, dir)
	}
	return dir, nil
}

func haveAssets(dir string) bool {
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// StartT starts a server for one test and stops it on t.Cleanup. Failing to
// start is fatal. users are extra identities (see Start).
func StartT(t testing.TB, users ...string) *Server {
	t.Helper()
	return StartTWith(t, Options{Users: users})
}

// StartTWith is StartT with Options.
func StartTWith(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := StartWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Start starts etcd and kube-apiserver and waits until the API server is ready.
// Use it from TestMain (one server per test binary) and call Stop at the end.
// Each of users is an extra identity with a bearer token and no group beyond
// system:authenticated, so RBAC grants it nothing until a test binds a role
// to it (a tenant); ForUser gives its client configuration.
func Start(users ...string) (s *Server, err error) { return StartWith(Options{Users: users}) }

// StartWith is Start with Options.
func StartWith(opts Options) (s *Server, err error) {
	users := opts.Users
	assets, err := EnsureAssets()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kubetest-")
	if err != nil {
		return nil, err
	}
	s = &Server{Dir: dir, userTokens: map[string]string{}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := s.start(filepath.Join(assets, "etcd"), "etcd.log",
		"--name=kubetest",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdClient, "--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer, "--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=kubetest="+etcdPeer,
		"--unsafe-no-fsync",
	); err != nil {
		return nil, err
	}

	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	tokenFile := token + `,kubetest-admin,kubetest-admin,"system:masters"` + "\n"
	for i, user := range users {
		if strings.ContainsAny(user, ",\"\n") || user == "" || user == "kubetest-admin" {
			return nil, fmt.Errorf("kubetest: user name %q cannot go in a token file", user)
		}
		ut, err := randomToken()
		if err != nil {
			return nil, err
		}
		s.userTokens[user] = ut
		tokenFile += fmt.Sprintf("%s,%s,kubetest-user-%d\n", ut, user, i)
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(tokenFile), 0o600); err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, "certs")
	s.apiserverBin = filepath.Join(assets, "kube-apiserver")
	s.apiserverArgs = []string{
		"--etcd-servers=" + etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[2]),
		"--cert-dir=" + certDir,
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
		"--api-audiences=" + APIAudience,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	}
	s.host, s.token = fmt.Sprintf("https://127.0.0.1:%d", ports[2]), token
	if err := s.startAPIServer(opts); err != nil {
		return nil, err
	}
	host := s.host
	ca, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
	if err != nil {
		return nil, err
	}
	s.Config = &rest.Config{
		Host:            host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		QPS:             100,
		Burst:           200,
	}
	return s, nil
}

// startAPIServer starts kube-apiserver with the token signing of opts and
// waits until it is ready.
func (s *Server) startAPIServer(opts Options) error {
	if opts.Issuer == "" {
		opts.Issuer = Issuer
	}
	if opts.SigningKeyFile == "" {
		keyFile, pubFile, err := writeSigningKey(s.Dir)
		if err != nil {
			return err
		}
		opts.SigningKeyFile = keyFile
		if len(opts.KeyFiles) == 0 {
			opts.KeyFiles = []string{pubFile}
		}
	}
	if len(opts.KeyFiles) == 0 {
		return fmt.Errorf("kubetest: Options.KeyFiles is required with SigningKeyFile")
	}
	s.Issuer = opts.Issuer
	args := append([]string{}, s.apiserverArgs...)
	args = append(args, "--service-account-issuer="+opts.Issuer, "--service-account-signing-key-file="+opts.SigningKeyFile)
	for _, f := range opts.KeyFiles {
		args = append(args, "--service-account-key-file="+f)
	}
	if opts.JWKSURI != "" {
		args = append(args, "--service-account-jwks-uri="+opts.JWKSURI)
	}
	if err := s.start(s.apiserverBin, "kube-apiserver.log", args...); err != nil {
		return err
	}
	return s.waitReady(s.host, s.token, 90*time.Second)
}

// RestartAPIServer stops kube-apiserver and starts it again (same port,
// certificates and etcd data) with new token signing options, as an
// operator does to switch the signing key during a rotation.
func (s *Server) RestartAPIServer(opts Options) error {
	for i, p := range s.procs {
		if p.cmd.Path != s.apiserverBin {
			continue
		}
		p.stop(20 * time.Second)
		s.procs = append(s.procs[:i], s.procs[i+1:]...)
		break
	}
	return s.startAPIServer(opts)
}

// Client is an admin clientset.
func (s *Server) Client() (*kubernetes.Clientset, error) { return kubernetes.NewForConfig(s.Config) }

// ForToken is a client configuration that authenticates with a bearer token
// (e.g. a ServiceAccount's, from TokenRequest) instead of the admin's.
func (s *Server) ForToken(token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = token
	return cfg
}

// ForUser is the client configuration of one of the users given to Start;
// it panics on a user Start was not given (a test bug).
func (s *Server) ForUser(user string) *rest.Config {
	token, ok := s.userTokens[user]
	if !ok {
		panic("kubetest: no user " + user + " was given to Start")
	}
	return s.ForToken(token)
}

// Stop kills the processes this server started and removes its files.
func (s *Server) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop(10 * time.Second)
	}
	s.procs = nil
	if os.Getenv("KUBETEST_KEEP") == "" {
		_ = os.RemoveAll(s.Dir)
	}
}

func (s *Server) start(bin, logName string, args ...string) error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, logName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Die with the test binary even if it is killed before Stop runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	logf.Close()
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	s.procs = append(s.procs, p)
	return nil
}

func (s *Server) waitReady(host, token string, timeout time.Duration) error {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // only for polling readiness
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		for _, p := range s.procs {
			select {
			case <-p.done:
				name := filepath.Base(p.cmd.Path)
				return fmt.Errorf("%s exited during start-up (%v); log:\n%s", name, p.cmd.ProcessState, s.logTail(name+".log"))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after %s (last: %s); log:\n%s", timeout, last, s.logTail("kube-apiserver.log"))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Server) logTail(name string) string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, name))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func writeSigningKey(dir string) (keyFile, pubFile string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	keyFile, pubFile = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return "", "", err
	}
	return keyFile, pubFile, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// WriteKubeconfig writes a kubeconfig with the server's admin credentials
// to path, for a command that takes --kubeconfig.
func (s *Server) WriteKubeconfig(path string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: s.Config.Host, CertificateAuthorityData: s.Config.CAData}
	cfg.AuthInfos["test"] = &clientcmdapi.AuthInfo{Token: s.Config.BearerToken}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	cfg.CurrentContext = "test"
	return clientcmd.WriteToFile(*cfg, path)
}
