package graphtest

import (
	"crypto/x509"
	"slices"
	"strings"

	"github.com/m365kit/m365kit/scopes"
)

// App is a multi-tenant application registration the fake authority knows.
type App struct {
	// ClientID is the application (client) ID.
	ClientID string
	// DisplayName is the application's name on the authority's pages
	// (sign-in, consent prompt, errors); empty shows the client ID.
	DisplayName string
	// ClientSecret is the secret the token endpoint accepts; empty when
	// the app authenticates with a certificate.
	ClientSecret string
	// RedirectURIs are the registered redirect URIs, matched exactly.
	RedirectURIs []string
	// Certificate, when set, is the certificate credential registered on
	// the app: client assertions must be signed with its key. Without it
	// any well-formed RS256 assertion naming the client is accepted.
	Certificate *x509.Certificate
	// Scopes are the Graph permissions configured on the registration,
	// what a request for "https://graph.microsoft.com/.default" asks for.
	// Empty means every permission in scopes.Catalog.
	Scopes []string
}

// AddApp registers an application with the fake authority. Requests that
// name an unknown client ID are refused as Entra refuses them (AADSTS700016).
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := a
	cp.RedirectURIs = slices.Clone(a.RedirectURIs)
	cp.Scopes = slices.Clone(a.Scopes)
	s.apps[a.ClientID] = &cp
}

// Tenant is an Entra ID tenant (directory). Its methods are safe for
// concurrent use.
type Tenant struct {
	// ID is the tenant ID (the tid claim), a GUID.
	ID string
	// Domain is the tenant's verified domain, in lower case.
	Domain string
	// DisplayName is the organization's name (the domain unless set).
	DisplayName string

	srv         *Server
	users       []*User
	grants      map[string][]string // client ID -> admin-granted scopes
	userConsent bool                // users may consent to non-admin scopes
	graph       tenantData          // teams, chats and the lock over users' Graph data (data.go)
}

// AddTenant adds a work-or-school tenant with a verified domain such as
// "contoso.com" and returns it. Its ID is a fresh GUID.
func (s *Server) AddTenant(domain string) *Tenant {
	return s.addTenant(newID(), domain, domain)
}

// addTenant adds the tenant, or returns the one with that ID. The name is
// set before the tenant is visible to requests.
func (s *Server) addTenant(id, domain, name string) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenants[id]; t != nil {
		return t // PersonalTenant racing with itself
	}
	t := &Tenant{ID: id, Domain: strings.ToLower(domain), DisplayName: name, srv: s, grants: map[string][]string{}}
	s.tenants[id] = t
	s.domains[t.Domain] = t
	s.tenantOrder = append(s.tenantOrder, t)
	return t
}

// Tenants returns the server's tenants in the order they were added.
func (s *Server) Tenants() []*Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tenantOrder)
}

// AllowUserConsent sets whether users of the tenant may consent for
// themselves to permissions that do not need an administrator (the tenant's
// "user consent" setting). It is off by default: a sign-in that asks for a
// scope nobody granted stops at Entra's "Need admin approval" page
// (AADSTS90094), or with prompt=none fails with consent_required
// (AADSTS65001). Administrators may always consent.
func (t *Tenant) AllowUserConsent(allow bool) {
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	t.userConsent = allow
}

// Admins returns the tenant's administrators (users added with Admin) in
// the order they were added.
func (t *Tenant) Admins() []*User {
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	var out []*User
	for _, u := range t.users {
		if u.Admin {
			out = append(out, u)
		}
	}
	return out
}

// PersonalTenant returns the tenant personal Microsoft accounts sign in
// from (PersonalTenantID), creating it on first use. Sign-ins from it are
// what the SDK must refuse.
func (s *Server) PersonalTenant() *Tenant {
	s.mu.Lock()
	t := s.tenants[PersonalTenantID]
	s.mu.Unlock()
	if t != nil {
		return t
	}
	return s.addTenant(PersonalTenantID, "outlook.com", "outlook.com")
}

