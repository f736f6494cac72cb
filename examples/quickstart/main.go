// Quickstart walks the whole Microsoft 365 integration of m365kit, the way a
// tenant administrator's setup guide describes it: admin consent, "Sign in
// with Microsoft", verification, calendar sync with the meetings a notetaker
// would join, read-only mail sync with a relevance filter, and a recording
// clip shared to a Teams channel.
//
// With no configuration it runs in seconds against graphtest's demo tenant
// (contoso.com), started in-process:
//
//	go run ./examples/quickstart
//
// To run the same steps against your own tenant, register an app in Microsoft
// Entra ID (see README.md, "Register the app") with the redirect URI
// http://localhost:8400/callback, then:
//
//	export M365KIT_CLIENT_ID=<Application (client) ID>
//	export M365KIT_CLIENT_SECRET=<client secret Value>    # or M365KIT_CLIENT_CERT + M365KIT_CLIENT_KEY (PEM files)
//	export M365KIT_REDIRECT_URL=http://localhost:8400/callback
//	go run ./examples/quickstart -channel "Sales/General"
//
// The program serves the consent and sign-in callbacks on the redirect URL's
// loopback port and prints the URLs to open. Tokens are kept in an encrypted
// file store under os.UserConfigDir()/m365kit (M365KIT_CONFIG_DIR overrides
// it), sealed with M365KIT_STORE_KEY (32 bytes, hex or base64) or with a key
// file it creates there with mode 0600.
//
// Flags:
//
//	-features calendar,mail,teams   features to run (sign-in is always on)
//	-days 30                        calendar window, from today
//	-channel Team/Channel           where to share the clip (the demo picks one; a real tenant needs it)
//	-json                           print one JSON summary on stdout; steps go to stderr
//	-record DIR                     record every exchange with Entra ID and Graph into a new file in DIR (secrets redacted)
//	-pseudonymize                   with -record: names, addresses, subjects and bodies replaced by stand-ins
//	-replay DIR                     answer every exchange from the newest quickstart recording in DIR, offline
package main

import "github.com/m365kit/m365kit/examples/internal/setup"

func main() { setup.Main("quickstart", runEnv) }
