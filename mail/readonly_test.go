package mail_test

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/scopes"
)

// methodRecorder records the method of every request that leaves the client.
type methodRecorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	methods map[string]int
}

func (m *methodRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	m.mu.Lock()
	m.methods[r.Method]++
	m.mu.Unlock()
	return m.next.RoundTrip(r)
}

// TestReadOnly proves that no path of the package writes: every exported
// call, on success, on errors and through a sync reset, sends GET only.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	f, _ := newFake(t)
	files := map[string]string{"expired": "410"}
	for k, v := range example1 {
		files[k] = v
	}
	f.delta(files)
	f.mux.HandleFunc("GET /v1.0/me/mailFolders", func(w http.ResponseWriter, r *http.Request) { f.file(w, "mailfolders-list.json") })
	f.mux.HandleFunc("GET /v1.0/me/mailFolders/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"id":"AQMkADYAAAIBDAAAAA=="}`))
	})
	f.mux.HandleFunc("GET /v1.0/me/messages/{id}", func(w http.ResponseWriter, r *http.Request) { f.file(w, "message-get.json") })

	rec := &methodRecorder{next: f.srv.Client().Transport, methods: map[string]int{}}
	gc, err := graphclient.New(graphclient.StaticToken("test-token"),
		graphclient.WithBaseURL(f.srv.URL+"/v1.0/"), graphclient.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	svc := mail.New(gc)
	ctx := t.Context()
	called := map[string]bool{}
	drain := func(seq func(func(*mail.Page, error) bool)) {
		for range seq {
		}
	}

	called["Folders"] = true
	if _, err := folderList(svc.Folders(ctx)); err != nil {
		t.Error(err)
	}
	called["Folder"] = true
	_, _ = svc.Folder(ctx, mail.Inbox)
	called["Message"] = true
	for _, b := range []mail.BodyType{mail.BodyNone, mail.BodyText, mail.BodyHTML} {
		_, _ = svc.Message(ctx, "AAMkADhMGAAA=", &mail.MessageOptions{Body: b, Headers: true, Classification: true})
	}
	_, _ = svc.Message(ctx, "unknown-route/..", nil)
	called["Sync"] = true
	filter := mail.All(mail.SkipDrafts(), mail.SkipAutomated(), mail.SkipSensitive(), mail.ExternalOnly("contoso.com"))
	drain(svc.Sync(ctx, mail.SyncRequest{Folder: docsFolder, Filter: filter, Body: mail.BodyText, Headers: true, Classification: true}))
	drain(svc.Sync(ctx, mail.SyncRequest{Folder: docsFolder, Cursor: f.srv.URL + "/v1.0/me/mailFolders/" + docsFolder + "/messages/delta?$deltatoken=expired"}))
	drain(svc.Sync(ctx, mail.SyncRequest{Folder: docsFolder, Cursor: f.srv.URL + "/v1.0/me/mailFolders/" + docsFolder + "/messages/delta?$deltatoken=GwcBoTmPuoGNlgXgF1nyUNMXY"}))
	drain(svc.Sync(ctx, mail.SyncRequest{Folder: "nowhere"}))
	called["SyncMailbox"] = true
	drain(svc.SyncMailbox(ctx, mail.MailboxRequest{Folders: []string{docsFolder, "sentitems"}}))

	// Every exported method of Service took part.
	typ := reflect.TypeOf(svc)
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; !called[name] {
			t.Errorf("Service.%s is not exercised by TestReadOnly; add it", name)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.methods["GET"] == 0 {
		t.Fatal("no requests recorded")
	}
	for m, n := range rec.methods {
		if m != http.MethodGet {
			t.Errorf("the package sent %d %s requests; it must only read", n, m)
		}
	}
}

func TestMailScopesAreReadOnly(t *testing.T) {
	t.Parallel()
	got := scopes.For(scopes.Mail)
	if !slices.Contains(got, "Mail.Read") {
		t.Errorf("scopes.For(Mail) = %v, want Mail.Read", got)
	}
	for _, s := range got {
		l := strings.ToLower(s)
		if strings.Contains(l, "write") || strings.Contains(l, "send") || strings.HasSuffix(l, ".manage") {
			t.Errorf("scopes.For(Mail) holds %q, a scope that writes", s)
		}
	}
}
