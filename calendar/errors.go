package calendar

import (
	"fmt"

	"github.com/m365kit/m365kit/graphclient"
)

// Error is the error every Service method returns. Op names the method,
// Input names the offending input for bad input ("" otherwise), Err is the
// cause: for bad input an error wrapping [graphclient.ErrInvalidInput],
// else usually a [*graphclient.Error], reachable with errors.As, so
// graphclient's sentinels match through it:
//
//	errors.Is(err, graphclient.ErrInvalidInput) // bad input, nothing sent
//	errors.Is(err, graphclient.ErrNotFound)     // no such event, calendar or meeting
//
// An Error is safe for concurrent reads once returned.
type Error struct {
	Op    string // the method, e.g. "Event", "Sync"
	Input string // the input at fault, e.g. "SyncRequest.Cursor"; "" when none
	Err   error  // the cause
}

// Error returns "calendar: Op: [Input: ]cause".
func (e *Error) Error() string {
	s := "calendar: " + e.Op + ": "
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

// invalid builds the error for a bad input: problem says what is wrong.
func invalid(op, input, problem string) error {
	return &Error{Op: op, Input: input, Err: fmt.Errorf("%s: %w", problem, graphclient.ErrInvalidInput)}
}

// notFound is a cause that matches graphclient.ErrNotFound.
func notFound(msg string) error { return fmt.Errorf("%s: %w", msg, graphclient.ErrNotFound) }

// errNoClient is the cause when a Service has no Graph client.
var errNoClient = fmt.Errorf("calendar.New was given a nil *graphclient.Client: %w", graphclient.ErrInvalidInput)

// pageSizeOption checks a requested page size (0: Graph's default) and
// returns the request option that asks Graph for it.
func pageSizeOption(op, input string, n int) ([]graphclient.RequestOption, error) {
	if n < 0 {
		return nil, invalid(op, input, "is negative")
	}
	return []graphclient.RequestOption{graphclient.WithMaxPageSize(n)}, nil
}
