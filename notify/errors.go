package notify

import (
	"errors"

	"github.com/m365kit/m365kit/graphclient"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrUnknownSubscription: the subscription ID is not one the caller
	// stored. A Lookup returns an error matching it for an unknown ID.
	ErrUnknownSubscription = errors.New("notify: unknown subscription")
	// ErrClientState: a notification's clientState does not match the one
	// stored for its subscription; it did not come from Graph.
	ErrClientState = errors.New("notify: clientState mismatch")
	// ErrMalformed: a notification body is not a Graph change-notification
	// collection (bad JSON, missing fields, too large).
	ErrMalformed = errors.New("notify: malformed notification")
	// ErrInvalidInput: an argument or configuration value is empty or
	// malformed; nothing was sent to Graph.
	ErrInvalidInput = errors.New("notify: invalid input")
	// ErrNotFound: Graph no longer has the subscription (it expired or was
	// removed). Errors that match it also match graphclient.ErrNotFound.
	ErrNotFound = errors.New("notify: subscription not found")
)

// Error is the error the package returns. Op names the operation ("Create",
// "Renew", "Handler", ...), Input the offending argument for bad input,
// SubscriptionID the subscription concerned when there is one, and Err the
// cause (often a *graphclient.Error, reachable with errors.As). It never
// carries a clientState or a token. Safe for concurrent reads once
// returned.
type Error struct {
	Op             string
	Input          string
	SubscriptionID string
	Err            error
}

// Error returns "notify: Op[ subscription ID]: [input: ]cause".
func (e *Error) Error() string {
	s := "notify: " + e.Op
	if e.SubscriptionID != "" {
		s += " subscription " + e.SubscriptionID
	}
	s += ": "
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

// Is matches ErrInvalidInput for bad arguments and ErrNotFound when the
// cause is graphclient.ErrNotFound.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalidInput:
		return e.Input != ""
	case ErrNotFound:
		return errors.Is(e.Err, graphclient.ErrNotFound)
	}
	return false
}

// invalid builds the error for a bad argument.
func invalid(op, input, problem string) error {
	return &Error{Op: op, Input: input, Err: errors.New(problem)}
}
