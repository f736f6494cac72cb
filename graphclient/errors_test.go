package graphclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestNewErrorFromRecordedResponses(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		status  int
		header  http.Header
		body    []byte
		want    Error
		wantIs  []error
		wantNot []error
	}{
		{
			name:   "throttling sample with fractional Retry-After",
			status: 429,
			header: http.Header{"Retry-After": {"2.128"}},
			body:   readTestdata(t, "error-throttled-429.json"),
			want: Error{StatusCode: 429, Code: "TooManyRequests", Message: "Please retry again later.",
				InnerCodes: []string{"429"}, RequestID: "94fb3b52-452a-4535-a601-69e0a90e3aa2",
				Date: time.Date(2020, 8, 18, 12, 51, 51, 0, time.UTC), RetryAfter: 2128 * time.Millisecond},
			wantIs:  []error{ErrThrottled},
			wantNot: []error{ErrNotFound, ErrSyncReset, ErrForbidden},
		},
		{
			name:   "errors.md example with placeholder date",
			status: 416,
			body:   readTestdata(t, "error-invalid-range.json"),
			want:   Error{StatusCode: 416, Code: "invalidRange", Message: "Uploaded fragment overlaps with existing data.", RequestID: "request-id"},
		},
		{
			name:   "nested innerError code and ids",
			status: 404,
			header: http.Header{"Request-Id": {"header-id-ignored"}},
			body:   readTestdata(t, "error-nested-inner.json"),
			want: Error{StatusCode: 404, Code: "notFound", Message: "Goals organization not found",
				InnerCodes: []string{"goalsOrganizationIdNotFound"}, RequestID: "586e4626-8e0d-4e71-87e1-17050915b57c",
				ClientRequestID: "a8c5cf30-2de7-d8f2-f4f3-5b9028f31758", Date: time.Date(2023, 11, 3, 7, 17, 25, 0, time.UTC)},
			wantIs: []error{ErrNotFound},
		},
		{
			name:   "410 SyncStateNotFound",
			status: 410,
			body:   readTestdata(t, "error-sync-state-not-found.json"),
			want:   Error{StatusCode: 410, Code: "SyncStateNotFound", Message: "The sync state generation is not found; generation=1;"},
			wantIs: []error{ErrSyncReset},
		},
		{
			name:   "resyncRequired three levels deep on a 400",
			status: 400,
			body:   []byte(`{"error":{"code":"invalidRequest","message":"m","innerError":{"code":"a","innerError":{"code":"b","innererror":{"code":"RESYNCREQUIRED"}}}}}`),
			want:   Error{StatusCode: 400, Code: "invalidRequest", Message: "m", InnerCodes: []string{"a", "b", "RESYNCREQUIRED"}},
			wantIs: []error{ErrSyncReset},
		},
		{
			name:   "empty body uses headers",
			status: 503,
			header: http.Header{"Request-Id": {"rid"}, "Client-Request-Id": {"crid"}, "Retry-After": {"7"}, "Date": {"Mon, 02 Jan 2006 15:04:05 GMT"}},
			want: Error{StatusCode: 503, RequestID: "rid", ClientRequestID: "crid", RetryAfter: 7 * time.Second,
				Date: time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)},
		},
		{
			name:   "HTML body from a proxy",
			status: 502,
			body:   []byte("<html>\n<body>Bad Gateway</body></html>"),
			want:   Error{StatusCode: 502, Message: "<html> <body>Bad Gateway</body></html>"},
		},
		{
			name:   "non-JSON body echoing a bearer token is redacted",
			status: 401,
			body:   []byte("invalid header Authorization: Bearer eyJ0eXAi.secret.sig"),
			want:   Error{StatusCode: 401, Message: "invalid header Authorization: Bearer REDACTED"},
			wantIs: []error{ErrUnauthorized},
		},
		{
			name:   "error envelope with non-string code",
			status: 403,
			body:   []byte(`{"error":{"code":42,"message":["x"]}}`),
			want:   Error{StatusCode: 403, Code: "42"},
			wantIs: []error{ErrForbidden},
		},
		{
			name:   "JSON without an error member",
			status: 500,
			body:   []byte(`{"message":"boom"}`),
			want:   Error{StatusCode: 500, Message: `{"message":"boom"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := newError(tt.status, tt.header, tt.body, "GET", "https://graph.microsoft.com/v1.0/me", "me", now)
			tt.want.Method, tt.want.URL = "GET", "https://graph.microsoft.com/v1.0/me"
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreUnexported(Error{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("newError mismatch (-want +got):\n%s", diff)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(got, target) {
					t.Errorf("errors.Is(err, %v) = false, want true", target)
				}
			}
			for _, target := range tt.wantNot {
				if errors.Is(got, target) {
					t.Errorf("errors.Is(err, %v) = true, want false", target)
				}
			}
			if s := got.Error(); strings.Contains(s, "eyJ0eXAi") {
				t.Errorf("Error() leaks a token: %s", s)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	e := &Error{StatusCode: 404, Code: "ErrorItemNotFound", Message: "The specified object was not found in the store.",
		RequestID: "r-1", ClientRequestID: "c-1", Method: "GET", URL: "https://graph.microsoft.com/v1.0/me/events/AAMk", path: "me/events/AAMk"}
	want := "graphclient: GET me/events/AAMk: 404 ErrorItemNotFound: The specified object was not found in the store. (request-id r-1, client-request-id c-1)"
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	e2 := &Error{StatusCode: 503, InnerCodes: []string{"x"}, Attempts: 3}
	if got, want := e2.Error(), "graphclient: 503 [x]: Service Unavailable (3 attempts)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorIsAndHasCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    *Error
		target error
		want   bool
	}{
		{&Error{StatusCode: 404}, ErrNotFound, true},
		{&Error{StatusCode: 400, Code: "itemNotFound"}, ErrNotFound, true},
		{&Error{StatusCode: 401}, ErrUnauthorized, true},
		{&Error{StatusCode: 403}, ErrUnauthorized, false},
		{&Error{StatusCode: 403, Code: "ErrorAccessDenied"}, ErrForbidden, true},
		{&Error{StatusCode: 429}, ErrThrottled, true},
		{&Error{StatusCode: 503, InnerCodes: []string{"activitylimitreached"}}, ErrThrottled, true},
		{&Error{StatusCode: 503}, ErrThrottled, false},
		{&Error{StatusCode: 410}, ErrSyncReset, true},
		{&Error{StatusCode: 400, Code: "syncStateInvalid"}, ErrSyncReset, true},
		{&Error{StatusCode: 404, InnerCodes: []string{"x", "SYNCSTATENOTFOUND"}}, ErrSyncReset, true},
		{&Error{StatusCode: 400}, ErrSyncReset, false},
		{&Error{StatusCode: 404}, errors.New("graphclient: not found"), false},
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("errors.Is(%+v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
		}
	}
	e := &Error{Code: "TooManyRequests", InnerCodes: []string{"429"}}
	for code, want := range map[string]bool{"toomanyrequests": true, "TOOMANYREQUESTS": true, "429": true, "": false, "Too": false} {
		if got := e.HasCode(code); got != want {
			t.Errorf("HasCode(%q) = %v, want %v", code, got, want)
		}
	}
}

// TestInvalidInputSentinel: bad options, paths and batches match the
// SDK's one bad-input sentinel, and nothing is sent for them.
func TestInvalidInputSentinel(t *testing.T) {
	t.Parallel()
	if _, err := New(StaticToken("t"), WithMaxConcurrency(0)); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("WithMaxConcurrency(0): err = %v, want ErrInvalidInput", err)
	}
	if _, err := New(nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("New(nil): err = %v, want ErrInvalidInput", err)
	}
	c, err := New(StaticToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewRequest(t.Context(), "GET", "/me", nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("NewRequest(/me): err = %v, want ErrInvalidInput", err)
	}
	if _, err := c.Batch(t.Context(), []BatchRequest{{Method: "GET", URL: "me"}}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Batch without ID: err = %v, want ErrInvalidInput", err)
	}
}
