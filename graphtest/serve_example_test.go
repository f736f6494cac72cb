package graphtest_test

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// A worker process reaches a fake served by another process (cmd/m365fake
// prints addr= and ca=) with only those two settings: ClientFor maps the
// production hosts to the address, so the SDK keeps its production URLs.
// Browse, run in the worker, signs the login_hint's user in without a person.
func ExampleClientFor() {
	// In the serving process (here the same one, for the example).
	srv := graphtest.NewServer()
	defer srv.Close()
	srv.AddDemoTenant()
	addr, caPEM := srv.Addr(), srv.CertificatePEM()

	// In the worker process.
	ctx := context.Background()
	hc, err := graphtest.ClientFor(addr, caPEM)
	if err != nil {
		fmt.Println(err)
		return
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	store, _ := auth.Sealed(auth.NewMemoryStore(), key)
	cred, _ := auth.Secret(graphtest.DemoClientSecret)
	app, err := auth.New(auth.Config{ClientID: graphtest.DemoClientID, Credential: cred,
		RedirectURL: graphtest.DemoRedirectURL, Store: store, HTTPClient: hc})
	if err != nil {
		fmt.Println(err)
		return
	}
	signInURL, pending, err := app.SignInURL(auth.SignInRequest{Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	callback, err := graphtest.Browse(ctx, hc, signInURL)
	if err != nil {
		fmt.Println(err)
		return
	}
	user, err := app.CompleteSignIn(ctx, callback, pending)
	if err != nil {
		fmt.Println(err)
		return
	}
	gc, err := graphclient.New(app.TokenSource(user.AccountID, scopes.Calendar), graphclient.WithHTTPClient(hc))
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := gc.NewRequest(ctx, "GET", "me", nil)
	var me struct {
		DisplayName string `json:"displayName"`
	}
	if _, err := gc.Do(req, &me); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(me.DisplayName)
	// Output: Adele Vance
}
