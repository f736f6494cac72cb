package graphtest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/m365kit/m365kit/scopes"
)

// GenerateConfig describes the tenants Generate builds. Zero fields take
// the defaults named.
type GenerateConfig struct {
	// Users is how many users to create (default 10), spread round-robin
	// over the tenants.
	Users int
	// Tenants is how many tenants to create (default 1); each also gets
	// an administrator (admin@domain, not counted in Users) with an empty
	// mailbox.
	Tenants int
	// Seed makes the content repeatable: the same seed and clock give the
	// same tenants, users, events and messages, IDs included (see Generate).
	Seed int64
	// Events is how many events each user's calendar gets (default 20); a
	// recurring series counts as one.
	Events int
	// Messages is how many messages each user's Inbox gets (default 20).
	Messages int
	// Past and Future bound the calendar window around the server clock's
	// day: events start between Past before (default 7 days) and Future
	// after it (default 28 days).
	Past, Future time.Duration
}

// Generated is what Generate built. It is plain data apart from Churn,
// which is safe for concurrent use.
type Generated struct {
	// App is the app registration the tenants consented to: the demo app
	// (DemoClientID, DemoClientSecret, DemoRedirectURL).
	App App
	// Tenants are the tenants, in order; Admins[i] administers Tenants[i].
	Tenants []*Tenant
	Admins  []*User
	// Users are the generated users, in order: user i is in tenant i mod
	// len(Tenants).
	Users []*User

	cfg GenerateConfig
	mu  sync.Mutex // guards rng
	rng *rand.Rand // Churn's stream
}

var (
	firstNames = []string{"Adele", "Alex", "Allan", "Ben", "Christie", "Debra", "Diego", "Emily", "Enrico", "Grady",
		"Henrietta", "Irvin", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor",
		"Patti", "Pradeep", "Raul", "Sanjay", "Wilna"}
	lastNames = []string{"Vance", "Wilber", "Deyoung", "Walters", "Cline", "Berger", "Siciliani", "Braun", "Cattaneo",
		"Archie", "Mueller", "Sayavong", "Langer", "Lauer", "Sherman", "Gu", "Holloway", "Robbins", "Bowen",
		"Graham", "Wilke", "Fernandez", "Gupta", "Rojas", "Shah", "Strydom"}
	orgNames = []string{"Northwind", "Tailspin", "Woodgrove", "Litware", "Adatum", "Proseware", "Wingtip",
		"Lucerne", "Relecloud", "Fourth Coffee", "Coho Winery", "Alpine Ski House", "Trey Research",
		"Margie's Travel", "VanArsdel", "Humongous Insurance"}
	meetingSubjects = []string{"Weekly sync", "Project kickoff", "Design review", "Customer call", "1:1",
		"Sprint planning", "Sprint retro", "Budget review", "Hiring debrief", "Architecture review",
		"Quarterly business review", "Incident postmortem", "Roadmap planning", "Vendor demo", "Team lunch",
		"Security review", "Launch readiness", "Interview", "Board prep", "All hands"}
	mailSubjects = []string{"Quick question", "Notes from today", "Invoice attached", "Follow-up on the proposal",
		"Agenda for Thursday", "Draft for review", "Re: contract terms", "Travel plans", "Updated numbers",
		"Welcome aboard", "Reminder: timesheets", "Feedback wanted", "Release notes", "Your order has shipped",
		"Weekly newsletter", "Action required: password expiry"}
	externalPeople = []Address{
		{Name: "Katie Jordan", Address: "katie.jordan@fabrikam.com"},
		{Name: "Ben Walters", Address: "ben.walters@fabrikam.com"},
		{Name: "Jordan Miller", Address: "jordan.miller@gmail.com"},
		{Name: "Sam Taylor", Address: "sam.taylor@contoso-partners.example"},
	}
)

