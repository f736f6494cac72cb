package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/m365test"
)

// The labels the quickstart keeps in a recording, for its replay.
const (
	labelMode    = "mode"    // "demo" or "microsoft"
	labelTenant  = "tenant"  // the tenant admin consent was asked for
	labelDefault = "default" // "team" when the clip went to the first team's first channel
)

// liveClient is the HTTP client for Entra ID and Graph in the live path:
// recording with -record, else nil (the packages' defaults).
func liveClient(rec *recording.Recorder) *http.Client {
	if rec == nil {
		return nil
	}
	return rec.Client(&http.Client{Timeout: 30 * time.Second}) // auth's default timeout
}

// record makes the walker's exchanges go through rec, once demo or live
// has set it up: in the demo, an App for the demo registration and a Graph
// client over the recorder (live passed liveClient already); in both, the
// browser's callbacks recorded and the clock at the recording's start.
func (w *walker) record(rec *recording.Recorder, d *m365test.Sandbox) error {
	if d != nil {
		cfg := d.AppConfig()
		cfg.HTTPClient = rec.Client(cfg.HTTPClient)
		app, err := sealedApp(cfg)
		if err != nil {
			return err
		}
		w.app, w.hc = app, rec.Client(w.hc)
	}
	rec.Label(labelMode, w.sum.Mode)
	rec.Label(labelTenant, w.consentTenant)
	if w.defaultTeam {
		rec.Label(labelDefault, "team")
	}
	browse := w.browse
	w.browse = func(ctx context.Context, who, u string) (*http.Request, func(string), error) {
		r, reply, err := browse(ctx, who, u)
		if err == nil {
			rec.Callback(r)
		}
		return r, reply, err
	}
	w.now = rec.Started()
	return nil
}

// replay sets the walker up to answer everything from rp: the App and the
// consent flow configured as the recorded run's, rp as the browser, the
// clock at the recording's start. Nothing reaches the network.
func (w *walker) replay(rp *recording.Replayer) error {
	rec := rp.Recording()
	cfg, err := m365test.ReplayAppConfig(rp)
	if err != nil {
		return err
	}
	app, err := sealedApp(cfg)
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	flow, err := consent.New(consent.Config{ClientID: cfg.ClientID, RedirectURL: cfg.RedirectURL, StateKey: key})
	if err != nil {
		return err
	}
	w.app, w.flow, w.hc = app, flow, rp.Client()
	w.sum.Mode = rec.Labels[labelMode]
	w.consentTenant = rec.Labels[labelTenant]
	if w.consentTenant == "" {
		w.consentTenant = "organizations"
	}
	w.defaultTeam = rec.Labels[labelDefault] == "team"
	w.browse = func(ctx context.Context, _ string, u string) (*http.Request, func(string), error) {
		r, err := rp.Browse(ctx, u)
		return r, func(string) {}, err
	}
	w.now = rec.Recorded
	fmt.Fprintf(w.out, "m365kit quickstart replaying a %s run recorded %s (offline; nothing leaves this machine).\n", w.sum.Mode, rec.Recorded.Format(time.RFC3339))
	return nil
}

// sealedApp builds an App over an in-memory store sealed with a random key.
func sealedApp(cfg auth.Config) (*auth.App, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	store, err := auth.Sealed(auth.NewMemoryStore(), key)
	if err != nil {
		return nil, err
	}
	cfg.Store = store
	return auth.New(cfg)
}
