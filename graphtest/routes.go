package graphtest

// The permissions Graph accepts for each route: any one of a list is
// enough, as in the permission tables of Graph's reference.
var (
	scopesMe             = []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	scopesCalendarRead   = []string{"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared"}
	scopesCalendarWrite  = []string{"Calendars.ReadWrite", "Calendars.ReadWrite.Shared"}
	scopesCalendarShared = []string{"Calendars.Read.Shared", "Calendars.ReadWrite.Shared"}
	scopesOnlineMeetings = []string{"OnlineMeetings.Read", "OnlineMeetings.ReadWrite"}
	scopesMailRead       = []string{"Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"}
	scopesMailBody       = []string{"Mail.Read", "Mail.ReadWrite"}
	scopesJoinedTeams    = []string{"Team.ReadBasic.All", "TeamSettings.Read.All", "TeamSettings.ReadWrite.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	scopesChannels       = []string{"Channel.ReadBasic.All", "ChannelSettings.Read.All", "ChannelSettings.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	scopesChats          = []string{"Chat.ReadBasic", "Chat.Read", "Chat.ReadWrite"}
	scopesChannelPost    = []string{"ChannelMessage.Send", "Group.ReadWrite.All"}
	scopesChatPost       = []string{"ChatMessage.Send", "Chat.ReadWrite"}
	// scopesAnyToken: subscriptions check the resource's permissions
	// themselves, once the resource is known.
	scopesAnyToken []string
)

// routes registers every route of both hosts: this is the one route table.
// A handler is named handle + the operation's name in Graph's or Entra's
// reference and lives in the X_routes.go file of its area.
func (s *Server) routes() {
	// Entra ID, on login.microsoftonline.com (entra_routes.go).
	s.login.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleMetadata)
	s.login.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.handleKeys)
	s.login.HandleFunc("GET /common/discovery/instance", s.handleInstance)
	s.login.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.handleAuthorize)
	s.login.HandleFunc("GET /{tenant}/v2.0/adminconsent", s.handleAdminConsent)
	// The sign-in page and consent prompt post back to their URL (pages_routes.go).
	s.login.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", s.handleAuthorize)
	s.login.HandleFunc("POST /{tenant}/v2.0/adminconsent", s.handleAdminConsent)
	s.login.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handleToken)
	s.login.HandleFunc("GET /{tenant}/oauth2/v2.0/logout", s.handleLogout)

	// Microsoft Graph, on graph.microsoft.com, each path under /v1.0/ and
	// /beta/ alike (graph.go).

	// JSON batching (batch_routes.go): each item is authorized as a request
	// of its own.
	s.graphRoute("POST /$batch", s.handleBatch)

	// The signed-in user (directory_routes.go).
	s.route("GET /me", scopesMe, s.handleGetMe)

	// Calendars (calendar_routes.go).
	s.route("GET /me/calendars", scopesCalendarRead, s.handleListCalendars)
	s.route("GET /me/calendar", scopesCalendarRead, s.handleGetCalendar)
	s.route("GET /me/events", scopesCalendarRead, s.handleListEvents)
	s.route("GET /me/events/{id}", scopesCalendarRead, s.handleGetEvent)
	s.route("PATCH /me/events/{id}", scopesCalendarWrite, s.handleUpdateEvent)
	s.route("DELETE /me/events/{id}", scopesCalendarWrite, s.handleDeleteEvent)
	s.route("GET /me/calendarView", scopesCalendarRead, s.handleCalendarView)
	s.route("GET /me/calendars/{id}/calendarView", scopesCalendarRead, s.handleCalendarView)
	s.route("GET /me/calendar/calendarView", scopesCalendarRead, s.handleCalendarView)
	s.route("GET /me/calendarView/delta", scopesCalendarRead, s.handleCalendarViewDelta)
	s.route("GET /me/onlineMeetings", scopesOnlineMeetings, s.handleListOnlineMeetings)

	// Mail (mail_routes.go).
	s.route("GET /me/mailFolders", scopesMailRead, s.handleListMailFolders)
	s.route("GET /me/mailFolders/{id}", scopesMailRead, s.handleGetMailFolder)
	s.route("GET /me/mailFolders/{id}/messages", scopesMailRead, s.handleListMessages)
	s.route("GET /me/mailFolders/{id}/messages/delta", scopesMailRead, s.handleMessagesDelta)
	s.route("GET /me/messages", scopesMailRead, s.handleListMessages)
	s.route("GET /me/messages/{id}", scopesMailRead, s.handleGetMessage)

	// Teams (teams_routes.go).
	s.route("GET /me/joinedTeams", scopesJoinedTeams, s.handleListJoinedTeams)
	s.route("GET /teams/{team}/channels", scopesChannels, s.handleListChannels)
	s.route("GET /me/chats", scopesChats, s.handleListChats)
	s.route("POST /teams/{team}/channels/{channel}/messages", scopesChannelPost, s.handleSendChannelMessage)
	s.route("POST /teams/{team}/channels/{channel}/messages/{message}/replies", scopesChannelPost, s.handleSendChannelMessage)
	s.route("POST /chats/{chat}/messages", scopesChatPost, s.handleSendChatMessage)

	// Change notifications (subscriptions_routes.go).
	s.route("POST /subscriptions", scopesAnyToken, s.handleCreateSubscription)
	s.route("GET /subscriptions", scopesAnyToken, s.handleListSubscriptions)
	s.route("GET /subscriptions/{id}", scopesAnyToken, s.handleGetSubscription)
	s.route("PATCH /subscriptions/{id}", scopesAnyToken, s.handleUpdateSubscription)
	s.route("DELETE /subscriptions/{id}", scopesAnyToken, s.handleDeleteSubscription)
	s.route("POST /subscriptions/{id}/reauthorize", scopesAnyToken, s.handleReauthorizeSubscription)
}
