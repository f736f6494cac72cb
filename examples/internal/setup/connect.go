package setup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// Env is what an example reads from its surroundings. The zero value reads
// the process environment and starts its own demo when nothing is configured.
// It is a plain value.
type Env struct {
	// Getenv reads a variable; nil means os.Getenv.
	Getenv func(string) string
	// Demo, when set, is the demo tenant used instead of starting one
	// (tests share one between runs to show that a program resumes).
	Demo *m365test.Sandbox
	// BrowserReachesDemo, with Demo set, says the browser reaches the demo's
	// authority itself (the browser tests map login.microsoftonline.com to
	// the fake): the web examples then send it there, as to Microsoft,
	// instead of playing the authority's pages with Server.Browse.
	BrowserReachesDemo bool
	// Record, when set, records every exchange with Entra ID and Graph
	// (the -record flag; see record.go).
	Record *recording.Recorder
	// Replay, when set, answers every exchange from a recording and
	// nothing reaches the network (the -replay flag).
	Replay *recording.Replayer
}

// Conn is a Graph client acting for one user, demo or real. It is safe for
// concurrent use; Close it once when done.
type Conn struct {
	Graph *graphclient.Client
	// User names the user, for display.
	User string
	// Domain is the user's e-mail domain (what counts as internal).
	Domain string
	// Demo is set when the connection is to the demo tenant.
	Demo  *m365test.Sandbox
	close func()
}

// UserID returns the Graph object ID of the connection's user, the key the
// sync workers store rows under.
//
// Graph API: GET /me?$select=id
func (c *Conn) UserID(ctx context.Context) (string, error) {
	req, err := c.Graph.NewRequest(ctx, "GET", "me?$select=id", nil)
	if err != nil {
		return "", err
	}
	var me struct {
		ID string `json:"id"`
	}
	if _, err := c.Graph.Do(req, &me); err != nil {
		return "", fmt.Errorf("GET /me: %w", err)
	}
	return me.ID, nil
}

// Close releases what Connect started.
func (c *Conn) Close() {
	if c.close != nil {
		c.close()
	}
}

// Connect returns a Graph client for features. Without configuration it signs
// Adele in to the demo tenant (e.Demo, or a new one). With M365KIT_* set it
// uses the stored tokens of account (or of the last user who signed in
// through the quickstart).
func (e Env) Connect(ctx context.Context, account string, features ...scopes.Feature) (*Conn, error) {
	if e.Replay != nil {
		return e.connectReplay(ctx, features...)
	}
	cfg, err := Load(e.Getenv)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		d, closeFn := e.Demo, func() {}
		if d == nil {
			if d, err = m365test.Start(); err != nil {
				return nil, err
			}
			closeFn = d.Close
		}
		s, err := e.demoSignIn(ctx, d, features...)
		if err != nil {
			closeFn()
			return nil, fmt.Errorf("demo sign-in: %w", err)
		}
		user := s.User
		return &Conn{Graph: s.Graph, User: user.Name + " <" + user.Username + "> (demo tenant)", Domain: Domain(user.Username), Demo: d, close: closeFn}, nil
	}
	if account == "" {
		account = cfg.Account()
	}
	if account == "" {
		return nil, errors.New("no signed-in account: sign in once with `go run ./examples/quickstart` (it remembers the account) or pass -account oid.tid")
	}
	store, err := cfg.Store()
	if err != nil {
		return nil, err
	}
	app, err := cfg.App(store, e.recordClient())
	if err != nil {
		return nil, err
	}
	ts := app.TokenSource(account, features...)
	if _, err := ts.Token(ctx); err != nil {
		return nil, fmt.Errorf("account %s: %w", account, err)
	}
	gc, err := graphclient.New(ts, e.graphOptions()...)
	if err != nil {
		return nil, err
	}
	name, addr, err := whoAmI(ctx, gc)
	if err != nil {
		return nil, err
	}
	return &Conn{Graph: gc, User: name + " <" + addr + ">", Domain: Domain(addr)}, nil
}

// whoAmI returns the signed-in user's display name and address (mail, or
// the user principal name when the user has no mailbox).
//
// Graph API: GET /me?$select=displayName,mail,userPrincipalName
func whoAmI(ctx context.Context, gc *graphclient.Client) (name, addr string, err error) {
	var me struct {
		DisplayName       string `json:"displayName"`
		Mail              string `json:"mail"`
		UserPrincipalName string `json:"userPrincipalName"`
	}
	req, err := gc.NewRequest(ctx, "GET", "me?$select=displayName,mail,userPrincipalName", nil)
	if err != nil {
		return "", "", err
	}
	if _, err := gc.Do(req, &me); err != nil {
		return "", "", fmt.Errorf("GET /me: %w", err)
	}
	addr = me.Mail
	if addr == "" {
		addr = me.UserPrincipalName
	}
	return me.DisplayName, addr, nil
}

// Domain returns the domain of an address, lower case, or "".
func Domain(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

// Getenv returns getenv, or os.Getenv when it is nil.
func Getenv(getenv func(string) string) func(string) string {
	if getenv == nil {
		return os.Getenv
	}
	return getenv
}
