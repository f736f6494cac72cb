package recording

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// fakeJWT returns a JWT-shaped token whose signature is sig.
func fakeJWT(claims map[string]any, sig string) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + base64.RawURLEncoding.EncodeToString([]byte(sig))
}

// stub answers every request with a fixed response, for recording without
// a server.
type stub struct {
	status int
	header http.Header
	body   string
}

func (s stub) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	h := s.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: s.status, Header: h, Body: io.NopCloser(strings.NewReader(s.body)), Request: req}, nil
}

// secretExchanges sends, through a Recorder, one exchange for each place a
// secret can sit, each carrying secret, and returns the recording's file.
func secretExchanges(t testing.TB, secret string, cfg Config) string {
	rec := NewRecorder(cfg)
	send := func(method, rawURL, contentType, body string, h http.Header, resp stub) {
		req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == "" {
			req.Body = nil
		}
		for k, vs := range h {
			req.Header[k] = vs
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if resp.status == 0 {
			resp.status = 200
		}
		res, err := rec.Transport(resp).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	q := url.QueryEscape(secret)
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	idToken := fakeJWT(map[string]any{"tid": "t", "nonce": secret, "name": "Adele Vance", "iat": 1, "exp": 2}, secret)
	tokenBody, _ := json.Marshal(map[string]any{
		"access_token": secret, "refresh_token": secret + "-r", "id_token": idToken, "token_type": "Bearer", "expires_in": 3600,
	})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {secret}, "code_verifier": {secret}, "client_secret": {secret},
		"client_assertion": {secret}, "refresh_token": {secret}, "redirect_uri": {"http://localhost/cb"}}
	send("POST", "https://login.microsoftonline.com/organizations/oauth2/v2.0/token", "application/x-www-form-urlencoded", form.Encode(), nil,
		stub{header: jsonHeader, body: string(tokenBody)})
	send("GET", "https://graph.microsoft.com/v1.0/me", "", "", http.Header{"Authorization": {"Bearer " + secret}, "Cookie": {"session=" + secret}},
		stub{header: http.Header{"Set-Cookie": {"x=" + secret + "; Secure"}, "Content-Type": {"application/json"}}, body: `{"id":"1"}`})
	send("GET", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=c&code_challenge="+q+"&state="+q+"&nonce="+q, "", "", nil,
		stub{status: 302, header: http.Header{"Location": {"http://localhost/cb?code=" + q + "&state=" + q + "#access_token=" + q + "&id_token=" + q}}})
	sub, _ := json.Marshal(map[string]any{"changeType": "created", "clientState": secret, "notificationUrl": "https://app.example.com/hook?token=" + q})
	send("POST", "https://graph.microsoft.com/v1.0/subscriptions", "application/json", string(sub), nil, stub{status: 201, header: jsonHeader, body: string(sub)})
	notif, _ := json.Marshal(map[string]any{"value": []any{map[string]any{"clientState": secret, "encryptedContent": map[string]any{"dataKey": secret}}}, "validationTokens": []string{secret}})
	send("POST", "https://app.example.com/hook", "application/json", string(notif), nil, stub{status: 202})
	send("POST", "https://login.microsoftonline.com/organizations/oauth2/v2.0/token", "application/x-www-form-urlencoded",
		"grant_type=refresh_token&refresh_token="+q, nil,
		stub{status: 400, header: jsonHeader, body: `{"error":"invalid_grant","error_description":"AADSTS70000: the refresh_token=` + secret + ` is bad"}`})
	send("POST", "https://login.microsoftonline.com/organizations/oauth2/v2.0/token", "application/x-www-form-urlencoded", "grant_type=client_credentials",
		http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("client-id:"+url.QueryEscape(secret)))}},
		stub{status: 401, header: jsonHeader, body: `{"error":"invalid_client","error_description":"secret ` + secret + ` expired"}`})
	send("GET", "https://graph.microsoft.com/v1.0/me/events?access_token="+q, "", "", http.Header{"Proxy-Authorization": {"Basic " + secret}},
		stub{header: http.Header{"Www-Authenticate": {`Bearer realm="", error_description="token ` + secret + `"`}}, body: "plain text with " + idToken + " inside"})
	req, _ := http.NewRequest("POST", "http://localhost/cb", strings.NewReader(url.Values{"code": {secret}, "state": {secret}, "id_token": {idToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec.Callback(req)
	var b strings.Builder
	if err := rec.Recording().Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// leaks reports the forms of secret that appear in file.
func leaks(file, secret string) []string {
	var found []string
	j, _ := json.Marshal(secret)
	for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), string(j[1 : len(j)-1]), base64.RawURLEncoding.EncodeToString([]byte(secret))} {
		if strings.Contains(file, form) {
			found = append(found, form)
		}
	}
	return found
}

func TestRedactsEverySecret(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"0.AUoA-s3cr3t_value~x", "M.C547_BAY.0.U.-Cs/+=?&#ab", "eyJzZWNyZXQiOnRydWV9"} {
		file := secretExchanges(t, secret, Config{})
		if l := leaks(file, secret); len(l) > 0 {
			t.Errorf("secret %q survives recording as %q:\n%s", secret, l, file)
		}
		for _, h := range []string{"Authorization", "Cookie", "Set-Cookie", "Proxy-Authorization"} {
			if strings.Contains(file, `"`+h+`"`) {
				t.Errorf("header %s recorded", h)
			}
		}
	}
}

// The ID token keeps its claims and loses its signature and nonce; the
// rest of a token response stays readable.
func TestRedactKeepsWhatReplayNeeds(t *testing.T) {
	t.Parallel()
	file := secretExchanges(t, "a-secret-value-1", Config{})
	rec, err := Read(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		IDToken struct {
			Header map[string]any `json:"header"`
			Claims map[string]any `json:"claims"`
		} `json:"id_token"`
		ExpiresIn int    `json:"expires_in"`
		TokenType string `json:"token_type"`
	}
	if err := json.Unmarshal(rec.Exchanges[0].Response.JSON, &tok); err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresIn != 3600 || tok.TokenType != "Bearer" || tok.IDToken.Header["alg"] != "RS256" {
		t.Fatalf("token response = %+v", tok)
	}
	if c := tok.IDToken.Claims; c["tid"] != "t" || c["nonce"] != Redacted || c["name"] != "Adele Vance" {
		t.Errorf("claims = %v", c)
	}
	if got := rec.Exchanges[0].Request.Text; !strings.Contains(got, "grant_type=authorization_code") || !strings.Contains(got, "redirect_uri=http") {
		t.Errorf("token request form = %q; want grant_type and redirect_uri kept", got)
	}
	if rec.Exchanges[1].Response.JSON == nil || rec.Exchanges[1].Status != 200 {
		t.Errorf("GET /me answer = %+v", rec.Exchanges[1])
	}
	if !strings.Contains(rec.Exchanges[2].ResponseHeader.Get("Location"), "http://localhost/cb?code=REDACTED&state=REDACTED#access_token=REDACTED&id_token=REDACTED") {
		t.Errorf("Location = %q", rec.Exchanges[2].ResponseHeader.Get("Location"))
	}
	if x := rec.Exchanges[len(rec.Exchanges)-1]; x.Kind != "callback" || !strings.Contains(x.Request.Text, "state=REDACTED") {
		t.Errorf("callback = %+v", x)
	}
}

// Graph's error codes and odata fragments are not secrets.
func TestRedactKeepsGraphErrors(t *testing.T) {
	t.Parallel()
	r := newRedactor(Config{})
	b := r.body("application/json", []byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users/$entity","error":{"code":"ErrorItemNotFound","message":"gone"}}`))
	want := `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users/$entity","error":{"code":"ErrorItemNotFound","message":"gone"}}`
	if string(b.JSON) != want {
		t.Errorf("body = %s\nwant  %s", b.JSON, want)
	}
}

func TestPseudonymize(t *testing.T) {
	t.Parallel()
	r := newRedactor(Config{Pseudonymize: true})
	in := `{"value":[{"subject":"Fabrikam pilot","bodyPreview":"Join at https://zoom.us/j/123 please",` +
		`"body":{"contentType":"html","content":"<p>Call Katie</p> https://teams.microsoft.com/l/meetup-join/x"},` +
		`"organizer":{"emailAddress":{"name":"Katie Jordan","address":"katie@fabrikam.com"}},` +
		`"attendees":[{"emailAddress":{"name":"Adele Vance","address":"adele@contoso.com"}},{"emailAddress":{"name":"Katie Jordan","address":"katie@fabrikam.com"}},{"emailAddress":{"name":"Alex","address":"alex@contoso.com"}}],` +
		`"location":{"displayName":"Room 1"}}]}`
	out := string(r.body("application/json", []byte(in)).JSON)
	for _, gone := range []string{"Fabrikam pilot", "Katie", "Adele", "fabrikam.com", "contoso.com", "Room 1", "Call"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q survives pseudonymization: %s", gone, out)
		}
	}
	for _, kept := range []string{"https://zoom.us/j/123", "https://teams.microsoft.com/l/meetup-join/x", `"address":"person1@domain1.example"`, `"address":"person2@domain2.example"`, `"address":"person3@domain1.example"`,
		`"organizer":{"emailAddress":{"address":"person2@domain2.example","name":"Person 2"}}`} {
		if !strings.Contains(out, kept) {
			t.Errorf("%q missing: %s", kept, out)
		}
	}
	// The same person maps to the same stand-in, in URLs too.
	if got := r.url("https://graph.microsoft.com/v1.0/users/katie@fabrikam.com"); got != "https://graph.microsoft.com/v1.0/users/person2@domain2.example" {
		t.Errorf("url = %s", got)
	}
}
