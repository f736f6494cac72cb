package graphtest

import "testing"

// BenchmarkNewServer measures starting and stopping a fake (goal: under
// 50 ms).
func BenchmarkNewServer(b *testing.B) {
	for b.Loop() {
		NewServer().Close()
	}
}

// BenchmarkSignIn measures one authorize + code redemption round trip,
// ID-token signing included.
func BenchmarkSignIn(b *testing.B) {
	f := newEntraFixture(b)
	for b.Loop() {
		req, err := f.srv.Browse(b.Context(), authURL("organizations", nil))
		if err != nil {
			b.Fatal(err)
		}
		resp, err := f.srv.HTTPClient().PostForm("https://"+LoginHost+"/organizations/oauth2/v2.0/token", tokenForm(req.URL.Query().Get("code")))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
	}
}
