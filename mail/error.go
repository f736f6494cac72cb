package mail

import (
	"fmt"
	"strconv"

	"github.com/m365kit/m365kit/graphclient"
)

// Error is the error every function of the package returns. Op names the
// method or function, Input names the input at fault for bad input (""
// otherwise), Err is the cause: for bad input an error wrapping
// [graphclient.ErrInvalidInput] (nothing was sent), else usually a
// [*graphclient.Error], reachable with errors.As, so graphclient's
// sentinels (ErrNotFound, ErrThrottled, ErrForbidden, ...) match through
// it. Safe for concurrent reads.
type Error struct {
	Op    string // the method or function, e.g. "Sync", "ParseAddress"
	Input string // the input at fault, e.g. "SyncRequest.Folder"; "" when none
	Err   error  // the cause
}

// Error returns "mail: Op: [Input: ]cause".
func (e *Error) Error() string {
	s := "mail: " + e.Op + ": "
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

// failed wraps the error of a Graph call made for op.
func failed(op string, err error) error { return &Error{Op: op, Err: err} }

// errNoClient is the cause when a Service has no Graph client.
var errNoClient = fmt.Errorf("mail.New was given a nil *graphclient.Client: %w", graphclient.ErrInvalidInput)

// quote quotes s for an error message, shortened to 80 bytes.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
