// Package graphtest is a fake Microsoft 365 for tests, examples and local
// development: the Entra ID authority (login.microsoftonline.com) and
// Microsoft Graph (graph.microsoft.com) served from one TLS listener on the
// loopback address.
//
// Code under test keeps the production URLs. Server.HTTPClient returns an
// *http.Client that trusts the fake's certificate and sends every
// connection for those two hosts to it, so MSAL Go, graphclient and your own
// code run unchanged:
//
//	srv := graphtest.New(t)
//	tenant := srv.AddTenant("contoso.com")
//	adele := tenant.AddUser("adele@contoso.com", "Adele Vance")
//	tok := srv.IssueToken(adele, clientID, "User.Read")
//	gc, _ := graphclient.New(graphclient.StaticToken(tok),
//		graphclient.WithHTTPClient(srv.HTTPClient()))
package graphtest