// Generate creates cfg.Tenants tenants with cfg.Users users, each with a
// calendar of cfg.Events events in a window around the server clock's day
// (working hours on working days; Teams meetings with join URLs, Zoom and
// Google Meet links, in-person meetings, weekly series, all-day and
// cancelled events; colleagues and external attendees) and an Inbox of
// cfg.Messages messages from the last two weeks. Every tenant has granted
// the demo app admin consent for every feature, so any user can sign in
// through it. Everything, IDs included, follows from cfg.Seed and the
// server clock's day, except the IDs of a series' occurrences. Domains
// are like northwind1.example; users like adele.vance3@northwind1.example.
// Call it once per server (tenant IDs would repeat).
func (s *Server) Generate(cfg GenerateConfig) (*Generated, error) {
	switch {
	case cfg.Users < 0:
		return nil, errors.New("graphtest: Generate: Users is negative")
	case cfg.Tenants < 0:
		return nil, errors.New("graphtest: Generate: Tenants is negative")
	case cfg.Events < 0:
		return nil, errors.New("graphtest: Generate: Events is negative")
	case cfg.Messages < 0:
		return nil, errors.New("graphtest: Generate: Messages is negative")
	case cfg.Past < 0 || cfg.Future < 0:
		return nil, errors.New("graphtest: Generate: Past and Future must not be negative")
	}
	cfg.Users = defaultInt(cfg.Users, 10)
	cfg.Tenants = defaultInt(cfg.Tenants, 1)
	cfg.Events = defaultInt(cfg.Events, 20)
	cfg.Messages = defaultInt(cfg.Messages, 20)
	if cfg.Past == 0 {
		cfg.Past = 7 * 24 * time.Hour
	}
	if cfg.Future == 0 {
		cfg.Future = 28 * 24 * time.Hour
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x67656e))
	g := &Generated{
		App: App{ClientID: DemoClientID, ClientSecret: DemoClientSecret, RedirectURIs: []string{DemoRedirectURL}},
		cfg: cfg,
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x636875726e)),
	}
	s.AddApp(g.App)
	for i := range cfg.Tenants {
		org := orgNames[i%len(orgNames)]
		domain := strings.ToLower(strings.NewReplacer(" ", "", "'", "").Replace(org)) + fmt.Sprint(i+1) + ".example"
		t := s.addTenant(seededID(rng), domain, fmt.Sprintf("%s %d", org, i+1))
		t.Grant(DemoClientID, scopes.For(scopes.Features()...)...)
		g.Tenants = append(g.Tenants, t)
		g.Admins = append(g.Admins, t.AddUser("admin@"+domain, "Administrator", Admin(), withID(seededID(rng))))
	}
	for i := range cfg.Users {
		t := g.Tenants[i%len(g.Tenants)]
		first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		upn := fmt.Sprintf("%s.%s%d@%s", strings.ToLower(first), strings.ToLower(last), i+1, t.Domain)
		g.Users = append(g.Users, t.AddUser(upn, first+" "+last, withID(seededID(rng))))
	}
	today := s.now().UTC().Truncate(24 * time.Hour)
	for _, u := range g.Users {
		for range cfg.Events {
			u.AddEvent(g.event(rng, u, today))
		}
		for range cfg.Messages {
			u.AddMessage(g.message(rng, u, today))
		}
	}
	return g, nil
}

func defaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// seededID returns a GUID drawn from rng.
func seededID(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// seededItemID returns an Exchange-style item ID drawn from rng.
func seededItemID(rng *rand.Rand, prefix string) string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return prefix + base64.URLEncoding.EncodeToString(b)
}

