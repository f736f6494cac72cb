package auth

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/google/go-cmp/cmp"
)

// recorder stands in for MSAL's in-memory cache: it records what the
// adapter loads into it and marshals a fixed blob.
type recorder struct {
	loaded []string
	blob   string
}

func (r *recorder) Unmarshal(b []byte) error { r.loaded = append(r.loaded, string(b)); return nil }
func (r *recorder) Marshal() ([]byte, error) { return []byte(r.blob), nil }

// TestCacheAdapter pins the rules MSAL Go leaves to its caller: Replace
// always overwrites the in-memory cache (an empty one on a miss or an
// empty key, else one user's tokens would be exported into the next
// user's partition), and Export never stores an empty key (RemoveAccount)
// or, outside sign-in, a partition that vanished meanwhile.
func TestCacheAdapter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := NewMemoryStore()
	if err := store.Save(ctx, "alice.t", []byte(`{"alice":1}`), 0); err != nil {
		t.Fatal(err)
	}

	ad := &cacheAdapter{store: store}
	r := &recorder{blob: `{"x":1}`}
	for _, key := range []string{"alice.t", "bob.t", "", "alice.t"} {
		if err := ad.Replace(ctx, r, cache.ReplaceHints{PartitionKey: key}); err != nil {
			t.Fatalf("Replace(%q): %v", key, err)
		}
	}
	if diff := cmp.Diff([]string{`{"alice":1}`, `{}`, `{}`, `{"alice":1}`}, r.loaded); diff != "" {
		t.Errorf("what Replace loaded (-want +got):\n%s", diff)
	}

	// Export after a Replace that found the partition saves it.
	if err := ad.Export(ctx, r, cache.ExportHints{PartitionKey: "alice.t"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := store.Load(ctx, "alice.t"); string(got) != `{"x":1}` {
		t.Errorf("alice.t = %s after Export", got)
	}
	// An empty key is never stored.
	if err := ad.Export(ctx, r, cache.ExportHints{PartitionKey: ""}); err != nil {
		t.Fatal(err)
	}
	if keys := store.Keys(); len(keys) != 1 {
		t.Errorf("keys after exporting an empty key: %q", keys)
	}
	// A partition that vanished before the write is not recreated.
	_ = ad.Replace(ctx, r, cache.ReplaceHints{PartitionKey: "bob.t"})
	if err := ad.Export(ctx, r, cache.ExportHints{PartitionKey: "bob.t"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Load(ctx, "bob.t"); !errors.Is(err, ErrNoToken) || !ad.gone {
		t.Errorf("bob.t after Export of a missing partition: err %v, gone %v", err, ad.gone)
	}

	// Sign-in (capture) starts empty and keeps the export in memory.
	sign := &cacheAdapter{store: store, capture: true}
	r = &recorder{blob: `{"new":1}`}
	_ = sign.Replace(ctx, r, cache.ReplaceHints{PartitionKey: "alice.t"})
	if err := sign.Export(ctx, r, cache.ExportHints{PartitionKey: "alice.t"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{}`}, r.loaded); diff != "" {
		t.Errorf("sign-in Replace loaded (-want +got):\n%s", diff)
	}
	if string(sign.captured) != `{"new":1}` || sign.capturedKey != "alice.t" {
		t.Errorf("captured %q under %q", sign.captured, sign.capturedKey)
	}
	if got, _, _ := store.Load(ctx, "alice.t"); string(got) != `{"x":1}` {
		t.Errorf("sign-in wrote to the store before validation: %s", got)
	}

	// A store failure is reported, not taken for a miss.
	failing := &cacheAdapter{store: failStore{}}
	if err := failing.Replace(ctx, &recorder{}, cache.ReplaceHints{PartitionKey: "alice.t"}); err == nil {
		t.Error("Replace over a failing store succeeded")
	}
}

type failStore struct{ TokenStore }

func (failStore) Load(context.Context, string) ([]byte, int64, error) {
	return nil, 0, errors.New("db down")
}

// TestMerge: when another process saved newer tokens, they win, and only
// this refresh's access tokens that are missing or fresher are added.
func TestMerge(t *testing.T) {
	t.Parallel()
	stored := `{"AccessToken":{"cal":{"secret":"theirs-cal","expires_on":"2000"},"mail":{"secret":"theirs-mail","expires_on":"3000"}},` +
		`"RefreshToken":{"rt":{"secret":"theirs-rt"}},"Account":{"a":{"username":"adele"}}}`
	ours := `{"AccessToken":{"cal":{"secret":"ours-cal","expires_on":"2500"},"mail":{"secret":"ours-mail","expires_on":"2500"},"teams":{"secret":"ours-teams","expires_on":"2500"}},` +
		`"RefreshToken":{"rt":{"secret":"ours-rt"}}}`
	got, add := merge([]byte(stored), []byte(ours))
	if !add {
		t.Fatal("merge added nothing")
	}
	var doc struct {
		AccessToken  map[string]struct{ Secret string }
		RefreshToken map[string]struct{ Secret string }
		Account      map[string]any
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cal": "ours-cal", "mail": "theirs-mail", "teams": "ours-teams"}
	for k, w := range want {
		if doc.AccessToken[k].Secret != w {
			t.Errorf("access token %s = %q, want %q", k, doc.AccessToken[k].Secret, w)
		}
	}
	if doc.RefreshToken["rt"].Secret != "theirs-rt" || len(doc.Account) != 1 {
		t.Errorf("the stored refresh token or account did not win: %s", got)
	}
	// Nothing fresher: nothing to save.
	if _, add := merge(got, []byte(ours)); add {
		t.Error("merging the same access tokens again added some")
	}
	// A blob that does not parse: the stored one is kept as it is.
	for _, tc := range [][2]string{{"not json", ours}, {stored, "not json"}, {`{"AccessToken":[]}`, ours}} {
		if m, add := merge([]byte(tc[0]), []byte(tc[1])); add || string(m) != tc[0] {
			t.Errorf("merge(%.20q, %.20q) = %.40q, %v; want the stored blob unchanged", tc[0], tc[1], m, add)
		}
	}
}
