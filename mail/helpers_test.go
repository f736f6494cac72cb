package mail_test

import (
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
)

// docsBase is the base of every link in the recorded responses.
const docsBase = "https://graph.microsoft.com/v1.0/"

// fake is one httptest Graph for one test: recorded responses served from
// testdata with their links pointed at the server, and a log of requests.
type fake struct {
	t   testing.TB
	srv *httptest.Server
	mux *http.ServeMux

	mu   sync.Mutex
	seen []*http.Request
}

// newFake starts a server and returns a Service whose client has the base
// URL srv/v1.0/ (a path prefix, so an absolute path in the package fails).
func newFake(t testing.TB) (*fake, *mail.Service) {
	t.Helper()
	f := &fake{t: t, mux: http.NewServeMux()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Clone(r.Context()))
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	gc, err := graphclient.New(graphclient.StaticToken("test-token"),
		graphclient.WithBaseURL(f.srv.URL+"/v1.0/"), graphclient.WithHTTPClient(f.srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return f, mail.New(gc)
}

// link points a documented link at the fake.
func (f *fake) link(s string) string {
	return strings.ReplaceAll(s, docsBase, f.srv.URL+"/v1.0/")
}

// file writes testdata/name with its links pointed at the fake.
func (f *fake) file(w http.ResponseWriter, name string) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.t.Errorf("testdata: %v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(f.link(string(b))))
}

// delta serves a delta round: the file for the request's $skiptoken or
// $deltatoken ("" for the initial request). A token mapped to "410" gets
// Graph's SyncStateNotFound.
func (f *fake) delta(files map[string]string) {
	h := func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		tok := q.Get("$skiptoken") + q.Get("$deltatoken")
		name, ok := files[tok]
		switch {
		case !ok:
			http.Error(w, "unknown token "+tok, http.StatusBadRequest)
		case name == "410":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			_, _ = w.Write([]byte(`{"error":{"code":"SyncStateNotFound","message":"The sync state generation is not found; generation=7;highest=9;"}}`))
		default:
			f.file(w, name)
		}
	}
	f.mux.HandleFunc("GET /v1.0/me/mailFolders/{id}/messages/delta", h)
	f.mux.HandleFunc("GET /v1.0/me/{folder}/messages/delta", h) // the docs' me/mailfolders('id') links
}

// requests returns the requests seen so far.
func (f *fake) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.seen...)
}

// example1 maps the tokens of the docs' Example 1 to its responses.
var example1 = map[string]string{
	"":                          "delta-example1-page1.json",
	"GwcBoTmPuoTQWfcsAbkYM":     "delta-example1-page2.json",
	"GwcBoTmPKILK4jLH7mAd1lLU":  "delta-example1-page3.json",
	"GwcBoTmPuoGNlgXgF1nyUNMXY": "delta-example1-round2.json",
}

// pageView is what a test compares of a page.
type pageView struct {
	Folder   string
	IDs      []string
	Skipped  []mail.Skipped
	Removed  []string
	Cursor   string
	Reset    bool
	Done     bool
	Filtered int
}

func view(p *mail.Page) pageView {
	v := pageView{Folder: p.Folder, Skipped: p.Skipped, Removed: p.Removed, Cursor: p.Cursor, Reset: p.Reset, Done: p.Done, Filtered: p.Filtered()}
	for _, m := range p.Messages {
		v.IDs = append(v.IDs, m.ID)
	}
	return v
}

// collect ranges over a sync, failing the test on an error.
func collect(t *testing.T, seq func(func(*mail.Page, error) bool)) []pageView {
	t.Helper()
	var out []pageView
	for p, err := range seq {
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		out = append(out, view(p))
	}
	return out
}

// folderList runs a Folders sequence to its end or first error.
func folderList(seq iter.Seq2[*mail.Folder, error]) ([]*mail.Folder, error) {
	var out []*mail.Folder
	for f, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}
