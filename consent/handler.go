package consent

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"

	"github.com/m365kit/m365kit/scopes"
)

// CookieName is the cookie StartHandler sets and CallbackHandler checks,
// binding a consent attempt to the browser that started it.
const CookieName = "m365kit_consent"

// RequestFromQuery builds a Request from the start URL's query: tenant
// (a tenant ID or domain the administrator gave; empty means
// "organizations"), return_to (a relative path), and the consent choice
// "Grant access to all recommended resources", or only mailbox access with
// choice=mailbox. It is StartHandler's default.
func RequestFromQuery(r *http.Request) (Request, error) {
	q := r.URL.Query()
	req := Request{Tenant: q.Get("tenant"), ReturnTo: q.Get("return_to"), Choice: scopes.AllRecommended()}
	switch q.Get("choice") {
	case "", "all":
	case "mailbox":
		req.Choice = scopes.MailboxAccess()
	default:
		return Request{}, fmt.Errorf("consent: query parameter choice=%q is not \"all\" or \"mailbox\"", q.Get("choice"))
	}
	return req, nil
}

// StartHandler returns the handler of the first step: it builds the
// Request with req (nil means RequestFromQuery), sets a short-lived,
// HttpOnly cookie binding the attempt to this browser, and redirects
// (302) to Microsoft's admin-consent page. A Request that does not
// validate gets 400 with the reason.
func (f *Flow) StartHandler(req func(r *http.Request) (Request, error)) http.Handler {
	if req == nil {
		req = RequestFromQuery
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr, err := req(r)
		if err != nil {
			plainError(w, err.Error(), http.StatusBadRequest)
			return
		}
		u, nonce, err := f.consentURL(cr)
		if err != nil {
			plainError(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.SetCookie(w, f.cookie(nonce, int(f.ttl.Seconds())))
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusFound)
	})
}

// CallbackHandler returns the handler for Config.RedirectURL, the second
// step. It runs Complete, checks that the callback belongs to a consent
// started in this browser by StartHandler (otherwise the error matches
// ErrInvalidState), clears the cookie, and calls done with the Grant or
// the error; done writes the response, typically a redirect to
// Grant.ReturnTo or a page explaining Diagnose(err).
//
// With done nil, a Grant redirects (303) to its ReturnTo (or "/"), and an
// error gets 400 with the diagnosis as plain text.
//
// The binding cookie is SameSite=Lax, which browsers send on Microsoft's
// GET redirect back to the app. One consent at a time per browser: a
// second StartHandler visit replaces the first attempt's cookie.
func (f *Flow) CallbackHandler(done func(w http.ResponseWriter, r *http.Request, g *Grant, err error)) http.Handler {
	if done == nil {
		done = defaultDone
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g, st, err := f.complete(r)
		if st != nil {
			c, cerr := r.Cookie(CookieName)
			if cerr != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(st.nonce)) != 1 {
				g, err = nil, fmt.Errorf("%w: the consent was not started in this browser", ErrInvalidState)
			}
			http.SetCookie(w, f.cookie("", -1))
		}
		w.Header().Set("Cache-Control", "no-store")
		done(w, r, g, err)
	})
}

// cookie returns the binding cookie, scoped to the callback's path.
func (f *Flow) cookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if u, err := url.Parse(f.redirect); err == nil {
		c.Secure = u.Scheme == "https"
		if u.Path != "" {
			c.Path = u.Path
		}
	}
	return c
}

func defaultDone(w http.ResponseWriter, r *http.Request, g *Grant, err error) {
	if err != nil {
		msg := err.Error()
		if d, ok := Diagnose(err); ok {
			msg += "\n\n" + d.String()
			if d.Link != "" {
				msg += "\n" + d.Link
			}
		}
		plainError(w, msg, http.StatusBadRequest)
		return
	}
	to := g.ReturnTo
	if to == "" {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// plainError writes msg as plain text that a browser will not sniff as HTML.
func plainError(w http.ResponseWriter, msg string, status int) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.Error(w, msg, status)
}
