package notify

import (
	"errors"
	"fmt"

	"github.com/m365kit/m365kit/graphclient"
)

// Sentinel errors, matched with errors.Is. The package returns them
// wrapped in an [*Error], whose text names the package, so their own texts
// do not ("notify: Handler: subscription ID: clientState mismatch"). Bad
// input matches graphclient.ErrInvalidInput and a subscription Graph no
// longer has matches graphclient.ErrNotFound: the package declares
// neither again.
var (
	// ErrUnknownSubscription: a notification names a subscription or a
	// registration the Store does not hold. Store.Load returns an error
	// matching it for an unknown ID.
	ErrUnknownSubscription = errors.New("unknown subscription")
	// ErrClientState: a notification's clientState does not match the one
	// stored for its subscription; it did not come from Graph.
	ErrClientState = errors.New("clientState mismatch")
	// ErrMalformed: a notification body is not a Graph change-notification
	// collection (bad JSON, missing fields, too large).
	ErrMalformed = errors.New("malformed notification")
	// ErrClosed: the Handler or Debouncer was shut down.
	ErrClosed = errors.New("shut down")
)

// Error is the error the package returns. Op names the function or
// method ("Create", "Renew", "NewHandler", ...), Input the input at fault
// for bad input ("" otherwise), and Err the cause: a sentinel
// (graphclient.ErrInvalidInput, ErrMalformed, ...) or an underlying error
// (often a *graphclient.Error, reachable with errors.As). It never carries
// a clientState or a token. Safe for concurrent reads once returned.
type Error struct {
	Op    string
	Input string
	Err   error
}

// Error returns "notify: Op: Input: cause" (without Input when it is
// empty).
func (e *Error) Error() string {
	s := "notify: " + e.Op + ": "
	if e.Input != "" {
		s += e.Input + ": "
	}
	if e.Err != nil {
		s += e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// invalid builds the error for bad input: it names the input and matches
// graphclient.ErrInvalidInput.
func invalid(op, input, problem string) error {
	return &Error{Op: op, Input: input, Err: fmt.Errorf("%s: %w", problem, graphclient.ErrInvalidInput)}
}

// subErr wraps err for the subscription id, naming it in the text.
func subErr(op, id string, err error) error {
	return &Error{Op: op, Err: fmt.Errorf("subscription %s: %w", id, err)}
}
