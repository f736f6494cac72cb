package fleet

import (
	"errors"
	"strings"
)

// errInvalidInput is the cause of every bad-input error until the shared
// sentinel lands in graphclient.
var errInvalidInput = errors.New("invalid input")

// Sentinel errors, matched with errors.Is.
var (
	// ErrUnknownAccount means no connected account has the ID.
	ErrUnknownAccount = errors.New("unknown account")
)

// Error is the error fleet's functions and methods return. Op names the
// function or method, Input the argument at fault for bad input ("" when
// none), Err the cause: a sentinel or an underlying error (a database
// error, an *auth.Error, a *graphclient.Error). Safe for concurrent reads
// once returned.
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

// invalid builds the error for bad input.
func invalid(op, input, problem string) error {
	return &Error{Op: op, Input: input, Err: &problemError{problem: problem}}
}

// problemError says what is wrong with an input and matches the invalid
// input sentinel.
type problemError struct{ problem string }

func (p *problemError) Error() string { return p.problem + ": " + errInvalidInput.Error() }
func (p *problemError) Unwrap() error { return errInvalidInput }
