package consent_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

const (
	e2eClientID = "6731de76-14a6-49ae-97bc-6eba6914391e"
	e2eSecret   = "graphtest-secret-value"
	e2eRedirect = "https://app.example.com/microsoft/consent"
)

// world is a fake Microsoft 365 with the vendor's app registered, the
// customer tenant contoso.com with an administrator, and the vendor's Flow.
type world struct {
	srv    *graphtest.Server
	tenant *graphtest.Tenant
	admin  *graphtest.User
	flow   *consent.Flow
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := graphtest.New(t)
	srv.AddApp(graphtest.App{ClientID: e2eClientID, ClientSecret: e2eSecret, RedirectURIs: []string{e2eRedirect}})
	tenant := srv.AddTenant("contoso.com")
	admin := tenant.AddUser("admin@contoso.com", "Megan Bowen", graphtest.Admin())
	flow, err := consent.New(consent.Config{
		ClientID:    e2eClientID,
		RedirectURL: e2eRedirect,
		StateKey:    bytes.Repeat([]byte{7}, 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &world{srv: srv, tenant: tenant, admin: admin, flow: flow}
}

// consentURL is the admin-consent URL for req.
func (w *world) consentURL(t *testing.T, req consent.Request) string {
	t.Helper()
	u, err := w.flow.AdminConsentURL(req)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// browse plays the administrator's browser on u and returns the callback
// request Microsoft redirects it to.
func (w *world) browse(t *testing.T, u string) *http.Request {
	t.Helper()
	cb, err := w.srv.Browse(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

// signIn signs upn in through the fake authority (authorization code with
// PKCE) asking only for the sign-in scopes, and returns an access token and
// the scopes the token response reports, which include everything the
// tenant granted the app, and the tid of the ID token.
func (w *world) signIn(t *testing.T, upn string) (token string, granted []string, tid string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"client_id":             {e2eClientID},
		"response_type":         {"code"},
		"redirect_uri":          {e2eRedirect},
		"scope":                 {strings.Join(scopes.For(scopes.SignIn), " ")},
		"state":                 {"sign-in"},
		"nonce":                 {"n0nce"},
		"login_hint":            {upn},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	cb := w.browse(t, "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?"+q.Encode())
	code := cb.URL.Query().Get("code")
	if code == "" {
		t.Fatalf("sign-in of %s gave no code: %s", upn, cb.URL.RawQuery)
	}
	form := url.Values{
		"client_id":     {e2eClientID},
		"client_secret": {e2eSecret},
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {e2eRedirect},
		"code_verifier": {verifier},
		"scope":         q["scope"],
	}
	resp, err := w.srv.HTTPClient().PostForm("https://login.microsoftonline.com/organizations/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
		IDToken     string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	// The test reads tid without checking the signature; auth validates
	// ID tokens in production.
	parts := strings.Split(tr.IDToken, ".")
	if len(parts) != 3 {
		t.Fatal("no ID token")
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		TID string `json:"tid"`
	}
	_ = json.Unmarshal(payload, &claims)
	return tr.AccessToken, strings.Fields(tr.Scope), claims.TID
}

// graph returns a Graph client for token that reaches the fake.
func (w *world) graph(t *testing.T, token string) *graphclient.Client {
	t.Helper()
	gc, err := graphclient.New(graphclient.StaticToken(token), graphclient.WithHTTPClient(w.srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

func TestEndToEndAdminConsent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)

	// The vendor's site: a start handler and the callback.
	var got *consent.Grant
	var gotErr error
	mux := http.NewServeMux()
	mux.Handle("GET /microsoft/connect", w.flow.StartHandler(nil))
	mux.Handle("GET /microsoft/consent", w.flow.CallbackHandler(func(rw http.ResponseWriter, r *http.Request, g *consent.Grant, err error) {
		got, gotErr = g, err
		if err != nil {
			http.Error(rw, "consent failed", http.StatusBadRequest)
			return
		}
		http.Redirect(rw, r, g.ReturnTo, http.StatusSeeOther)
	}))

	// The administrator clicks "Connect Microsoft 365" for contoso.com.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example.com/microsoft/connect?tenant=contoso.com&return_to=/settings/microsoft", nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	// ... follows the redirect to Microsoft, accepts, and comes back.
	cb := w.browse(t, rec.Header().Get("Location"))
	for _, c := range rec.Result().Cookies() {
		cb.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, cb)
	if gotErr != nil {
		t.Fatalf("callback: %v", gotErr)
	}
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/settings/microsoft" {
		t.Errorf("callback answered %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if got.TenantID != w.tenant.ID || got.TenantVerified || len(got.Missing) != 0 {
		t.Errorf("Grant = %+v", got)
	}
	for _, s := range scopes.AllRecommended().Scopes() {
		if !containsFold(got.Scopes, s) && !isOIDC(s) {
			t.Errorf("Grant lacks %s: %v", s, got.Scopes)
		}
	}
	if !containsFold(w.tenant.Granted(e2eClientID), "Mail.Read") {
		t.Errorf("tenant grants %v, want Mail.Read among them", w.tenant.Granted(e2eClientID))
	}

	// A user of the tenant signs in: now the tenant is verified.
	w.tenant.AddUser("adele@contoso.com", "Adele Vance")
	_, _, tid := w.signIn(t, "adele@contoso.com")
	if err := got.Confirm(tid); err != nil || !got.TenantVerified {
		t.Fatalf("Confirm(%s) = %v", tid, err)
	}
}

func TestEndToEndDeclined(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.DeclineNextConsent()
	cb := w.browse(t, w.consentURL(t, consent.Request{Tenant: w.tenant.ID, Choice: scopes.MailboxAccess(), ReturnTo: "/onboarding"}))
	g, err := w.flow.Complete(cb)
	if g != nil {
		t.Fatalf("declined consent gave a Grant %+v", g)
	}
	var ce *consent.Error
	if !errors.As(err, &ce) || ce.AADSTS() != 65004 || ce.TraceID == "" || ce.CorrelationID == "" || ce.ReturnTo != "/onboarding" {
		t.Fatalf("error = %#v", err)
	}
	if !errors.Is(err, consent.ErrDeclined) {
		t.Error("not ErrDeclined")
	}
	d, ok := consent.Diagnose(err)
	if !ok || d.Code != 65004 || d.Name != "UserDeclinedConsent" || d.Fixer != consent.TenantAdmin || d.Fix == "" {
		t.Errorf("Diagnose = %+v, %v", d, ok)
	}
	if len(w.tenant.Granted(e2eClientID)) != 0 {
		t.Errorf("a declined consent granted %v", w.tenant.Granted(e2eClientID))
	}
}

func TestEndToEndStateRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	req := consent.Request{Features: []scopes.Feature{scopes.Calendar}}

	t.Run("tampered", func(t *testing.T) {
		t.Parallel()
		cb := w.browse(t, w.consentURL(t, req))
		q := cb.URL.Query()
		st := []byte(q.Get("state"))
		st[10] ^= 1 // one bit of the payload
		q.Set("state", string(st))
		cb.URL.RawQuery = q.Encode()
		if _, err := w.flow.Complete(cb); !errors.Is(err, consent.ErrInvalidState) {
			t.Fatalf("tampered state: %v", err)
		}
	})
	t.Run("forged tenant keeps the state", func(t *testing.T) {
		t.Parallel()
		// Swapping the tenant for another one is not caught by the state
		// (it does not cover the redirect), which is why the Grant is
		// unverified until a sign-in: Confirm refuses the mismatch.
		cb := w.browse(t, w.consentURL(t, req))
		q := cb.URL.Query()
		q.Set("tenant", "11112222-3333-4444-5555-666677778888")
		cb.URL.RawQuery = q.Encode()
		g, err := w.flow.Complete(cb)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Confirm(w.tenant.ID); err == nil {
			t.Fatal("Confirm accepted a sign-in from the real tenant for a forged one")
		}
	})
	// The two subtests below move time with testing/synctest. The consent
	// URL is made in one bubble and completed in another: every bubble
	// starts at the same instant, and the browse between them talks to the
	// fake over real sockets, which a bubble cannot wait for.
	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		flow, err := consent.New(consent.Config{ClientID: e2eClientID, RedirectURL: e2eRedirect, StateKey: bytes.Repeat([]byte{7}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		var u string
		synctest.Test(t, func(t *testing.T) { u, _ = flow.AdminConsentURL(req) })
		cb := w.browse(t, u)
		synctest.Test(t, func(t *testing.T) {
			time.Sleep(consent.DefaultStateTTL + time.Second) // the admin went to lunch
			if _, err := flow.Complete(cb); !errors.Is(err, consent.ErrInvalidState) {
				t.Fatalf("expired state: %v", err)
			}
		})
	})
	t.Run("replayed after expiry", func(t *testing.T) {
		t.Parallel()
		flow, err := consent.New(consent.Config{ClientID: e2eClientID, RedirectURL: e2eRedirect, StateKey: bytes.Repeat([]byte{7}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		var u string
		synctest.Test(t, func(t *testing.T) { u, _ = flow.AdminConsentURL(req) })
		cb := w.browse(t, u)
		synctest.Test(t, func(t *testing.T) {
			if _, err := flow.Complete(cb); err != nil {
				t.Fatalf("first use: %v", err)
			}
			time.Sleep(consent.DefaultStateTTL)
			if _, err := flow.Complete(cb); !errors.Is(err, consent.ErrInvalidState) {
				t.Fatalf("replay after expiry: %v", err)
			}
		})
	})
}

func TestEndToEndVerifyNoMailbox(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Mail consented ("Grant access to Mailbox"), but Bob has no Exchange
	// Online mailbox.
	if _, err := w.flow.Complete(w.browse(t, w.consentURL(t, consent.Request{Tenant: "contoso.com", Choice: scopes.MailboxAccess()}))); err != nil {
		t.Fatal(err)
	}
	w.tenant.AddUser("bob@contoso.com", "Bob Kelly", graphtest.NoMailbox())
	token, granted, _ := w.signIn(t, "bob@contoso.com")

	r := consent.Verify(t.Context(), w.graph(t, token), granted, scopes.Mail)
	if r.Ready() {
		t.Fatalf("ready:\n%s", r)
	}
	signIn, _ := r.Check(scopes.SignIn)
	mail, _ := r.Check(scopes.Mail)
	if !signIn.Ready || signIn.Detail != "Bob Kelly (bob@contoso.com)" {
		t.Errorf("sign-in check = %+v", signIn)
	}
	if mail.Ready || len(mail.Missing) != 0 || mail.Diagnosis.GraphCode != "MailboxNotEnabledForRESTAPI" || mail.Diagnosis.Fixer != consent.TenantAdmin {
		t.Errorf("mail check = %+v", mail)
	}
	if !strings.Contains(r.String(), "MailboxNotEnabledForRESTAPI") {
		t.Errorf("report does not name the cause:\n%s", r)
	}
}

func TestEndToEndVerifyMissingChannelMessageSend(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.flow.Complete(w.browse(t, w.consentURL(t, consent.Request{Choice: scopes.AllRecommended()}))); err != nil {
		t.Fatal(err)
	}
	// Later an admin removed "Send channel messages" in the portal.
	w.tenant.Revoke(e2eClientID, "ChannelMessage.Send")
	w.tenant.AddUser("adele@contoso.com", "Adele Vance")
	token, granted, _ := w.signIn(t, "adele@contoso.com")

	r := consent.Verify(t.Context(), w.graph(t, token), granted, scopes.Calendar, scopes.Teams, scopes.Mail)
	want := map[scopes.Feature]bool{scopes.SignIn: true, scopes.Calendar: true, scopes.Teams: false, scopes.Mail: true}
	for _, c := range r.Checks {
		if c.Ready != want[c.Feature] {
			t.Errorf("%s: ready %v, want %v (%s %v)", c.Feature, c.Ready, want[c.Feature], c.Detail, c.Err)
		}
	}
	teams, _ := r.Check(scopes.Teams)
	if len(teams.Missing) != 1 || teams.Missing[0].Name != "ChannelMessage.Send" {
		t.Errorf("teams missing %v, want ChannelMessage.Send", teams.Missing)
	}
	if !strings.Contains(r.String(), "missing ChannelMessage.Send") {
		t.Errorf("report:\n%s", r)
	}
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(scopes.Normalize(s), v) {
			return true
		}
	}
	return false
}

func isOIDC(s string) bool {
	switch s {
	case "openid", "profile", "email", "offline_access":
		return true
	}
	return false
}
