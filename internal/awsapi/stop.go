package awsapi

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/smithy-go/middleware"
)

// ErrInterrupted is the error of every AWS call refused because the run
// was asked to stop (SIGTERM or SIGINT) before the call started.
var ErrInterrupted = errors.New("interrupted: iambind was asked to stop before this call started")

// Stop is a run's graceful stop. Once requested, no new AWS call starts
// (every client built by LoadConfig refuses it with ErrInterrupted); calls
// already in flight go on until they finish or the run's context is
// cancelled. The signal handling that requests it lives in cmd/iambind.
type Stop struct {
	once      sync.Once
	requested chan struct{}
}

// NewStop returns a Stop not yet requested.
func NewStop() *Stop { return &Stop{requested: make(chan struct{})} }

// Request asks the run to stop; later calls do nothing.
func (s *Stop) Request() { s.once.Do(func() { close(s.requested) }) }

// Requested reports whether Request was called.
func (s *Stop) Requested() bool {
	select {
	case <-s.requested:
		return true
	default:
		return false
	}
}

type stopKey struct{}

// WithStop returns ctx carrying s, which the calls made with it consult.
func WithStop(ctx context.Context, s *Stop) context.Context {
	return context.WithValue(ctx, stopKey{}, s)
}

// StopRequested reports whether the Stop that ctx carries was requested
// (false when it carries none).
func StopRequested(ctx context.Context) bool {
	s, _ := ctx.Value(stopKey{}).(*Stop)
	return s != nil && s.Requested()
}

// stopGate refuses an operation before it is sent once the run is stopping.
// Initialize runs once per operation, outside the retry loop, so an
// operation already sent is not cut off between its attempts here.
func stopGate(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("iambindStopGate",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if StopRequested(ctx) {
				return middleware.InitializeOutput{}, middleware.Metadata{}, ErrInterrupted
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}
