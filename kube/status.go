package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Status annotations written onto each plan ConfigMap after a reconcile, so that
// `kubectl get cm -l iambind.dev/plan=role -o yaml` shows state like a
// controller's status, with no CRD to install.
const (
	AppliedAtAnnotation   = "iambind.dev/applied-at"   // RFC 3339, UTC, of the attempt
	AppliedHashAnnotation = "iambind.dev/applied-hash" // RoleHash of the role.json the attempt was for
	StatusAnnotation      = "iambind.dev/status"       // Synced | Error
	MessageAnnotation     = "iambind.dev/message"      // the error, one line, ≤ MaxMessageLength; "" when Synced
)

// MaxMessageLength bounds the message annotation: enough for an AWS error code and
// the role name, short enough for `kubectl describe`.
const MaxMessageLength = 256

// Phase is the outcome of reconciling one plan.
type Phase string

const (
	Synced Phase = "Synced"
	Error  Phase = "Error"
)

// Status is what WriteStatus records. Time is supplied by the caller (its clock,
// injectable in tests); a zero Time is an error rather than a silent time.Now.
type Status struct {
	Phase    Phase
	RoleJSON string    // the plan's data["role.json"] the attempt applied
	Message  string    // the error for Phase Error; ignored for Synced
	Time     time.Time // when the attempt finished
}

// RoleHash is the full hex SHA-256 of role.json exactly as stored in the
// ConfigMap, so anyone can check it:
//
//	kubectl get cm NAME -o jsonpath='{.data.role\.json}' | sha256sum
func RoleHash(roleJSON string) string {
	sum := sha256.Sum256([]byte(roleJSON))
	return hex.EncodeToString(sum[:])
}

// WriteStatus records status on the plan ConfigMap namespace/name with a JSON
// merge patch that touches only the four status annotations (RBAC cannot limit
// a patch to annotations, so the patch itself is kept that narrow).
func WriteStatus(ctx context.Context, client kubernetes.Interface, namespace, name string, status Status) error {
	patch, err := statusPatch(status)
	if err != nil {
		return fmt.Errorf("status of ConfigMap %s/%s: %w", namespace, name, err)
	}
	_, err = client.CoreV1().ConfigMaps(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "iambind"})
	if err != nil {
		return fmt.Errorf("writing status to ConfigMap %s/%s: %w", namespace, name, err)
	}
	return nil
}

// Current reports whether the ConfigMap already records this outcome (same
// status, message and applied hash), so writing it again would change only
// applied-at: a no-op run then writes nothing and wakes no watcher.
func Current(cm *corev1.ConfigMap, s Status) bool {
	message := ""
	if s.Phase == Error {
		message = shortMessage(s.Message)
	}
	ann := cm.Annotations
	return ann[StatusAnnotation] == string(s.Phase) &&
		ann[MessageAnnotation] == message &&
		ann[AppliedHashAnnotation] == RoleHash(s.RoleJSON) &&
		ann[AppliedAtAnnotation] != ""
}

// Update is one plan ConfigMap's status to record.
type Update struct {
	Namespace, Name string
	Status          Status
}

// DefaultStatusWorkers bounds parallel status writes; the client's rate
// limit (Config) bounds them further.
const DefaultStatusWorkers = 8

// WriteStatuses writes each update with at most workers in flight and returns
// the errors, in the order of updates.
func WriteStatuses(ctx context.Context, client kubernetes.Interface, updates []Update, workers int) []error {
	if workers < 1 {
		workers = 1
	}
	errs := make([]error, len(updates))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(updates)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				u := updates[i]
				errs[i] = WriteStatus(ctx, client, u.Namespace, u.Name, u.Status)
			}
		}()
	}
	for i := range updates {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func statusPatch(s Status) ([]byte, error) {
	if s.Phase != Synced && s.Phase != Error {
		return nil, fmt.Errorf("phase %q is neither %s nor %s", s.Phase, Synced, Error)
	}
	if s.Time.IsZero() {
		return nil, fmt.Errorf("no time given")
	}
	message := ""
	if s.Phase == Error {
		message = shortMessage(s.Message)
	}
	return json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		AppliedAtAnnotation:   s.Time.UTC().Format(time.RFC3339),
		AppliedHashAnnotation: RoleHash(s.RoleJSON),
		StatusAnnotation:      string(s.Phase),
		MessageAnnotation:     message,
	}}})
}

// requestID matches the AWS request ID inside SDK error messages: it differs
// on every attempt, and would make an unchanged failure look new each run.
var requestID = regexp.MustCompile(`RequestID: [^,\s]*,? ?`)

// shortMessage folds the message onto one line, drops AWS request IDs, and
// cuts it to MaxMessageLength bytes on a rune boundary, ending with "…" when cut.
func shortMessage(m string) string {
	m = requestID.ReplaceAllString(m, "")
	m = strings.Join(strings.Fields(m), " ")
	if len(m) <= MaxMessageLength {
		return m
	}
	const ellipsis = "…"
	cut := MaxMessageLength - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + ellipsis
}
