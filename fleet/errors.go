package fleet

import (
	"errors"
	"fmt"
	"strings"

	"github.com/m365kit/m365kit/graphclient"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrUnknownAccount means no connected account has the ID.
	ErrUnknownAccount = errors.New("unknown account")
)

// Error is the error fleet's functions and methods return. Op names the
// function or method, Input the argument at fault for bad input ("" when
// none), Err the cause: for bad input an error wrapping
// graphclient.ErrInvalidInput, else a sentinel (ErrUnknownAccount) or an
// underlying error (a database error, an *auth.Error, a
// *graphclient.Error). Safe for concurrent reads once returned.
type Error struct {
	Op    string // "Connect", "New", ...
	Input string // "Account.ID", "Config.Sink", ... or ""
	Err   error
}

// Error returns "fleet: Op: [Input: ]cause".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fleet: ")
	b.WriteString(e.Op)
	if e.Input != "" {
		b.WriteString(": ")
		b.WriteString(e.Input)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// invalid builds the error for bad input: problem says what is wrong.
// It matches graphclient.ErrInvalidInput.
func invalid(op, input, problem string) error {
	return &Error{Op: op, Input: input, Err: fmt.Errorf("%s: %w", problem, graphclient.ErrInvalidInput)}
}
