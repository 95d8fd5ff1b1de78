// Package mototest starts a throwaway moto_server on a free loopback port
// for integration tests against IAM.
package mototest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Test credentials moto accepts; never real ones.
const (
	AccessKeyID     = "testing"
	SecretAccessKey = "testing"
	Region          = "us-east-1"
	// AccountID is moto's default account.
	AccountID = "123456789012"
)

// Server is a running moto_server.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	log      *syncBuffer
}

// Start runs moto_server (with AWS managed policies loaded) on a free
// 127.0.0.1 port, waits until it answers and stops it when the test ends.
// A missing moto_server fails the test: it is a required tool, not optional.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartInAccount(t, "")
}

// StartInAccount is Start with moto's default account set (MOTO_ACCOUNT_ID),
// for plans rendered for another account, such as the examples' 111122223333.
func StartInAccount(t testing.TB, account string) *Server {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server is not on PATH: the IAM integration tests need it (install moto[server], e.g. `pip install 'moto[server]'`): %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), log: &syncBuffer{}}
		s.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		s.cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
		if account != "" {
			s.cmd.Env = append(s.cmd.Env, "MOTO_ACCOUNT_ID="+account)
		}
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("starting moto_server: %v", err)
		}
		// Generous: on a loaded 2-core CI machine moto_server has taken ~60 s to start.
		if lastErr = s.waitReady(120 * time.Second); lastErr == nil {
			t.Cleanup(s.stop)
			return s
		}
		s.stop() // lost the port race, or slow: try another port
	}
	t.Fatalf("moto_server did not become ready: %v", lastErr)
	return nil
}

// Env returns the environment a child process needs to talk to this server.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + Region, "AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

// SetEnv sets the test credentials (and the endpoint) for this test.
func (s *Server) SetEnv(t *testing.T) {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_PROFILE", "")
}

// Reset wipes all state of the server (moto's reset API), so tests can
// share one server.
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.Endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("resetting moto: %v", err)
	}
	resp.Body.Close()
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("moto_server exited: %v\n%s", err, s.log.String())
		default:
		}
		resp, err := http.Get(s.Endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			go func() { <-exited }()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not answering on %s after %s\n%s", s.Endpoint, timeout, s.log.String())
}

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	// moto_server may fork workers: end its whole process group (ours alone).
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 50; i++ {
			if syscall.Kill(s.cmd.Process.Pid, 0) != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
