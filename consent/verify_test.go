package consent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/scopes"
)

// serveFile answers with a recorded response from testdata.
func serveFile(t *testing.T, status int, file string) http.HandlerFunc {
	t.Helper()
	body, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func forbiddenHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(`{"error":{"code":"Forbidden","message":"Missing scope permissions on the request. API requires one of 'Mail.Read'.","innerError":{"request-id":"r1"}}}`))
}

// graphServer starts a Graph stand-in whose base URL carries the /v1.0/
// prefix, so an absolute path in a request fails, and records the paths
// asked for.
func graphServer(t *testing.T, mux *http.ServeMux) (*graphclient.Client, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			t.Errorf("%s %s: Authorization %q", r.Method, r.URL, r.Header.Get("Authorization"))
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	gc, err := graphclient.New(graphclient.StaticToken("t0ken"),
		graphclient.WithBaseURL(srv.URL+"/v1.0/"), graphclient.WithHTTPClient(srv.Client()),
		graphclient.WithRetry(graphclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return gc, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), paths...)
	}
}

// allGranted is every scope AllRecommended asks for.
var allGranted = scopes.AllRecommended().Scopes()

func TestVerifyAllReady(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me", serveFile(t, 200, "me.json"))
	mux.HandleFunc("GET /v1.0/me/calendars", serveFile(t, 200, "calendars.json"))
	mux.HandleFunc("GET /v1.0/me/joinedTeams", serveFile(t, 200, "joinedteams.json"))
	mux.HandleFunc("GET /v1.0/me/mailFolders/inbox", serveFile(t, 200, "mailfolder-inbox.json"))
	gc, paths := graphServer(t, mux)

	r := Verify(t.Context(), gc, allGranted, scopes.Mail, scopes.Teams, scopes.Calendar)
	if !r.Ready() {
		t.Fatalf("not ready:\n%s", r)
	}
	want := Report{Checks: []Check{
		{Feature: scopes.SignIn, Ready: true, Probe: "GET me", Detail: "Adele Vance (AdeleV@contoso.com)"},
		{Feature: scopes.Calendar, Ready: true, Probe: "GET me/calendars", Detail: "1 calendar"},
		{Feature: scopes.Teams, Ready: true, Probe: "GET me/joinedTeams", Detail: "1 joined team"},
		{Feature: scopes.Mail, Ready: true, Probe: "GET me/mailFolders/inbox", Detail: "inbox: 99 messages"},
	}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Report (-want +got):\n%s", diff)
	}
	wantPaths := []string{
		"GET /v1.0/me?$select=displayName,userPrincipalName",
		"GET /v1.0/me/calendars?$select=id",
		"GET /v1.0/me/joinedTeams",
		"GET /v1.0/me/mailFolders/inbox?$select=totalItemCount",
	}
	if diff := cmp.Diff(wantPaths, paths()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestVerifyProblems(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me", serveFile(t, 200, "me.json"))
	mux.HandleFunc("GET /v1.0/me/calendars", forbiddenHandler)
	mux.HandleFunc("GET /v1.0/me/mailFolders/inbox", serveFile(t, 404, "error-mailbox-not-enabled.json"))
	gc, paths := graphServer(t, mux)

	granted := []string{"openid", "User.Read", "Calendars.ReadWrite", "OnlineMeetings.Read", "Team.ReadBasic.All",
		"Channel.ReadBasic.All", "Chat.ReadBasic", "ChatMessage.Send", "Mail.Read"}
	r := Verify(t.Context(), gc, granted, scopes.Calendar, scopes.Teams, scopes.Mail)
	if r.Ready() {
		t.Fatal("report is ready")
	}
	ready := map[scopes.Feature]bool{}
	for _, c := range r.Checks {
		ready[c.Feature] = c.Ready
	}
	if diff := cmp.Diff(map[scopes.Feature]bool{scopes.SignIn: true, scopes.Calendar: false, scopes.Teams: false, scopes.Mail: false}, ready); diff != "" {
		t.Errorf("ready (-want +got):\n%s", diff)
	}

	cal, _ := r.Check(scopes.Calendar)
	if !errors.Is(cal.Err, graphclient.ErrForbidden) || cal.Detail != "403 Forbidden" || cal.Diagnosis.GraphCode != "Forbidden" {
		t.Errorf("calendar check = %+v", cal)
	}
	teams, _ := r.Check(scopes.Teams)
	if len(teams.Missing) != 1 || teams.Missing[0].Name != "ChannelMessage.Send" || teams.Probe != "" || teams.Diagnosis.Fixer != TenantAdmin {
		t.Errorf("teams check = %+v", teams)
	}
	mail, _ := r.Check(scopes.Mail)
	if mail.Detail != "404 MailboxNotEnabledForRESTAPI" || mail.Diagnosis.GraphCode != "MailboxNotEnabledForRESTAPI" {
		t.Errorf("mail check = %+v", mail)
	}
	for _, p := range paths() {
		if strings.Contains(p, "joinedTeams") {
			t.Errorf("probed Teams although its consent is incomplete: %s", p)
		}
	}

	want := `FEATURE         READY  CHECK                     RESULT
Authentication  yes    GET me                    Adele Vance (AdeleV@contoso.com)
Calendar        no     GET me/calendars          403 Forbidden
Teams           no     consent                   missing ChannelMessage.Send
Email           no     GET me/mailFolders/inbox  404 MailboxNotEnabledForRESTAPI
Calendar: tenant admin fixes it: A tenant admin grants consent for the feature's permissions with the admin-consent link, then the user signs in again; if consent is complete, check the user's license.
Teams: tenant admin fixes it: A tenant admin opens an admin-consent link that includes Teams and accepts; then the user signs in again.
Email: tenant admin fixes it: A tenant admin assigns the user a license that includes Exchange Online (or moves the mailbox to Exchange Online); mail and calendar then work without a new consent.
`
	if got := r.String(); got != want {
		t.Errorf("String():\n%s\nwant:\n%s", got, want)
	}
	var b strings.Builder
	n, err := r.WriteTo(&b)
	if err != nil || n != int64(len(want)) || b.String() != want {
		t.Errorf("WriteTo = %d, %v", n, err)
	}
}

func TestVerifyEdgeCases(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`))
	})
	gc, _ := graphServer(t, mux)

	t.Run("expired token, no features", func(t *testing.T) {
		t.Parallel()
		r := Verify(t.Context(), gc, allGranted)
		if len(r.Checks) != 1 || r.Checks[0].Feature != scopes.SignIn || r.Ready() {
			t.Fatalf("report = %+v", r)
		}
		if d := r.Checks[0].Diagnosis; d.Fixer != EndUser || d.GraphCode != "InvalidAuthenticationToken" {
			t.Errorf("diagnosis = %+v", d)
		}
	})
	t.Run("unknown feature", func(t *testing.T) {
		t.Parallel()
		r := Verify(t.Context(), gc, allGranted, "files")
		c, ok := r.Check("files")
		if !ok || c.Ready || c.Err == nil {
			t.Fatalf("unknown feature check = %+v, %v", c, ok)
		}
	})
	t.Run("nil client", func(t *testing.T) {
		t.Parallel()
		r := Verify(t.Context(), nil, allGranted, scopes.Mail)
		if r.Ready() || r.Checks[0].Err == nil {
			t.Fatalf("report = %+v", r)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r := Verify(ctx, gc, allGranted, scopes.Calendar)
		for _, c := range r.Checks {
			if c.Ready || !errors.Is(c.Err, context.Canceled) {
				t.Errorf("%s: ready %v, err %v", c.Feature, c.Ready, c.Err)
			}
		}
	})
	t.Run("empty report", func(t *testing.T) {
		t.Parallel()
		if (Report{}).Ready() {
			t.Error("an empty report is ready")
		}
	})
}
