package graphclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
)

// A 401 carrying a claims challenge (Microsoft's documented example
// header) comes back at once, not retried, as an *Error matching
// ErrUnauthorized whose Claims holds the decoded claims request; the
// message says what to do without printing the challenge.
func TestClaimsChallengeIsTypedError(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Add("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		w.Header().Add("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp"}}`))
	}))
	t.Cleanup(srv.Close)
	gc, err := graphclient.New(graphclient.StaticToken("t"), graphclient.WithBaseURL(srv.URL+"/v1.0/"), graphclient.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	err = claimsTestGet(t.Context(), gc, "me")
	var ge *graphclient.Error
	if !errors.As(err, &ge) || !errors.Is(err, graphclient.ErrUnauthorized) {
		t.Fatalf("err = %v, want a *graphclient.Error matching ErrUnauthorized", err)
	}
	if want := `{"access_token":{"acrs":{"essential":true,"value":"cp1"}}}`; ge.Claims != want {
		t.Errorf("Claims = %q, want %q", ge.Claims, want)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("sent %d times, want 1", n)
	}
	if msg := err.Error(); !strings.Contains(msg, "claims challenge") || strings.Contains(msg, "acrs") {
		t.Errorf("Error() = %q, want it to name the claims challenge without its value", msg)
	}
}

// graphtest's 401s carry Graph's plain challenge, which is no claims
// challenge: Claims stays empty.
func TestUnauthorizedWithoutClaimsChallenge(t *testing.T) {
	t.Parallel()
	srv := graphtest.New(t)
	gc, err := graphclient.New(graphclient.StaticToken("not-issued"), graphclient.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	err = claimsTestGet(t.Context(), gc, "me")
	var ge *graphclient.Error
	if !errors.As(err, &ge) || ge.StatusCode != http.StatusUnauthorized || ge.Claims != "" {
		t.Fatalf("err = %v, want a 401 without claims", err)
	}
}

func claimsTestGet(ctx context.Context, gc *graphclient.Client, path string) error {
	req, err := gc.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	_, err = gc.Do(req, nil)
	return err
}
