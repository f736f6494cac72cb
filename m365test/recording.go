package m365test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest/recording"
	"github.com/m365kit/m365kit/scopes"
)

// SignInRecorded signs a user in as SignIn does, through a new App for
// the demo app registration whose Entra traffic goes through rec, and
// returns a Session whose Graph client's traffic goes through rec too;
// the browser's callback is recorded with rec.Callback. What the Session
// then does is recorded, ready for ReplaySignIn.
func (sb *Sandbox) SignInRecorded(ctx context.Context, rec *recording.Recorder, user string, features ...scopes.Feature) (*Session, error) {
	upn, err := sb.upn("SignInRecorded", user)
	if err != nil {
		return nil, err
	}
	cfg := sb.AppConfig()
	cfg.HTTPClient = rec.Client(cfg.HTTPClient)
	app, err := newSealedApp(cfg)
	if err != nil {
		return nil, err
	}
	browse := func(ctx context.Context, u string) (*http.Request, error) {
		r, err := sb.Server.Browse(ctx, u)
		if err == nil {
			rec.Callback(r)
		}
		return r, err
	}
	return signInWith(ctx, app, rec.Client(sb.Server.HTTPClient()), browse, upn, features)
}

// ReplaySignIn signs the user of a recorded sign-in in again, from the
// recording alone: an App configured as the recorded one was (client ID,
// redirect URI and authority, read from the recorded authorization-code
// grant; the client secret is not in the recording and not needed) over a
// sealed in-memory store, sending everything to rp, with rp.Browse as the
// browser. auth.App validates the ID token rp re-issues as it validates
// Entra's (see package recording, "Replaying a sign-in"). The Session's
// Graph client answers from rp too.
func ReplaySignIn(ctx context.Context, rp *recording.Replayer, features ...scopes.Feature) (*Session, error) {
	cfg, err := ReplayAppConfig(rp)
	if err != nil {
		return nil, err
	}
	app, err := newSealedApp(cfg)
	if err != nil {
		return nil, err
	}
	return signInWith(ctx, app, rp.Client(), rp.Browse, "", features)
}

// ReplayAppConfig returns the auth.Config of the App a recording signed
// in through, reaching rp: ClientID, RedirectURL and Authority from its
// first authorization-code grant, a placeholder client secret,
// HTTPClient rp.Client(); Store is not set.
func ReplayAppConfig(rp *recording.Replayer) (auth.Config, error) {
	for _, x := range rp.Recording().Exchanges {
		if x.Kind != "" || x.Method != http.MethodPost || !strings.HasSuffix(x.URL, "/oauth2/v2.0/token") {
			continue
		}
		form, err := url.ParseQuery(x.Request.Text)
		if err != nil || form.Get("grant_type") != "authorization_code" {
			continue
		}
		u, err := url.Parse(x.URL)
		if err != nil {
			continue
		}
		tenant, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		cred, err := auth.Secret("not recorded: the replay does not check it")
		if err != nil {
			return auth.Config{}, err
		}
		return auth.Config{
			ClientID:    form.Get("client_id"),
			Credential:  cred,
			RedirectURL: form.Get("redirect_uri"),
			Authority:   u.Scheme + "://" + u.Host + "/" + tenant,
			HTTPClient:  rp.Client(),
		}, nil
	}
	return auth.Config{}, errors.New("m365test: the recording holds no sign-in (no authorization-code grant); replay its Graph traffic with graphclient.StaticToken and rp.Client()")
}
