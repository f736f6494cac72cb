package setup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/scopes"
)

// Tape is an example's -record DIR and -replay DIR flags: record the run's
// exchanges with Entra ID and Graph into a new file in DIR, or answer them
// from the newest recording of the same program in DIR, offline.
type Tape struct {
	name           string
	record, replay string
	pseudonymize   bool
}

// TapeFlags registers -record, -replay and -pseudonymize on fs for the
// program name (recordings are named after it).
func TapeFlags(fs *flag.FlagSet, name string) *Tape {
	t := &Tape{name: name}
	fs.StringVar(&t.record, "record", "", "record every exchange with Entra ID and Graph into a new file in `DIR` (secrets redacted)")
	fs.StringVar(&t.replay, "replay", "", "answer every exchange from the newest recording in `DIR` (or that file); nothing reaches the network")
	fs.BoolVar(&t.pseudonymize, "pseudonymize", false, "with -record: replace names, addresses, subjects and bodies with stand-ins")
	return t
}

// Open applies the parsed flags to env: Record or Replay set. The returned
// function ends the recording: it saves it and prints its path (or why it
// could not) on w; defer it, so a failed run is recorded too (a recording
// of a failure is worth having).
func (t *Tape) Open(env Env, w io.Writer) (Env, func(), error) {
	done := func() {}
	switch {
	case t.record != "" && t.replay != "":
		return env, done, errors.New("-record and -replay: choose one")
	case t.pseudonymize && t.record == "":
		return env, done, errors.New("-pseudonymize: only with -record")
	case t.record != "":
		var secrets []string
		if s := Getenv(env.Getenv)(EnvClientSecret); s != "" {
			secrets = append(secrets, s)
		}
		rec := recording.NewRecorder(recording.Config{Name: t.name, Pseudonymize: t.pseudonymize, Secrets: secrets})
		env.Record = rec
		done = func() {
			path, err := rec.Save(t.record)
			if err != nil {
				fmt.Fprintf(w, "-record: the recording was not saved: %v\n", err)
				return
			}
			fmt.Fprintf(w, "recorded %d exchanges in %s\n", len(rec.Recording().Exchanges), path)
		}
	case t.replay != "":
		path, err := t.replayPath()
		if err != nil {
			return env, done, err
		}
		rec, err := recording.ReadFile(path)
		if err != nil {
			return env, done, err
		}
		env.Replay = recording.NewReplayer(rec)
		fmt.Fprintf(w, "replaying %s (recorded %s)\n", path, rec.Recorded.Format(time.RFC3339))
	}
	return env, done, nil
}

// replayPath is -replay's file: the file named, or the program's newest
// recording in the directory named.
func (t *Tape) replayPath() (string, error) {
	if p, err := recording.Latest(t.replay, t.name); err == nil {
		return p, nil
	}
	return t.replay, nil // a file, or ReadFile says what is wrong
}

// Now is the program's clock for time windows: the recording's start when
// replaying or recording (so a replay asks for the window the recorded run
// asked for), else the wall clock.
func (e Env) Now() time.Time {
	switch {
	case e.Replay != nil:
		return e.Replay.Recording().Recorded
	case e.Record != nil:
		return e.Record.Started()
	}
	return time.Now()
}

// recordClient is the HTTP client for Entra ID: recording (with auth's
// default 30-second timeout), or nil (auth's default).
func (e Env) recordClient() *http.Client {
	if e.Record == nil {
		return nil
	}
	return e.Record.Client(&http.Client{Timeout: 30 * time.Second})
}

// graphOptions are the Graph client's options for a live tenant: its
// traffic recorded, or graphclient's defaults.
func (e Env) graphOptions() []graphclient.Option {
	if e.Record == nil {
		return nil
	}
	return []graphclient.Option{graphclient.WithHTTPClient(e.Record.Client(nil))}
}

// demoSignIn signs Adele in to the demo tenant, through the recorder when
// recording.
func (e Env) demoSignIn(ctx context.Context, d *m365test.Sandbox, features ...scopes.Feature) (*m365test.Session, error) {
	if e.Record != nil {
		e.Record.Label("mode", "demo")
		return d.SignInRecorded(ctx, e.Record, d.Demo.Adele.UserPrincipalName, features...)
	}
	return d.SignIn(ctx, d.Demo.Adele.UserPrincipalName, features...)
}

// connectReplay connects from the recording: the recorded user signs in
// again when the run recorded a sign-in (the demo's); otherwise (a live
// run that resumed from stored tokens) the Graph traffic replays with a
// token source that does not reach Entra, and the recorded token refreshes
// are left unplayed.
func (e Env) connectReplay(ctx context.Context, features ...scopes.Feature) (*Conn, error) {
	rp := e.Replay
	if _, err := m365test.ReplayAppConfig(rp); err == nil {
		s, err := m365test.ReplaySignIn(ctx, rp, features...)
		if err != nil {
			return nil, fmt.Errorf("replayed sign-in: %w", err)
		}
		return &Conn{Graph: s.Graph, User: s.User.Name + " <" + s.User.Username + "> (replayed)", Domain: Domain(s.User.Username)}, nil
	}
	rp.AllowUnplayed()
	gc, err := graphclient.New(graphclient.StaticToken("replayed: no token needed"), graphclient.WithHTTPClient(rp.Client()))
	if err != nil {
		return nil, err
	}
	name, addr, err := whoAmI(ctx, gc)
	if err != nil {
		return nil, err
	}
	return &Conn{Graph: gc, User: name + " <" + addr + "> (replayed)", Domain: Domain(addr)}, nil
}
