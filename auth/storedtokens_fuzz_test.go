package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/scopes"
)

// FuzzStoredTokens gives a signed-in account's stored value arbitrary
// bytes: what a corrupted row, a truncated file or another program's
// write would leave. The bytes reach MSAL's cache reader and the SDK's own
// (grantedInBlob) unsealed, as from a plain store. Whatever they are, the
// acquisition returns a token or an *auth.Error, never panics, and its
// error never quotes a secret found in the value.
func FuzzStoredTokens(f *testing.F) {
	ctx := context.Background()
	// A real stored value to start from: adele signed in once. The stores
	// are plain on purpose: the fuzzer's bytes must reach the cache
	// readers, not stop at Sealed's authentication (FuzzSealedStoreLoad
	// covers that).
	store := auth.NewMemoryStore()
	newApp, account := signedIn(f, store)
	blob, _, err := store.Load(ctx, account)
	if err != nil {
		f.Fatal(err)
	}

	f.Add(blob)
	f.Add(blob[:len(blob)/2])
	f.Add(withoutSection(f, blob, "AccessToken")) // must refresh
	f.Add(withoutSection(f, blob, "RefreshToken"))
	f.Add(withoutSection(f, blob, "Account"))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Add([]byte(`{"AccessToken":null,"RefreshToken":[],"Account":"x"}`))
	f.Add([]byte(`{"AccessToken":{"k":{"target":7,"secret":"at-secret-value-0123456789"}}}`))
	f.Add([]byte(`{"RefreshToken":{"k":{"home_account_id":"` + account + `","secret":"rt-secret-value-0123456789","credential_type":"RefreshToken"}}}`))

	f.Fuzz(func(t *testing.T, value []byte) {
		store := auth.NewMemoryStore()
		if err := store.Save(ctx, account, value, 0); err != nil {
			t.Fatal(err)
		}
		app, err := newApp(store)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		tok, err := app.TokenSource(account, scopes.Calendar).Token(ctx)
		if err == nil {
			if tok == "" {
				t.Fatal("no error and no token")
			}
			return
		}
		var e *auth.Error
		if !errors.As(err, &e) {
			t.Fatalf("error is %T, not *auth.Error: %v", err, err)
		}
		msg := err.Error()
		for _, s := range secretsIn(value) {
			if strings.Contains(msg, s) {
				t.Fatalf("the error quotes a stored secret: %v", err)
			}
		}
	})
}

// withoutSection returns the MSAL cache blob without one of its top-level
// sections.
func withoutSection(f *testing.F, blob []byte, name string) []byte {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(blob, &doc); err != nil {
		f.Fatal(err)
	}
	if _, ok := doc[name]; !ok {
		f.Fatalf("the stored value has no %s section", name)
	}
	delete(doc, name)
	out, err := json.Marshal(doc)
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// secretsIn returns every "secret" string of at least 12 bytes anywhere
// in a JSON value (MSAL stores tokens under that name), and nothing for a
// value that is not JSON.
func secretsIn(value []byte) []string {
	var doc any
	if json.Unmarshal(value, &doc) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "secret" && len(s) >= 12 {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	return out
}
