package mail

import (
	"errors"
	"strconv"
)

// ErrInvalidInput matches an *Error about bad input: the caller passed
// something the package cannot use, and nothing was sent. Match it with
// errors.Is.
var ErrInvalidInput = errors.New("mail: invalid input")

// Error is the error every function of the package returns. For bad input
// it names the input (Input) and what is wrong with it (Problem) and
// matches ErrInvalidInput. For a failed Graph call it names the operation
// (Op) and wraps the cause (Err, usually a *graphclient.Error, reachable
// with errors.As), so graphclient's sentinels (ErrNotFound, ErrThrottled,
// ErrForbidden, ...) match through it. Safe for concurrent reads.
type Error struct {
	// Op is the operation a Graph failure happened in, such as "message"
	// or "sync inbox"; empty for bad input.
	Op string
	// Input names the input at fault, such as "SyncRequest.Folder" or
	// "address"; empty for Graph failures.
	Input string
	// Problem says what is wrong with Input.
	Problem string
	// Err is the cause of a Graph failure.
	Err error
}

// Error returns "mail: <input>: <problem>" for bad input and
// "mail: <op>: <cause>" for a Graph failure.
func (e *Error) Error() string {
	if e.Err != nil {
		return "mail: " + e.Op + ": " + e.Err.Error()
	}
	return "mail: " + e.Input + ": " + e.Problem
}

// Unwrap returns the cause of a Graph failure, or nil.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidInput and e is about bad input.
func (e *Error) Is(target error) bool { return target == ErrInvalidInput && e.Err == nil }

// failed wraps the error of a Graph call made for op.
func failed(op string, err error) error { return &Error{Op: op, Err: err} }

// quote quotes s for an error message, shortened to 80 bytes.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
