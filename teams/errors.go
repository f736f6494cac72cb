package teams

import (
	"errors"
	"fmt"
	"strings"

	"github.com/m365kit/m365kit/scopes"
)

// Sentinel errors, matched with errors.Is against an [*Error].
var (
	// ErrInvalidInput means an argument or a Message was refused before
	// anything was sent; the error names the input and what is wrong.
	ErrInvalidInput = errors.New("teams: invalid input")
	// ErrMessageTooLarge means a message is over [MaxMessageSize]; it was
	// not sent.
	ErrMessageTooLarge = errors.New("teams: message too large")
	// ErrPermission means the user's token lacks a delegated permission the
	// call needs; [Error].Permission names it. The user (or, where the
	// tenant requires it, an administrator) must consent again.
	ErrPermission = errors.New("teams: missing permission")
	// ErrNotMember means Graph refused access to a team, channel or chat
	// the user is not (or no longer) a member of.
	ErrNotMember = errors.New("teams: not a member")
	// ErrNoChat means FindChat found no chat with exactly those members.
	// Graph cannot create one with ChatMessage.Send: the user has to start
	// the chat in Teams first.
	ErrNoChat = errors.New("teams: no such chat")
)

// Error is the error every function of this package returns. It carries
// what was being done, why it failed and, for Graph failures, the
// underlying [*graphclient.Error] (reach it with errors.As), so
// graphclient's sentinels (ErrNotFound, ErrThrottled, ...) match too.
type Error struct {
	// Op is what was being done: "post to channel", "list chats", ...
	Op string
	// Kind is the package sentinel the error matches (ErrPermission, ...),
	// or nil.
	Kind error
	// Permission is the permission to ask consent for when Kind is
	// ErrPermission.
	Permission *scopes.Permission
	// Detail says what went wrong and what to do, for people.
	Detail string
	// Err is the underlying error, usually a *graphclient.Error.
	Err error
}

// Error returns "teams: <op>: <detail>: <underlying error>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("teams: ")
	b.WriteString(e.Op)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the error's Kind.
func (e *Error) Is(target error) bool {
	return e.Kind != nil && target == e.Kind
}

// invalid returns an ErrInvalidInput error for op.
func invalid(op, format string, args ...any) *Error {
	return &Error{Op: op, Kind: ErrInvalidInput, Detail: fmt.Sprintf(format, args...)}
}
