package graphtest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/m365kit/m365kit/graphtest"
)

// A sign-in with plain net/http: the authorize redirect, the code
// redemption with PKCE, and a Graph call with the access token.
func ExampleServer_Browse() {
	ctx := context.Background()
	srv := graphtest.NewServer()
	defer srv.Close()
	srv.AddApp(graphtest.App{ClientID: "my-app", ClientSecret: "s3cret", RedirectURIs: []string{"https://app.example.com/callback"}})
	contoso := srv.AddTenant("contoso.com")
	contoso.AddUser("adele@contoso.com", "Adele Vance")
	contoso.Grant("my-app", "User.Read") // an admin consented already

	verifier := "a-long-random-pkce-verifier-of-at-least-43-characters"
	sum := sha256.Sum256([]byte(verifier))
	authorize := "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?" + url.Values{
		"client_id": {"my-app"}, "response_type": {"code"}, "redirect_uri": {"https://app.example.com/callback"},
		"scope": {"openid profile offline_access User.Read"}, "state": {"xyz"}, "nonce": {"n-0S6"},
		"login_hint":     {"adele@contoso.com"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()

	cb, err := srv.Browse(ctx, authorize) // the user signs in; the browser comes back
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("callback:", cb.URL.Host+cb.URL.Path, "state", cb.URL.Query().Get("state"))

	hc := srv.HTTPClient() // production URLs, served by the fake
	resp, err := hc.PostForm("https://login.microsoftonline.com/organizations/oauth2/v2.0/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"my-app"}, "client_secret": {"s3cret"},
		"code": {cb.URL.Query().Get("code")}, "redirect_uri": {"https://app.example.com/callback"},
		"code_verifier": {verifier}, "scope": {"User.Read offline_access openid"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
		Scope        string `json:"scope"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	fmt.Println("scope:", tok.Scope)

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://graph.microsoft.com/v1.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	me, err := hc.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer me.Body.Close()
	var user struct {
		DisplayName string `json:"displayName"`
	}
	_ = json.NewDecoder(me.Body).Decode(&user)
	fmt.Println("signed in:", user.DisplayName)
	// Output:
	// callback: app.example.com/callback state xyz
	// scope: User.Read openid offline_access
	// signed in: Adele Vance
}

// Admin consent records the tenant's grant; a declined consent comes back
// as an error on the redirect.
func ExampleServer_DeclineNextConsent() {
	ctx := context.Background()
	srv := graphtest.NewServer()
	defer srv.Close()
	srv.AddApp(graphtest.App{ClientID: "my-app", ClientSecret: "s3cret", RedirectURIs: []string{"https://app.example.com/consent"}})
	contoso := srv.AddTenant("contoso.com")
	contoso.AddUser("megan@contoso.com", "Megan Bowen", graphtest.Admin())

	consent := "https://login.microsoftonline.com/organizations/v2.0/adminconsent?" + url.Values{
		"client_id": {"my-app"}, "redirect_uri": {"https://app.example.com/consent"}, "state": {"s1"},
		"scope": {"https://graph.microsoft.com/Calendars.Read https://graph.microsoft.com/Mail.Read"},
	}.Encode()

	srv.DeclineNextConsent()
	cb, _ := srv.Browse(ctx, consent)
	desc, _, _ := strings.Cut(cb.URL.Query().Get("error_description"), ":")
	fmt.Println("declined:", cb.URL.Query().Get("error"), desc)

	cb, _ = srv.Browse(ctx, consent)
	q := cb.URL.Query()
	fmt.Println("admin_consent:", q.Get("admin_consent"), "for contoso:", q.Get("tenant") == contoso.ID)
	fmt.Println("granted:", contoso.Granted("my-app"))
	// Output:
	// declined: access_denied AADSTS65004
	// admin_consent: True for contoso: true
	// granted: [Calendars.Read Mail.Read]
}

// Faults make Graph throttle, fail or drop; the request log shows what
// reached the fake.
func ExampleServer_Inject() {
	srv := graphtest.NewServer()
	defer srv.Close()
	adele := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	token := srv.IssueToken(adele, "my-app", "User.Read")

	srv.Inject(graphtest.Fault{Kind: graphtest.Throttle, PathPrefix: "/me", RetryAfter: "2"})
	hc := srv.HTTPClient()
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, "https://graph.microsoft.com/v1.0/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Printf("%s (Retry-After %q)\n", resp.Status, resp.Header.Get("Retry-After"))
	}
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Host+r.Path, r.Status)
	}
	// Output:
	// 429 Too Many Requests (Retry-After "2")
	// 200 OK (Retry-After "")
	// GET graph.microsoft.com/v1.0/me 429
	// GET graph.microsoft.com/v1.0/me 200
}

// Token-endpoint errors are injected one at a time, in Entra's body.
func ExampleServer_FailNextToken() {
	srv := graphtest.NewServer()
	defer srv.Close()
	srv.AddApp(graphtest.App{ClientID: "my-app", ClientSecret: "s3cret"})
	srv.FailNextToken(graphtest.ErrRevoked())

	resp, err := srv.HTTPClient().PostForm("https://login.microsoftonline.com/organizations/oauth2/v2.0/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"my-app"}, "client_secret": {"s3cret"}, "refresh_token": {"rt"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var e struct {
		Error      string `json:"error"`
		SubError   string `json:"suberror"`
		ErrorCodes []int  `json:"error_codes"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	fmt.Println(resp.StatusCode, e.Error, e.SubError, e.ErrorCodes, srv.TokenCalls())
	// Output:
	// 400 invalid_grant bad_token [50173] 1
}

// MSAL Go runs unchanged against the fake: the production authority, and
// srv.HTTPClient() as its HTTP client. The app appends the PKCE challenge
// (and state and nonce) to MSAL's authorize URL itself.
func Example_msal() {
	ctx := context.Background()
	srv := graphtest.NewServer()
	defer srv.Close()
	srv.AddApp(graphtest.App{ClientID: "my-app", ClientSecret: "s3cret", RedirectURIs: []string{"https://app.example.com/callback"}})
	contoso := srv.AddTenant("contoso.com")
	adele := contoso.AddUser("adele@contoso.com", "Adele Vance")
	contoso.Grant("my-app", "Calendars.Read")

	cred, _ := confidential.NewCredFromSecret("s3cret")
	app, err := confidential.New("https://login.microsoftonline.com/organizations", "my-app", cred,
		confidential.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		fmt.Println(err)
		return
	}
	scopes := []string{"https://graph.microsoft.com/Calendars.Read"}
	raw, _ := app.AuthCodeURL(ctx, "my-app", "https://app.example.com/callback",
		append([]string{"openid", "profile", "offline_access"}, scopes...), confidential.WithLoginHint("adele@contoso.com"))
	verifier := "a-long-random-pkce-verifier-of-at-least-43-characters"
	sum := sha256.Sum256([]byte(verifier))
	raw += "&state=xyz&nonce=n1&code_challenge_method=S256&code_challenge=" + base64.RawURLEncoding.EncodeToString(sum[:])

	cb, err := srv.Browse(ctx, raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := app.AcquireTokenByAuthCode(ctx, cb.URL.Query().Get("code"), "https://app.example.com/callback", scopes,
		confidential.WithChallenge(verifier))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("account is adele:", res.Account.HomeAccountID == adele.AccountID())

	again, _ := app.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(res.Account))
	fmt.Println("from cache:", again.Metadata.TokenSource == confidential.TokenSourceCache, "token calls:", srv.TokenCalls())
	// Output:
	// account is adele: true
	// from cache: true token calls: 1
}
