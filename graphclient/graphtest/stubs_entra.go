package graphtest

// routesEntra registers the authority's routes (OpenID metadata, JWKS,
// authorize, admin consent, token). Owned by the Entra part of the fake.
func (s *Server) routesEntra() {}
