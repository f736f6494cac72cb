package consent_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/scopes"
)

// TestVerifyChatMessages proves the opt-in ChatMessages feature is checked
// like the others: ready when Chat.Read is granted and chats can be
// listed, and not ready, naming Chat.Read, when the grant lacks it.
func TestVerifyChatMessages(t *testing.T) {
	t.Parallel()
	srv := graphtest.New(t)
	const clientID = "00001111-aaaa-2222-bbbb-3333cccc4444"
	tenant := srv.AddTenant("contoso.com")
	adele := tenant.AddUser("adele@contoso.com", "Adele Vance")
	alex := tenant.AddUser("alex@contoso.com", "Alex Wilber")
	tenant.AddChat("oneOnOne", "", adele, alex)

	all := scopes.For(scopes.ChatMessages)
	chatRead, _ := scopes.ByName("Chat.Read")
	withoutRead := scopes.For(scopes.Teams)
	tests := []struct {
		name    string
		granted []string
		want    consent.Check
	}{
		{"granted", all, consent.Check{Feature: scopes.ChatMessages, Ready: true, Probe: "GET me/chats", Detail: "1 chat"}},
		{"Chat.Read missing", withoutRead, consent.Check{Feature: scopes.ChatMessages, Missing: []scopes.Permission{chatRead}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gc, err := graphclient.New(graphclient.StaticToken(srv.IssueToken(adele, clientID, tt.granted...)),
				graphclient.WithHTTPClient(srv.HTTPClient()))
			if err != nil {
				t.Fatal(err)
			}
			r := consent.Verify(t.Context(), gc, tt.granted, scopes.ChatMessages)
			got, ok := r.Check(scopes.ChatMessages)
			if !ok {
				t.Fatalf("no ChatMessages check in\n%s", r)
			}
			got.Diagnosis = consent.Diagnosis{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ChatMessages check (-want +got):\n%s\nreport:\n%s", diff, r)
			}
		})
	}
}
