package graphtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/m365kit/m365kit/graphtest"
)

// A message posted through Graph is validated as Graph does (an <at id>
// must match a mention, a card's content must be a JSON string) and can be
// read back, with the raw body as posted.
func ExampleChannel_Messages() {
	srv := graphtest.NewServer()
	defer srv.Close()
	tenant := srv.AddTenant("contoso.com")
	adele := tenant.AddUser("adele@contoso.com", "Adele Vance")
	alex := tenant.AddUser("alex@contoso.com", "Alex Wilber")
	team := tenant.AddTeam("Engineering", "Builders", adele, alex)
	tok := srv.IssueToken(adele, "client-id", "ChannelMessage.Send")

	post := func(body string) int {
		u := "https://graph.microsoft.com/v1.0/teams/" + team.ID + "/channels/" + url.PathEscape(team.General().ID) + "/messages"
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.HTTPClient().Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Println(post(`{"body":{"contentType":"html","content":"Clip ready <at id=\"0\">Alex</at>"},` +
		`"mentions":[{"id":0,"mentionText":"Alex","mentioned":{"user":{"id":"` + alex.ID + `","displayName":"Alex Wilber"}}}]}`))
	fmt.Println(post(`{"body":{"contentType":"html","content":"<at id=\"1\">Alex</at>"}}`))

	for _, m := range team.General().Messages() {
		fmt.Println(m.From.DisplayName, m.ContentType, m.Content, len(m.Mentions))
	}
	// Output:
	// 201
	// 400
	// Adele Vance html Clip ready <at id="0">Alex</at> 1
}
