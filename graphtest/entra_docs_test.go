package graphtest

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// absentKeys returns the keys of the documented JSON object (nested
// objects included, as dotted paths) that got lacks.
func absentKeys(doc, got map[string]any, prefix string) []string {
	var out []string
	for k, v := range doc {
		g, ok := got[k]
		if !ok {
			out = append(out, prefix+k)
			continue
		}
		if dm, ok := v.(map[string]any); ok {
			gm, _ := g.(map[string]any)
			out = append(out, absentKeys(dm, gm, prefix+k+".")...)
		}
	}
	slices.Sort(out)
	return out
}

func readDoc(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "entra", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func TestResponsesHaveDocumentedShape(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	tok := signInAs(t, f.srv, "adele@contoso.com")

	_, me := getBearer(t, f.srv.HTTPClient(), "https://graph.microsoft.com/v1.0/me", tok["access_token"].(string))
	_, tokErr := postToken(t, f.srv, "organizations", tokenForm("0.Aunknown"))
	f.srv.Inject(Fault{Kind: Throttle, RetryAfter: "2.128"})
	_, throttled := getBearer(t, f.srv.HTTPClient(), "https://graph.microsoft.com/v1.0/me", tok["access_token"].(string))

	tests := []struct {
		file string
		got  map[string]any
	}{
		{"me-get.json", me},
		{"token-success.json", tok},
		{"token-error.json", tokErr},
		{"throttle-429.json", throttled},
	}
	for _, tt := range tests {
		if missing := absentKeys(readDoc(t, tt.file), tt.got, ""); len(missing) > 0 {
			t.Errorf("%s: the fake's answer lacks %v", tt.file, missing)
		}
	}
}

func TestThrottleKeepsFractionalRetryAfter(t *testing.T) {
	t.Parallel()
	f := newEntraFixture(t)
	f.srv.Inject(Fault{Kind: Throttle, RetryAfter: "2.128"})
	resp, _, err := graphGet(t, f.srv.HTTPClient(), "/me", f.srv.IssueToken(f.adele, appClientID, "User.Read"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2.128" {
		t.Errorf("%d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
