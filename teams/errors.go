package teams

import (
	"errors"
	"fmt"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/scopes"
)

// Sentinel errors of this package, matched with errors.Is through an
// [*Error], whose text names the package: theirs do not. Bad input matches [graphclient.ErrInvalidInput], and Graph
// failures match graphclient's sentinels (ErrNotFound, ErrThrottled, ...).
var (
	// ErrMessageTooLarge means a message is over [MaxMessageSize]; it was
	// not sent.
	ErrMessageTooLarge = errors.New("message too large")
	// ErrPermission means the user's token lacks a delegated permission the
	// call needs; [MissingPermission] names it. The user (or, where the
	// tenant requires it, an administrator) must consent again.
	ErrPermission = errors.New("missing permission")
	// ErrNotMember means Graph refused access to a team, channel or chat
	// the user is not (or no longer) a member of.
	ErrNotMember = errors.New("not a member")
	// ErrNoChat means FindChat found no chat with exactly those members.
	// Graph cannot create one with ChatMessage.Send: the user has to start
	// the chat in Teams first.
	ErrNoChat = errors.New("no such chat")
)

// Error is the error every function of this package returns. Op names the
// method, Input the input at fault for bad input ("" otherwise), and Err is
// the cause: for bad input an error wrapping [graphclient.ErrInvalidInput];
// for a Graph failure an explanation for people that wraps the
// [*graphclient.Error] (reach it with errors.As) and, where it applies,
// one of this package's sentinels. An Error is safe for concurrent reads
// once returned.
type Error struct {
	Op    string // the method, e.g. "PostToChannel", "Chats"
	Input string // the input at fault, e.g. "Message.Subject"; "" when none
	Err   error  // the cause
}

// Error returns "teams: Op: [Input: ]cause".
func (e *Error) Error() string {
	s := "teams: " + e.Op + ": "
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

// MissingPermission returns the delegated permission a failed call lacked,
// when err matches [ErrPermission]: ask the user (or an administrator) to
// consent to it.
func MissingPermission(err error) (scopes.Permission, bool) {
	var c *cause
	if errors.As(err, &c) && c.perm != nil {
		return *c.perm, true
	}
	return scopes.Permission{}, false
}

// cause explains a failure for people (detail), matches the package
// sentinel kind (may be nil) and wraps the underlying error (may be nil).
type cause struct {
	detail string
	kind   error
	perm   *scopes.Permission // for ErrPermission
	err    error
}

func (c *cause) Error() string {
	if c.err == nil {
		return c.detail
	}
	return c.detail + ": " + c.err.Error()
}

func (c *cause) Unwrap() []error {
	var out []error
	for _, e := range []error{c.kind, c.err} {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// invalid returns an error for a bad input of op.
func invalid(op, input, format string, args ...any) *Error {
	return &Error{Op: op, Input: input, Err: fmt.Errorf(format+": %w", append(args, graphclient.ErrInvalidInput)...)}
}

// errNoClient is the cause when a Service has no Graph client.
var errNoClient = fmt.Errorf("teams.New was given a nil *graphclient.Client: %w", graphclient.ErrInvalidInput)
