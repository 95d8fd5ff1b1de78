package awsapi

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/smithy-go"
)

// IsCode reports whether err is an AWS API error with that code.
func IsCode(err error, code string) bool {
	var ae smithy.APIError
	return err != nil && errors.As(err, &ae) && ae.ErrorCode() == code
}

// ErrorText is "<AWS error code>: <message>" for API errors, else the error.
func ErrorText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return strings.TrimSpace(ae.ErrorCode() + ": " + ae.ErrorMessage())
	}
	return err.Error()
}

// Logf writes one line of an executor's log (nil: no log); mu keeps the
// lines of concurrent calls whole.
func Logf(mu *sync.Mutex, w io.Writer, format string, args ...any) {
	if w == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(w, format, args...)
}