// colleagues returns up to n other users of u's tenant among g.Users.
func (g *Generated) colleagues(rng *rand.Rand, u *User, n int) []Address {
	var out []Address
	for range n * 3 {
		o := g.Users[rng.IntN(len(g.Users))]
		if o != u && o.TenantID == u.TenantID && !slices.Contains(out, Of(o)) {
			out = append(out, Of(o))
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// event returns a random event for u's calendar.
func (g *Generated) event(rng *rand.Rand, u *User, today time.Time) Event {
	days := int((g.cfg.Past + g.cfg.Future) / (24 * time.Hour))
	day := today.Add(-g.cfg.Past).AddDate(0, 0, rng.IntN(max(days, 1)))
	for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
		day = day.AddDate(0, 0, 1)
	}
	start := at(day, 8+rng.IntN(9), 30*rng.IntN(2))
	dur := []time.Duration{30, 30, 45, 60, 60, 90}[rng.IntN(6)] * time.Minute
	e := Event{
		ID:       seededItemID(rng, "AAMkAGI2"),
		ICalUID:  "040000008200E00074C5B7101A82E00800000000" + fmt.Sprintf("%X", seededID(rng)),
		Subject:  meetingSubjects[rng.IntN(len(meetingSubjects))],
		BodyHTML: "<p>Generated meeting.</p>",
		Start:    start,
		End:      start.Add(dur),
	}
	for _, a := range g.colleagues(rng, u, rng.IntN(4)) {
		e.Attendees = append(e.Attendees, Attendee{Address: a})
	}
	if rng.IntN(4) == 0 {
		e.Attendees = append(e.Attendees, Attendee{Address: externalPeople[rng.IntN(len(externalPeople))], Type: "optional"})
	}
	if len(e.Attendees) > 0 && rng.IntN(3) == 0 {
		e.Organizer = e.Attendees[0].Address
		e.Attendees[0] = Attendee{Address: Of(u)}
		e.ResponseStatus = []string{"accepted", "tentativelyAccepted", "notResponded"}[rng.IntN(3)]
	}
	switch x := rng.IntN(100); {
	case x < 45:
		e.OnlineMeetingProvider = "teamsForBusiness"
		e.Location = Location{DisplayName: "Microsoft Teams Meeting"}
		e.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + strings.TrimRight(seededItemID(rng, "")[:40], "=") +
			"%40thread.v2/0?context=%7b%22Tid%22%3a%22" + u.TenantID + "%22%2c%22Oid%22%3a%22" + u.ID + "%22%7d"
	case x < 55:
		link := fmt.Sprintf("https://zoom.us/j/%d", 80000000000+rng.Int64N(9999999999))
		e.Location = Location{DisplayName: "Zoom Meeting", LocationURI: link}
		e.BodyHTML = `<p>Join Zoom Meeting<br><a href="` + link + `">` + link + `</a></p>`
	case x < 62:
		link := fmt.Sprintf("https://meet.google.com/%s-%s-%s", letters(rng, 3), letters(rng, 4), letters(rng, 3))
		e.Location = Location{DisplayName: "Google Meet: " + link}
		e.BodyHTML = `<p>Video call link: <a href="` + link + `">` + link + `</a></p>`
	case x < 80:
		e.Location = Location{DisplayName: fmt.Sprintf("Conference Room %d", 1+rng.IntN(12)), LocationType: "conferenceRoom"}
	}
	switch x := rng.IntN(100); {
	case x < 10:
		e.Recurrence = &Recurrence{Pattern: "weekly", Count: 4 + rng.IntN(5)}
	case x < 15:
		e.IsAllDay, e.Start, e.End, e.ShowAs = true, day, day.AddDate(0, 0, 1), "oof"
		e.Subject, e.OnlineMeetingProvider, e.JoinURL, e.Location, e.Attendees = "Out of office", "", "", Location{}, nil
	case x < 20:
		e.IsCancelled, e.ShowAs = true, "free"
		e.Subject = "Canceled: " + e.Subject
	}
	return e
}

// letters returns n random lower-case letters.
func letters(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return string(b)
}

// message returns a random Inbox message for u.
func (g *Generated) message(rng *rand.Rand, u *User, today time.Time) Message {
	from := externalPeople[rng.IntN(len(externalPeople))]
	if c := g.colleagues(rng, u, 1); len(c) > 0 && rng.IntN(3) > 0 {
		from = c[0]
	}
	subject := mailSubjects[rng.IntN(len(mailSubjects))]
	m := Message{
		ID:                seededItemID(rng, "AAMkAGI1AAA"),
		InternetMessageID: fmt.Sprintf("<%X@%s>", seededID(rng), strings.SplitN(from.Address, "@", 2)[1]),
		Subject:           subject,
		From:              from,
		To:                []Address{Of(u)},
		Received:          today.Add(-time.Duration(rng.IntN(14*24*60)) * time.Minute),
		BodyHTML:          "<p>" + subject + ". Generated message.</p>",
		IsRead:            rng.IntN(2) == 0,
		HasAttachments:    rng.IntN(5) == 0,
	}
	if rng.IntN(6) == 0 {
		m.InferenceClassification = "other"
		m.Headers = []MessageHeader{{"Auto-Submitted", "auto-generated"}}
	}
	return m
}

// Change is one change Churn made to a generated user's data.
type Change struct {
	// UserID is the user whose data changed.
	UserID string
	// Kind is "event" or "message"; Op is "created", "updated" or "deleted".
	Kind, Op string
	// ID is the event's or message's ID.
	ID string
}

// Churn makes n random changes to the generated users' calendars and
// Inboxes (events created, moved or deleted; messages received, marked
// read or unread, or deleted), as users do, and returns them. Each change
// goes through the same path as the User methods, so delta queries and
// change notifications see it. The sequence of changes follows from the
// seed and the order of calls.
func (g *Generated) Churn(n int) []Change {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Change
	if len(g.Users) == 0 {
		return nil
	}
	for range n {
		u := g.Users[g.rng.IntN(len(g.Users))]
		today := u.now().Truncate(24 * time.Hour)
		c := Change{UserID: u.ID}
		switch op := g.rng.IntN(6); op {
		case 0, 1, 2:
			c.Kind = "event"
			var singles []Event
			for _, e := range u.Events() {
				if e.Type == "singleInstance" {
					singles = append(singles, e)
				}
			}
			switch {
			case op == 0 || len(singles) == 0:
				c.Op, c.ID = "created", u.AddEvent(g.event(g.rng, u, today)).ID
			case op == 1:
				e := singles[g.rng.IntN(len(singles))]
				shift := time.Duration(g.rng.IntN(5)-2) * time.Hour
				c.Op, c.ID = "updated", e.ID
				_ = u.UpdateEvent(e.ID, func(e *Event) {
					e.Start, e.End = e.Start.Add(shift), e.End.Add(shift)
					e.Subject = strings.TrimSuffix(e.Subject, " (moved)") + " (moved)"
				})
			default:
				e := singles[g.rng.IntN(len(singles))]
				c.Op, c.ID = "deleted", e.ID
				_ = u.DeleteEvent(e.ID)
			}
		default:
			c.Kind = "message"
			msgs := u.Messages("inbox")
			switch {
			case op == 3 || len(msgs) == 0:
				m := g.message(g.rng, u, today)
				m.Received = u.now()
				c.Op, c.ID = "created", u.AddMessage(m).ID
			case op == 4:
				m := msgs[g.rng.IntN(len(msgs))]
				c.Op, c.ID = "updated", m.ID
				_ = u.UpdateMessage(m.ID, func(m *Message) { m.IsRead = !m.IsRead })
			default:
				m := msgs[g.rng.IntN(len(msgs))]
				c.Op, c.ID = "deleted", m.ID
				_ = u.DeleteMessage(m.ID)
			}
		}
		out = append(out, c)
	}
	return out
}
