package graphtest

func (s *Server) routesTeams() {}

type Team struct{}
type Chat struct{}
