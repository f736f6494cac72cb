package scopes_test

import (
	"fmt"

	"github.com/m365kit/m365kit/scopes"
)

func ExampleFor() {
	fmt.Println(scopes.For(scopes.Mail))
	// Output: [openid profile email offline_access User.Read Mail.Read]
}

func ExampleMissing() {
	// The scopes a token response granted: the tenant consented to
	// calendar sync but not to posting in channels.
	granted := []string{"openid", "User.Read", "Team.ReadBasic.All", "Channel.ReadBasic.All", "Chat.ReadBasic", "ChatMessage.Send"}
	for _, p := range scopes.Missing(granted, scopes.Teams) {
		fmt.Printf("%s: %s\n", p.Name, p.Description)
	}
	// Output: ChannelMessage.Send: Send channel messages as the user.
}
