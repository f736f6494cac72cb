// Command kitsync walks a calendar view or a mail folder delta round with
// m365kit (calendar.Sync, mail.Sync), the way a product would: a static
// token for the benchmark, or a signed-in user's token from auth when
// -account is set; -chat posts a summary to a Teams chat with teams.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/bench/internal/client"
	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/teams"
)

func main() {
	account := os.Getenv("KITSYNC_ACCOUNT") // a signed-in user's account ID: use auth, not the static token
	chat := os.Getenv("KITSYNC_CHAT")       // a chat ID: post a summary with teams
	f := client.Parse()
	ctx := context.Background()

	var ts graphclient.TokenSource = graphclient.StaticToken(f.Token)
	if account != "" {
		secret, err := auth.Secret(os.Getenv("KITSYNC_CLIENT_SECRET"))
		if err != nil {
			client.Fatal(err)
		}
		app, err := auth.New(auth.Config{
			ClientID: os.Getenv("KITSYNC_CLIENT_ID"), Credential: secret, RedirectURL: os.Getenv("KITSYNC_REDIRECT_URL"),
			Store: auth.NewMemoryStore(), AllowPlaintextStore: true,
		})
		if err != nil {
			client.Fatal(err)
		}
		ts = app.TokenSource(account)
	}
	opts := []graphclient.Option{}
	if f.Decode != "" {
		page, err := os.ReadFile(f.Decode)
		if err != nil {
			client.Fatal(err)
		}
		opts = append(opts, graphclient.WithHTTPClient(&http.Client{Transport: client.Memory{Page: page}}))
	} else {
		t, err := client.Transport(f.CACert)
		if err != nil {
			client.Fatal(err)
		}
		opts = append(opts, graphclient.WithHTTPClient(&http.Client{Transport: t}))
		if f.URL != "" {
			opts = append(opts, graphclient.WithBaseURL(f.URL))
		}
	}
	gc, err := graphclient.New(ts, opts...)
	if err != nil {
		client.Fatal(err)
	}
	cal, ml := calendar.New(gc), mail.New(gc)
	body := mail.BodyHTML
	if f.NoBody {
		body = mail.BodyNone
	}
	var walk client.Walk
	switch f.Kind {
	case "calendar":
		walk = func() (items, pages int, err error) {
			for p, err := range cal.Sync(ctx, calendar.SyncRequest{Start: client.WindowStart, End: client.WindowEnd, PageSize: 100}) {
				if err != nil {
					return items, pages, err
				}
				items += len(p.Events)
				pages++
			}
			return items, pages, nil
		}
	case "mail":
		walk = func() (items, pages int, err error) {
			for p, err := range ml.Sync(ctx, mail.SyncRequest{Folder: mail.Inbox, Body: body, PageSize: 100}) {
				if err != nil {
					return items, pages, err
				}
				items += len(p.Messages) + p.Filtered()
				pages++
			}
			return items, pages, nil
		}
	default:
		client.Fatal(fmt.Errorf("unknown -kind %q (want calendar or mail)", f.Kind))
	}
	if chat != "" {
		inner := walk
		walk = func() (int, int, error) {
			items, pages, err := inner()
			if err != nil {
				return items, pages, err
			}
			_, err = teams.New(gc).PostToChat(ctx, chat, teams.TextMessage(fmt.Sprintf("synced %d %s items", items, f.Kind)))
			return items, pages, err
		}
	}
	client.Run(f, walk)
}
