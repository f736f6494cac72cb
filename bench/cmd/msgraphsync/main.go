// Command msgraphsync does kitsync's delta walk with Microsoft's Go SDK
// (github.com/microsoftgraph/msgraph-sdk-go): request builders, the
// core PageIterator, the azure authentication provider fed by an
// azcore.TokenCredential (a fixed token for the benchmark, or azidentity's
// client-secret credential when MSGRAPHSYNC_TENANT is set) and the SDK's
// default middleware pipeline over a transport that trusts the fake.
// MSGRAPHSYNC_CHAT posts a summary to a Teams chat.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	core "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/m365kit/m365kit/bench/internal/client"
)

// staticCredential is an azcore.TokenCredential handing out a fixed token.
type staticCredential string

func (s staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func main() {
	tenant := os.Getenv("MSGRAPHSYNC_TENANT")
	chat := os.Getenv("MSGRAPHSYNC_CHAT")
	f := client.Parse()
	ctx := context.Background()

	var cred azcore.TokenCredential = staticCredential(f.Token)
	if tenant != "" {
		c, err := azidentity.NewClientSecretCredential(tenant, os.Getenv("MSGRAPHSYNC_CLIENT_ID"), os.Getenv("MSGRAPHSYNC_CLIENT_SECRET"), nil)
		if err != nil {
			client.Fatal(err)
		}
		cred = c
	}
	authProvider, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred,
		[]string{"https://graph.microsoft.com/.default"}, []string{"graph.microsoft.com", "127.0.0.1"})
	if err != nil {
		client.Fatal(err)
	}
	var parent http.RoundTripper
	if f.Decode != "" {
		page, err := os.ReadFile(f.Decode)
		if err != nil {
			client.Fatal(err)
		}
		parent = client.Memory{Page: page}
	} else {
		t, err := client.Transport(f.CACert)
		if err != nil {
			client.Fatal(err)
		}
		parent = t
	}
	opts := core.GraphClientOptions{GraphServiceVersion: "v1.0", GraphServiceLibraryVersion: "1.89.0"}
	hc := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(parent, core.GetDefaultMiddlewaresWithOptions(&opts)...)}
	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(authProvider, nil, nil, hc)
	if err != nil {
		client.Fatal(err)
	}
	if f.URL != "" && f.Decode == "" {
		adapter.SetBaseUrl(strings.TrimSuffix(f.URL, "/"))
	}
	gs := msgraph.NewGraphServiceClient(adapter)

	headers := func() *abs.RequestHeaders {
		h := abs.NewRequestHeaders()
		h.Add("Prefer", "odata.maxpagesize=100")
		h.Add("Prefer", `outlook.timezone="UTC"`)
		h.Add("Prefer", `outlook.body-content-type="html"`)
		return h
	}
	var walk client.Walk
	switch f.Kind {
	case "calendar":
		start, end := client.WindowStart.Format(time.RFC3339), client.WindowEnd.Format(time.RFC3339)
		walk = func() (items, pages int, err error) {
			resp, err := gs.Me().CalendarView().Delta().GetAsDeltaGetResponse(ctx, &users.ItemCalendarViewDeltaRequestBuilderGetRequestConfiguration{
				Headers:         headers(),
				QueryParameters: &users.ItemCalendarViewDeltaRequestBuilderGetQueryParameters{StartDateTime: &start, EndDateTime: &end},
			})
			if err != nil {
				return 0, 0, err
			}
			it, err := core.NewPageIterator[models.Eventable](resp, adapter, users.CreateItemCalendarViewDeltaGetResponseFromDiscriminatorValue)
			if err != nil {
				return 0, 0, err
			}
			it.SetHeaders(headers())
			err = it.Iterate(ctx, func(ev models.Eventable) bool {
				items++
				return true
			})
			if err == nil && it.GetOdataDeltaLink() == nil {
				err = fmt.Errorf("round ended without a deltaLink")
			}
			return items, (items + 99) / 100, err
		}
	case "mail":
		sel := strings.Split(f.Select(), ",")
		walk = func() (items, pages int, err error) {
			resp, err := gs.Me().MailFolders().ByMailFolderId("inbox").Messages().Delta().GetAsDeltaGetResponse(ctx, &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration{
				Headers:         headers(),
				QueryParameters: &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetQueryParameters{Select: sel},
			})
			if err != nil {
				return 0, 0, err
			}
			it, err := core.NewPageIterator[models.Messageable](resp, adapter, users.CreateItemMailFoldersItemMessagesDeltaGetResponseFromDiscriminatorValue)
			if err != nil {
				return 0, 0, err
			}
			it.SetHeaders(headers())
			err = it.Iterate(ctx, func(m models.Messageable) bool {
				items++
				return true
			})
			if err == nil && it.GetOdataDeltaLink() == nil {
				err = fmt.Errorf("round ended without a deltaLink")
			}
			return items, (items + 99) / 100, err
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
			m := models.NewChatMessage()
			b := models.NewItemBody()
			text := fmt.Sprintf("synced %d %s items", items, f.Kind)
			b.SetContent(&text)
			m.SetBody(b)
			_, err = gs.Chats().ByChatId(chat).Messages().Post(ctx, m, nil)
			return items, pages, err
		}
	}
	client.Run(f, walk)
}
