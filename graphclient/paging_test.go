package graphclient

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type dirObject struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// pagedServer serves the documented memberOf page (with its nextLink
// rewritten to the server) and then the users page.
func pagedServer(t *testing.T) (*Client, *atomic.Int32, *[]*http.Request) {
	t.Helper()
	c, mux, srv, _ := setup(t)
	var calls atomic.Int32
	var reqs []*http.Request
	mux.HandleFunc("GET /v1.0/me/memberOf", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		reqs = append(reqs, r)
		serve(w, 200, fixture(t, "memberof-page1.json", srv.URL+"/"))
	})
	// The fixture's nextLink (https://graph.microsoft.com/beta/me/memberOf?...)
	// leads to <srv>/beta/me/memberOf?...: same host, other path, allowed.
	mux.HandleFunc("GET /beta/me/memberOf", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		reqs = append(reqs, r)
		serve(w, 200, readTestdata(t, "users-page2.json"))
	})
	return c, &calls, &reqs
}

func TestAllFollowsNextLink(t *testing.T) {
	t.Parallel()
	c, calls, reqs := pagedServer(t)
	seq := All[dirObject](t.Context(), c, "me/memberOf?$top=1", WithMaxPageSize(1), WithPrefer(`outlook.body-content-type="text"`), WithHeader("ConsistencyLevel", "eventual"))
	if calls.Load() != 0 {
		t.Fatalf("All sent %d requests before range", calls.Load())
	}
	var got []dirObject
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	want := []dirObject{
		{ID: "21004afc-7bb2-4fe6-a1e1-074ebd3e52c1", DisplayName: "User Administrator"},
		{ID: "10a1d484-cd1a-4162-a5a4-832370bac356", DisplayName: "Lynne Robbins"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	second := (*reqs)[1]
	if !strings.Contains(second.URL.RawQuery, "$top=1&$skiptoken=RFNwdAoAAQAAAAAAAAAAFAAAAI45VMy0CO9Ei1L3Lr1q95UBAAAAAAAAAAAAAAAAAAAXMS4yLjg0MC4xMTM1NTYuMS40LjIzMzEGAAAAAAABURXWGePFEEGbudEn3SOTuQEDAQAAAQAAAAA") {
		t.Errorf("second request query = %q, want the nextLink's whole query", second.URL.RawQuery)
	}
	for i, r := range *reqs {
		prefer := strings.Join(r.Header.Values("Prefer"), ",")
		if !strings.Contains(prefer, "odata.maxpagesize=1") || !strings.Contains(prefer, `outlook.body-content-type="text"`) ||
			!strings.Contains(prefer, `outlook.timezone="UTC"`) || r.Header.Get("ConsistencyLevel") != "eventual" {
			t.Errorf("request %d headers = %v, want the per-call options on every page", i, r.Header)
		}
	}
	// Re-runnable: a second range starts over.
	n := 0
	for _, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 || calls.Load() != 4 {
		t.Errorf("second range: %d items, %d requests total; want 2 and 4", n, calls.Load())
	}
}

func TestAllEarlyBreak(t *testing.T) {
	t.Parallel()
	c, calls, _ := pagedServer(t)
	for _, err := range All[dirObject](t.Context(), c, "me/memberOf") {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if calls.Load() != 1 {
		t.Errorf("requests = %d, want 1", calls.Load())
	}
}

func TestAllErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		page1     func(base string) string
		page2     int // status of page 2
		wantItems int
		check     func(error) bool
	}{
		{"error on page 2 after page 1's items", func(b string) string {
			return `{"value":[{"id":"a"},{"id":"b"}],"@odata.nextLink":"` + b + `page2"}`
		}, 403, 2, func(err error) bool { return errors.Is(err, ErrForbidden) }},
		{"empty page with nextLink is followed", func(b string) string {
			return `{"value":[],"@odata.nextLink":"` + b + `page2"}`
		}, 404, 0, func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"nextLink repeating the page", func(b string) string {
			return `{"value":[{"id":"a"}],"@odata.nextLink":"` + b + `page1"}`
		}, 200, 1, func(err error) bool { return err != nil && strings.Contains(err.Error(), "repeats") }},
		{"malformed page", func(b string) string { return `{"value":[{"id":1}]}` }, 200, 0, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "decoding response")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, srv, _ := setup(t)
			base := srv.URL + "/v1.0/"
			mux.HandleFunc("GET /v1.0/page1", func(w http.ResponseWriter, r *http.Request) {
				serve(w, 200, []byte(tt.page1(base)))
			})
			mux.HandleFunc("GET /v1.0/page2", func(w http.ResponseWriter, r *http.Request) {
				serve(w, tt.page2, []byte(`{"error":{"code":"x","message":"y"}}`))
			})
			items, errs := 0, 0
			var last error
			for _, err := range All[dirObject](t.Context(), c, "page1") {
				if err != nil {
					errs++
					last = err
					continue
				}
				items++
			}
			if items != tt.wantItems || errs != 1 || !tt.check(last) {
				t.Errorf("items = %d, errors = %d, last = %v", items, errs, last)
			}
		})
	}
}

// TestAllRefusesForeignNextLink: a nextLink on another host (or scheme, or
// port) is an error, no request reaches that host and the token stays home.
func TestAllRefusesForeignNextLink(t *testing.T) {
	t.Parallel()
	var evilCalls atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilCalls.Add(1)
		t.Errorf("request reached the foreign host with Authorization %q", r.Header.Get("Authorization"))
	}))
	t.Cleanup(evil.Close)
	tests := []struct{ name, prefix string }{
		{"other host", evil.URL + "/"},
		{"unchanged production link", "https://graph.microsoft.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, _, _ := setup(t)
			mux.HandleFunc("GET /v1.0/me/memberOf", func(w http.ResponseWriter, r *http.Request) {
				serve(w, 200, fixture(t, "memberof-page1.json", tt.prefix))
			})
			var items int
			var last error
			for _, err := range All[dirObject](t.Context(), c, "me/memberOf") {
				if err != nil {
					last = err
					continue
				}
				items++
			}
			if items != 1 || last == nil || !strings.Contains(last.Error(), "refusing") {
				t.Errorf("items = %d, err = %v; want 1 item then a refusal", items, last)
			}
			if strings.Contains(last.Error(), "skiptoken") || strings.Contains(last.Error(), testToken) {
				t.Errorf("refusal leaks the link or token: %v", last)
			}
		})
	}
	if evilCalls.Load() != 0 {
		t.Errorf("foreign host got %d requests", evilCalls.Load())
	}
}
