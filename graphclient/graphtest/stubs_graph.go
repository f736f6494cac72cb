package graphtest

// userData holds a user's Graph data: calendar, mailbox, chats.
// Owned by the Graph-data part of the fake.
type userData struct{}

func newUserData(u *User) *userData { return &userData{} }

// routesGraph registers the Graph routes. Owned by the Graph-data part.
func (s *Server) routesGraph() {}

type tenantData struct{}