// Tenant returns the tenant with the given ID or verified domain, or nil.
func (s *Server) Tenant(idOrDomain string) *Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenants[strings.ToLower(idOrDomain)]; t != nil {
		return t
	}
	return s.domains[strings.ToLower(idOrDomain)]
}

// Grant records an administrator's consent for the client to use scopes
// (Graph scope names such as "Mail.Read") in this tenant, as the
// admin-consent endpoint does. Grants add up.
func (t *Tenant) Grant(clientID string, names ...string) {
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	for _, n := range names {
		n = scopes.Normalize(n)
		if !containsFold(t.grants[clientID], n) {
			t.grants[clientID] = append(t.grants[clientID], n)
		}
	}
}

// Revoke removes consent for the client's scopes in this tenant.
func (t *Tenant) Revoke(clientID string, names ...string) {
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	t.grants[clientID] = slices.DeleteFunc(t.grants[clientID], func(g string) bool {
		return containsFold(names, g)
	})
}

// Granted returns the scopes consented for the client in this tenant.
func (t *Tenant) Granted(clientID string) []string {
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	return slices.Clone(t.grants[clientID])
}

// User is a user of a tenant. Its methods are safe for concurrent use.
type User struct {
	// ID is the user's object ID (the oid claim).
	ID string
	// TenantID is the tenant the user belongs to (the tid claim).
	TenantID string
	// UserPrincipalName is the sign-in name, such as adele@contoso.com.
	UserPrincipalName string
	// Mail is the primary SMTP address; empty when the user has no mailbox.
	Mail string
	// DisplayName is the user's name, such as Adele Vance.
	DisplayName string
	// Guest reports a B2B guest; IDP is its home identity provider
	// ("live.com" for a personal Microsoft account invited as a guest).
	Guest bool
	IDP   string
	// HasMailbox is false for a user without an Exchange Online mailbox:
	// mail routes answer MailboxNotEnabledForRESTAPI.
	HasMailbox bool
	// Admin reports a tenant administrator (a Global or Privileged Role
	// Administrator), who may grant admin consent for the tenant.
	Admin bool

	tenant *Tenant
	data   *userData
}

// AccountID returns the user's account ID as m365kit keys it: oid.tid.
func (u *User) AccountID() string { return u.ID + "." + u.TenantID }

// Tenant returns the user's tenant.
func (u *User) Tenant() *Tenant { return u.tenant }

// UserOption configures a user added with AddUser.
type UserOption func(*User)

// NoMailbox makes the user one without an Exchange Online mailbox.
func NoMailbox() UserOption { return func(u *User) { u.HasMailbox = false; u.Mail = "" } }

// AsGuest makes the user a B2B guest whose home identity provider is idp
// (for example "live.com").
func AsGuest(idp string) UserOption { return func(u *User) { u.Guest = true; u.IDP = idp } }

// Admin makes the user an administrator of the tenant, who may grant
// tenant-wide admin consent.
func Admin() UserOption { return func(u *User) { u.Admin = true } }

// withID gives the user a chosen object ID instead of a fresh one (the
// demo tenant's fixed IDs).
func withID(id string) UserOption { return func(u *User) { u.ID = id } }

// AddUser adds a user with a mailbox at upn and returns it.
func (t *Tenant) AddUser(upn, displayName string, opts ...UserOption) *User {
	u := &User{
		ID: newID(), TenantID: t.ID, UserPrincipalName: upn, Mail: upn,
		DisplayName: displayName, HasMailbox: true, tenant: t,
	}
	for _, o := range opts {
		o(u)
	}
	u.data = newUserData(u)
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	t.users = append(t.users, u)
	return u
}

// Users returns the tenant's users in the order they were added.
func (t *Tenant) Users() []*User {
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	return slices.Clone(t.users)
}

// User returns the user with the given object ID or user principal name, or nil.
func (t *Tenant) User(idOrUPN string) *User {
	t.srv.mu.Lock()
	defer t.srv.mu.Unlock()
	for _, u := range t.users {
		if u.ID == idOrUPN || strings.EqualFold(u.UserPrincipalName, idOrUPN) {
			return u
		}
	}
	return nil
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}
