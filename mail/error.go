package mail

import (
	"errors"
	"strconv"
)

// ErrInvalidInput matches every *Error: the caller passed something the
// package cannot use. Match it with errors.Is.
var ErrInvalidInput = errors.New("mail: invalid input")

// Error reports bad input: which input and what is wrong with it. Errors
// from Graph are not of this type; they wrap *graphclient.Error.
type Error struct {
	// Input names the input at fault, such as "SyncRequest.Folder" or
	// "address".
	Input string
	// Problem says what is wrong with it.
	Problem string
}

// Error returns "mail: <input>: <problem>".
func (e *Error) Error() string {
	return "mail: " + e.Input + ": " + e.Problem
}

// Is reports whether target is ErrInvalidInput.
func (e *Error) Is(target error) bool { return target == ErrInvalidInput }

// quote quotes s for an error message, shortened to 80 bytes.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
