package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestAccessTokenCacheSweepsExpired(t *testing.T) {
	t.Parallel()
	cred, _ := Secret("s")
	now := testNow
	a, err := New(Config{ClientID: testClient, Credential: cred, RedirectURL: "https://app.example.com/cb",
		Store: NewMemoryStore(), AllowPlaintextStore: true})
	if err != nil {
		t.Fatal(err)
	}
	a.now = func() time.Time { return now }
	for i := 1; i < sweepEvery; i++ {
		a.remember(fmt.Sprintf("gone%d.tenant", i), "user.read", "tok", now.Add(-time.Minute))
	}
	a.remember("live.tenant", "user.read", "tok-live", now.Add(time.Hour)) // the sweepEvery-th insertion
	if len(a.atCache) != 1 {
		t.Errorf("%d accounts cached after a sweep, want only the unexpired one", len(a.atCache))
	}
	if tok, ok := a.cached("live.tenant", "user.read"); !ok || tok.token != "tok-live" {
		t.Errorf("cached = %+v, %v", tok, ok)
	}
	now = now.Add(56 * time.Minute) // within 5 minutes of expiry: not handed out
	if _, ok := a.cached("live.tenant", "user.read"); ok {
		t.Error("a token about to expire was handed out")
	}
}
