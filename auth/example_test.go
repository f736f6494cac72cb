package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// Example signs a user in against the fake Microsoft 365 of graphtest and
// gets a Graph token for the calendar feature.
func Example() {
	ctx := context.Background()
	srv := graphtest.NewServer()
	defer srv.Close()
	srv.AddApp(graphtest.App{ClientID: "6731de76-14a6-49ae-97bc-6eba6914391e", ClientSecret: "secret",
		RedirectURIs: []string{"https://app.example.com/auth/callback"}})
	contoso := srv.AddTenant("contoso.com")
	contoso.Grant("6731de76-14a6-49ae-97bc-6eba6914391e", scopes.For(scopes.Calendar)...) // admin consent
	contoso.AddUser("adele@contoso.com", "Adele Vance")

	key := bytes.Repeat([]byte{1}, 32) // in production: 32 random bytes from a secret manager
	store, err := auth.Sealed(auth.NewMemoryStore(), key)
	if err != nil {
		log.Fatal(err)
	}
	cred, err := auth.Secret("secret")
	if err != nil {
		log.Fatal(err)
	}
	app, err := auth.New(auth.Config{
		ClientID:    "6731de76-14a6-49ae-97bc-6eba6914391e",
		Credential:  cred,
		RedirectURL: "https://app.example.com/auth/callback",
		Store:       store,
		HTTPClient:  srv.HTTPClient(),
	})
	if err != nil {
		log.Fatal(err)
	}

	signInURL, pending, err := app.SignInURL(auth.SignInRequest{
		Features: []scopes.Feature{scopes.Calendar}, LoginHint: "adele@contoso.com"})
	if err != nil {
		log.Fatal(err)
	}
	callback, err := srv.Browse(ctx, signInURL) // the user's browser
	if err != nil {
		log.Fatal(err)
	}
	user, err := app.CompleteSignIn(ctx, callback, pending)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", user.Name, user.Username)

	tok, err := app.TokenSource(user.AccountID, scopes.Calendar).Token(ctx)
	fmt.Println("token:", tok != "", err)

	if err := app.SignOut(ctx, user.AccountID); err != nil {
		log.Fatal(err)
	}
	_, err = app.TokenSource(user.AccountID, scopes.Calendar).Token(ctx)
	fmt.Println("after sign-out:", errors.Is(err, auth.ErrNotSignedIn))
	// Output:
	// signed in: Adele Vance adele@contoso.com
	// token: true <nil>
	// after sign-out: true
}

// ExampleSealed rotates the encryption key of a store: values sealed with
// the old key still open, new writes use the new one.
func ExampleSealed() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "tokens")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	files, err := auth.NewFileStore(dir)
	if err != nil {
		log.Fatal(err)
	}
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)

	before, _ := auth.Sealed(files, oldKey)
	_ = before.Save(ctx, "oid.tid", []byte("token cache"), 0)

	after, _ := auth.Sealed(files, newKey, oldKey)
	v, _, err := after.Load(ctx, "oid.tid")
	fmt.Printf("%s %v\n", v, err)

	_, _, err = files.Load(ctx, "missing")
	fmt.Println(errors.Is(err, auth.ErrNoToken))
	// Output:
	// token cache <nil>
	// true
}

// ExamplePendingCookie keeps a pending sign-in in a sealed cookie between
// the redirect to Microsoft and the callback.
func ExamplePendingCookie() {
	key := bytes.Repeat([]byte{7}, 32)
	c, err := auth.PendingCookie(key, auth.Pending{State: "st", Nonce: "no", Verifier: "ve"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Name, c.HttpOnly, c.Secure)
	// Output: m365kit_signin true true
}
