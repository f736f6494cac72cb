package calendar

import (
	"errors"

	"github.com/m365kit/m365kit/graphclient"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound: the event, calendar or online meeting does not exist or
	// the user cannot see it. Errors that match it also match
	// graphclient.ErrNotFound.
	ErrNotFound = errors.New("calendar: not found")
	// ErrInvalidInput: an argument was empty, malformed or inconsistent;
	// nothing was sent to Graph.
	ErrInvalidInput = errors.New("calendar: invalid input")
)

// Error is the error every Service method returns. Op names the method,
// Input names the offending argument for bad input, Err is the cause (often
// a *graphclient.Error, reachable with errors.As). Safe for concurrent reads
// once returned.
type Error struct {
	Op    string // "Event", "Sync", …
	Input string // the bad argument, when Err is about input
	Err   error
}

// Error returns "calendar: Op: [input: ]cause".
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

// Is matches ErrNotFound when the cause is graphclient.ErrNotFound, and
// ErrInvalidInput for bad arguments.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return errors.Is(e.Err, graphclient.ErrNotFound)
	case ErrInvalidInput:
		return e.Input != ""
	}
	return false
}

// invalid builds the error for a bad argument.
func invalid(op, input, problem string) error {
	return &Error{Op: op, Input: input, Err: errors.New(problem)}
}

// pageSizeOption checks a requested page size (0: Graph's default) and
// returns the request option that asks Graph for it.
func pageSizeOption(op, input string, n int) ([]graphclient.RequestOption, error) {
	if n < 0 {
		return nil, invalid(op, input, "is negative")
	}
	return []graphclient.RequestOption{graphclient.WithMaxPageSize(n)}, nil
}
