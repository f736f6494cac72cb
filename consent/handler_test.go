package consent

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/scopes"
)

// result records what the callback handler handed to done.
type result struct {
	g   *Grant
	err error
}

func callbackHandler(f *Flow) (http.Handler, *result) {
	res := &result{}
	return f.CallbackHandler(func(w http.ResponseWriter, r *http.Request, g *Grant, err error) {
		res.g, res.err = g, err
		w.WriteHeader(http.StatusNoContent)
	}), res
}

// start runs the start handler and returns its redirect and cookie.
func start(t *testing.T, h http.Handler, target string) (string, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("start: status %d: %s", rec.Code, rec.Body)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == CookieName {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("start set no binding cookie")
	}
	return rec.Header().Get("Location"), cookie
}

func TestHandlers(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	startH := f.StartHandler(nil)
	loc, cookie := start(t, startH, "https://app.example.com/microsoft/connect?tenant=contoso.com&choice=mailbox&return_to=/settings")
	endpoint, q := parseConsentURL(t, loc)
	if endpoint != "https://login.microsoftonline.com/contoso.com/v2.0/adminconsent" {
		t.Errorf("redirect endpoint = %s", endpoint)
	}
	if !strings.Contains(q.Get("scope"), "Mail.Read") || strings.Contains(q.Get("scope"), "Calendars") {
		t.Errorf("mailbox choice asked for %q", q.Get("scope"))
	}
	if !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/microsoft/consent" || cookie.MaxAge != 900 {
		t.Errorf("cookie = %+v", cookie)
	}

	params := url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}, "scope": {"https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read"}}
	t.Run("same browser", func(t *testing.T) {
		t.Parallel()
		h, res := callbackHandler(f)
		r := callback(t, loc, params)
		r.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if res.err != nil || res.g == nil || res.g.ReturnTo != "/settings" || len(res.g.Missing) != 0 {
			t.Fatalf("done got %+v, %v", res.g, res.err)
		}
		cleared := false
		for _, c := range rec.Result().Cookies() {
			cleared = cleared || (c.Name == CookieName && c.MaxAge < 0)
		}
		if !cleared {
			t.Error("callback did not clear the binding cookie")
		}
	})
	t.Run("other browser", func(t *testing.T) {
		t.Parallel()
		h, res := callbackHandler(f)
		h.ServeHTTP(httptest.NewRecorder(), callback(t, loc, params))
		if !errors.Is(res.err, ErrInvalidState) || res.g != nil {
			t.Fatalf("callback without the cookie: %+v, %v", res.g, res.err)
		}
	})
	t.Run("cookie of another attempt", func(t *testing.T) {
		t.Parallel()
		_, other := start(t, startH, "https://app.example.com/microsoft/connect")
		h, res := callbackHandler(f)
		r := callback(t, loc, params)
		r.AddCookie(other)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if !errors.Is(res.err, ErrInvalidState) {
			t.Fatalf("callback with another attempt's cookie: %v", res.err)
		}
	})
	t.Run("declined", func(t *testing.T) {
		t.Parallel()
		h, res := callbackHandler(f)
		r := callback(t, loc, url.Values{"error": {"consent_required"}, "error_description": {"AADSTS65004: declined"}})
		r.AddCookie(cookie)
		h.ServeHTTP(httptest.NewRecorder(), r)
		var ce *Error
		if !errors.As(res.err, &ce) || ce.ReturnTo != "/settings" || !errors.Is(res.err, ErrDeclined) {
			t.Fatalf("declined: %v", res.err)
		}
	})
}

func TestStartHandlerBadRequest(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	for _, target := range []string{
		"/connect?tenant=common",
		"/connect?return_to=//evil.example",
		"/connect?choice=everything",
	} {
		rec := httptest.NewRecorder()
		f.StartHandler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
			t.Errorf("%s: status %d, Location %q", target, rec.Code, rec.Header().Get("Location"))
		}
	}
	custom := f.StartHandler(func(*http.Request) (Request, error) { return Request{}, errors.New("no customer") })
	rec := httptest.NewRecorder()
	custom.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/connect", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "no customer") {
		t.Errorf("custom request error: %d %q", rec.Code, rec.Body)
	}
}

func TestCallbackHandlerDefaultDone(t *testing.T) {
	t.Parallel()
	f := newFlow(t)
	loc, cookie := start(t, f.StartHandler(func(*http.Request) (Request, error) {
		return Request{Features: []scopes.Feature{scopes.SignIn}, ReturnTo: "/welcome"}, nil
	}), "/connect")
	h := f.CallbackHandler(nil)

	r := callback(t, loc, url.Values{"admin_consent": {"True"}, "tenant": {testTenantID}})
	r.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/welcome" {
		t.Errorf("grant: %d to %q", rec.Code, rec.Header().Get("Location"))
	}

	r = callback(t, loc, url.Values{"error": {"consent_required"}, "error_description": {"AADSTS65004: The resource owner or authorization server denied the request."}})
	r.AddCookie(cookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	body := rec.Body.String()
	if rec.Code != http.StatusBadRequest || !strings.Contains(body, "UserDeclinedConsent") || !strings.Contains(body, "https://login.microsoftonline.com/error?code=65004") {
		t.Errorf("declined: %d %q", rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("error page Content-Type %q", ct)
	}
}
