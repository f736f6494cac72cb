package graphtest

import (
	"time"

	"github.com/m365kit/m365kit/scopes"
)

// The demo application registration AddDemoTenant creates.
const (
	// DemoClientID is the client ID of the demo app registration.
	DemoClientID = "6731de76-14a6-49ae-97bc-6eba6914391e"
	// DemoClientSecret is its client secret. It is fake and only the fake
	// accepts it.
	DemoClientSecret = "demo-secret-not-for-production"
	// DemoRedirectURL is its registered redirect URI, for a local backend.
	DemoRedirectURL = "http://localhost:8080/auth/callback"
)

// Demo is the ready-made tenant AddDemoTenant builds: what the quickstart,
// the examples and a local development server show. Its content is the same
// on every run: the tenant's and the users' IDs are fixed, so account IDs
// (oid.tid) are too; times are relative to the server clock (the week of
// meetings starts on the Monday of the current week). Only the IDs of
// items (events, messages, teams, channels, chats) are fresh each time.
// It is plain data (the values it points to are safe for concurrent use).
type Demo struct {
	// Tenant is contoso.com. The demo app has admin consent for every
	// feature (scopes.For(scopes.Features()...)).
	Tenant *Tenant
	// App is the demo app registration: DemoClientID, DemoClientSecret,
	// DemoRedirectURL.
	App App

	// Admin is the tenant's global administrator (admin@contoso.com), with
	// a mailbox but no calendar or mail content.
	Admin *User
	// Adele (adele@contoso.com) is the main user: the week of meetings, the
	// mailbox, both teams and the chats are hers. Her inbox holds internal
	// and Fabrikam threads (replies in sent items), automated mail with
	// Auto-Submitted or List-Unsubscribe headers, a meeting response
	// (message class IPM.Schedule.Meeting.Resp.Pos); drafts and junk hold
	// one message each.
	Adele *User
	// Alex (alex@contoso.com) attends Adele's Teams meetings (copies of
	// the standup and the roadmap review are in his calendar) and has
	// shared his calendar with her (read-only).
	Alex *User
	// Diego (diego@contoso.com) is in the Engineering team and the chats.
	Diego *User
	// Lynne (lynne@contoso.com) is in Sales; she has no mailbox (a
	// Teams-only licence), so her mail and calendar routes answer
	// MailboxNotEnabledForRESTAPI.
	Lynne *User
	// Users is Adele, Alex, Diego and Lynne.
	Users []*User
	// External are the fabrikam.com people who attend and write: Katie
	// Jordan and Ben Walters.
	External []Address

	// Standup is the series master of Adele's daily Teams standup (Monday
	// to Friday of the current week): Wednesday's occurrence is an
	// exception moved to 10:00, Friday's is cancelled (deleted).
	Standup Event
	// CustomerCall is tomorrow's Zoom call organised by Katie Jordan of
	// Fabrikam (link in location and body, onlineMeeting null).
	CustomerCall Event
	// Interview is the Google Meet interview in two days, with an external
	// candidate.
	Interview Event
	// Roadmap is the Teams roadmap review in three days with Alex, Diego
	// and Ben Walters (external); its join URL resolves through
	// /me/onlineMeetings for Adele and Alex.
	Roadmap Event
	// Cancelled is a cancelled Teams meeting tomorrow (isCancelled true).
	Cancelled Event
	// OneOnOne is the weekly 1:1 series with Alex (Thursdays, eight weeks).
	OneOnOne Event

	// Engineering (Adele, Alex, Diego; channels General, Releases,
	// Incidents) and Sales (Adele, Lynne, Admin; General, Fabrikam deal).
	Engineering, Sales *Team
	// Chat is the "Launch crew" group chat of Adele, Alex and Diego; the
	// one-on-one chat of Adele and Alex is OneOnOneChat.
	Chat, OneOnOneChat *Chat
}

// demoTenantID is the fixed ID of the demo tenant.
const demoTenantID = "c8b11654-dcf4-404c-b50d-314401e3d345"

// AddDemoTenant builds the demo tenant contoso.com (see Demo) and returns
// it. Call it once per server: a second call would add the users and their
// data to the same tenant again.
func (s *Server) AddDemoTenant() *Demo {
	d := &Demo{
		App: App{ClientID: DemoClientID, DisplayName: "m365kit demo", ClientSecret: DemoClientSecret, RedirectURIs: []string{DemoRedirectURL}},
	}
	s.AddApp(d.App)
	t := s.addTenant(demoTenantID, "contoso.com", "Contoso")
	d.Tenant = t
	t.Grant(DemoClientID, scopes.For(scopes.Features()...)...)

	d.Admin = t.AddUser("admin@contoso.com", "MOD Administrator", Admin(), withID("e7809f15-bc14-4448-bc34-c60469654825"))
	d.Adele = t.AddUser("adele@contoso.com", "Adele Vance", withID("0dea461a-0285-4f4c-a78d-517740ebe156"))
	d.Alex = t.AddUser("alex@contoso.com", "Alex Wilber", withID("ce3415a6-5309-4865-9a91-330551ebadef"))
	d.Diego = t.AddUser("diego@contoso.com", "Diego Siciliani", withID("d450dc5f-2c36-42c0-b77e-14959b85922a"))
	d.Lynne = t.AddUser("lynne@contoso.com", "Lynne Robbins", NoMailbox(), withID("eeffc983-bb13-4f4a-aef7-aa1d3f1eccc8"))
	d.Users = []*User{d.Adele, d.Alex, d.Diego, d.Lynne}
	katie := Address{Name: "Katie Jordan", Address: "katie.jordan@fabrikam.com"}
	ben := Address{Name: "Ben Walters", Address: "ben.walters@fabrikam.com"}
	d.External = []Address{katie, ben}

	d.addMeetings(s.now().UTC(), katie, ben)
	d.addMail(s.now().UTC(), katie, ben)
	d.addTeams()
	return d
}

// at returns day + hours:minutes.
func at(day time.Time, hour, minute int) time.Time {
	return day.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

func (d *Demo) addMeetings(now time.Time, katie, ben Address) {
	today := now.Truncate(24 * time.Hour)
	monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	adele, alex, diego := Of(d.Adele), Of(d.Alex), Of(d.Diego)
	req := func(as ...Address) []Attendee {
		var out []Attendee
		for _, a := range as {
			out = append(out, Attendee{Address: a, Type: "required"})
		}
		return out
	}

	d.Standup = d.Adele.AddEvent(Event{
		Subject:               "Engineering standup",
		BodyHTML:              "<p>Yesterday, today, blockers. Fifteen minutes, cameras optional.</p>",
		Start:                 at(monday, 9, 30),
		End:                   at(monday, 9, 45),
		OnlineMeetingProvider: "teamsForBusiness",
		Location:              Location{DisplayName: "Microsoft Teams Meeting"},
		Attendees:             req(alex, diego),
		Categories:            []string{"Engineering"},
		Recurrence:            &Recurrence{Pattern: "weekly", DaysOfWeek: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, Count: 5},
	})
	occ := d.Adele.Occurrences(d.Standup.ID)
	_ = d.Adele.UpdateEvent(occ[2].ID, func(e *Event) {
		e.Start, e.End = at(monday.AddDate(0, 0, 2), 10, 0), at(monday.AddDate(0, 0, 2), 10, 15)
	})
	_ = d.Adele.DeleteEvent(occ[4].ID)
	alexStandup := d.Standup
	alexStandup.ID, alexStandup.ICalUID = "", ""
	alexStandup.ResponseStatus = "accepted"
	d.Alex.AddEvent(alexStandup)

	zoom := "https://fabrikam.zoom.us/j/84512345678?pwd=dGhpc0lzQURlbW9QYXNz"
	d.CustomerCall = d.Adele.AddEvent(Event{
		Subject:        "Fabrikam pilot: weekly check-in",
		BodyHTML:       `<p>Hi all,</p><p>Katie Jordan is inviting you to a scheduled Zoom meeting.</p><p>Join Zoom Meeting<br><a href="` + zoom + `">` + zoom + `</a></p><p>Meeting ID: 845 1234 5678<br>Passcode: 271828</p>`,
		Start:          at(today.AddDate(0, 0, 1), 14, 0),
		End:            at(today.AddDate(0, 0, 1), 15, 0),
		Organizer:      katie,
		ResponseStatus: "accepted",
		Location:       Location{DisplayName: "Zoom Meeting", LocationURI: zoom},
		Attendees:      append(req(adele, ben), Attendee{Address: alex, Type: "optional"}),
		Categories:     []string{"Customer"},
	})

	meet := "https://meet.google.com/kpq-vmdz-rxb"
	d.Interview = d.Adele.AddEvent(Event{
		Subject:        "Interview: Senior Backend Engineer (Jordan Miller)",
		BodyHTML:       `<p>Google Meet joining info</p><p>Video call link: <a href="` + meet + `">` + meet + `</a></p><p>Or dial: (US) +1 929-555-0142 PIN: 481 516 234#</p>`,
		Start:          at(today.AddDate(0, 0, 2), 16, 0),
		End:            at(today.AddDate(0, 0, 2), 16, 45),
		Organizer:      Address{Name: "Jordan Miller", Address: "jordan.miller@gmail.com"},
		ResponseStatus: "tentativelyAccepted",
		Location:       Location{DisplayName: "Google Meet: " + meet},
		Attendees:      req(adele),
		Sensitivity:    "private",
	})

	d.Roadmap = d.Adele.AddEvent(Event{
		Subject:               "Q3 roadmap review",
		BodyHTML:              "<p>Agenda: priorities for Q3, the Fabrikam integration, hiring.</p>",
		Start:                 at(today.AddDate(0, 0, 3), 11, 0),
		End:                   at(today.AddDate(0, 0, 3), 12, 0),
		OnlineMeetingProvider: "teamsForBusiness",
		Location:              Location{DisplayName: "Microsoft Teams Meeting"},
		Attendees:             append(req(alex, diego), Attendee{Address: ben, Type: "optional", Response: "accepted"}),
		Importance:            "high",
	})
	alexRoadmap := d.Roadmap
	alexRoadmap.ID, alexRoadmap.ICalUID = "", ""
	alexRoadmap.ResponseStatus = "tentativelyAccepted"
	d.Alex.AddEvent(alexRoadmap)

	d.Cancelled = d.Adele.AddEvent(Event{
		Subject:               "Canceled: Budget sync",
		BodyHTML:              "<p>Cancelling: numbers are not ready yet. Will reschedule.</p>",
		Start:                 at(today.AddDate(0, 0, 1), 10, 0),
		End:                   at(today.AddDate(0, 0, 1), 10, 30),
		OnlineMeetingProvider: "teamsForBusiness",
		Organizer:             alex,
		ResponseStatus:        "accepted",
		IsCancelled:           true,
		ShowAs:                "free",
		Attendees:             req(adele),
	})

	d.OneOnOne = d.Adele.AddEvent(Event{
		Subject:               "Adele / Alex 1:1",
		Start:                 at(monday.AddDate(0, 0, 3), 15, 0),
		End:                   at(monday.AddDate(0, 0, 3), 15, 30),
		OnlineMeetingProvider: "teamsForBusiness",
		Attendees:             req(alex),
		Sensitivity:           "private",
		Recurrence:            &Recurrence{Pattern: "weekly", Count: 8},
	})

	d.Adele.AddEvent(Event{Subject: "Focus time", Start: at(today.AddDate(0, 0, 4), 13, 0), End: at(today.AddDate(0, 0, 4), 16, 0), ShowAs: "busy"})
	d.Adele.AddEvent(Event{Subject: "Sprint retro", Start: at(today.AddDate(0, 0, -1), 16, 0), End: at(today.AddDate(0, 0, -1), 17, 0),
		OnlineMeetingProvider: "teamsForBusiness", Attendees: req(alex, diego)})
	d.Adele.AddEvent(Event{Subject: "Company offsite", Start: today.AddDate(0, 0, 6), End: today.AddDate(0, 0, 7), IsAllDay: true, ShowAs: "oof"})

	d.Alex.AddEvent(Event{Subject: "Dentist", Start: at(today.AddDate(0, 0, 2), 8, 0), End: at(today.AddDate(0, 0, 2), 9, 0), Sensitivity: "private", ShowAs: "oof"})
	d.Alex.ShareCalendarWith(d.Adele, false)
}

func (d *Demo) addMail(now time.Time, katie, ben Address) {
	adele, alex, diego := Of(d.Adele), Of(d.Alex), Of(d.Diego)
	ago := func(h int) time.Time { return now.Add(-time.Duration(h) * time.Hour) }
	a := d.Adele

	a.AddMessage(Message{Subject: "Roadmap draft for review", From: alex, To: []Address{adele}, Cc: []Address{diego}, Received: ago(30),
		BodyHTML: "<p>Hi Adele,</p><p>The Q3 roadmap draft is in the Engineering channel. Comments by Thursday please.</p><p>Alex</p>", IsRead: true})
	a.AddMessage(Message{Subject: "RE: Roadmap draft for review", From: diego, To: []Address{alex, adele}, Received: ago(26),
		BodyHTML: "<p>Looks good. The Fabrikam integration needs two more weeks than planned.</p>"})
	a.AddMessage(Message{Subject: "RE: Roadmap draft for review", Folder: "sentitems", From: adele, To: []Address{diego, alex}, Received: ago(25),
		BodyHTML: "<p>Agreed, let's discuss it in the review.</p>", IsRead: true})

	a.AddMessage(Message{Subject: "Pilot contract: next steps", From: katie, To: []Address{adele}, Cc: []Address{ben}, Received: ago(20),
		BodyHTML:       "<p>Hello Adele,</p><p>Attached is the pilot contract with our legal team's comments. Can we go through it on tomorrow's call?</p><p>Best,<br>Katie Jordan<br>Fabrikam, Inc.</p>",
		HasAttachments: true, Importance: "high"})
	a.AddMessage(Message{Subject: "RE: Pilot contract: next steps", Folder: "sentitems", From: adele, To: []Address{katie}, Cc: []Address{ben}, Received: ago(18),
		BodyHTML: "<p>Thanks Katie, yes, let's cover it tomorrow.</p>", IsRead: true})
	a.AddMessage(Message{Subject: "Invoice INV-2291 from Fabrikam", From: Address{"Fabrikam Billing", "billing@fabrikam.com"}, To: []Address{adele}, Received: ago(8),
		BodyHTML: "<p>Your invoice INV-2291 is ready.</p>", HasAttachments: true})

	a.AddMessage(Message{Subject: "You have 3 missed messages in Launch crew", From: Address{"Microsoft Teams", "noreply@email.teams.microsoft.com"}, To: []Address{adele}, Received: ago(5),
		BodyHTML: "<p>Alex Wilber, Diego Siciliani sent messages in Launch crew.</p>", InferenceClassification: "other",
		Headers: []MessageHeader{{"Auto-Submitted", "auto-generated"}}})
	a.AddMessage(Message{Subject: "Your password expires in 5 days", From: Address{"Contoso IT", "no-reply@contoso.com"}, To: []Address{adele}, Received: ago(3),
		BodyHTML: "<p>Change it at https://aka.ms/sspr before it expires.</p>", InferenceClassification: "other",
		Headers: []MessageHeader{{"Auto-Submitted", "auto-generated"}, {"X-Auto-Response-Suppress", "All"}}})
	a.AddMessage(Message{Subject: "Industry Weekly: 10 trends in AI meeting assistants", From: Address{"Industry Weekly", "newsletter@industryweekly.example"}, To: []Address{adele}, Received: ago(2),
		BodyHTML: "<p>This week: notetakers everywhere.</p><p><a href=\"https://industryweekly.example/unsubscribe\">Unsubscribe</a></p>", InferenceClassification: "other",
		Headers: []MessageHeader{{"List-Unsubscribe", "<https://industryweekly.example/unsubscribe>"}, {"Precedence", "bulk"}}})
	a.AddMessage(Message{Subject: "Accepted: Q3 roadmap review", From: alex, To: []Address{adele}, Received: ago(4),
		BodyHTML: "", MessageClass: "IPM.Schedule.Meeting.Resp.Pos"})
	a.AddMessage(Message{Subject: "Standup notes", Folder: "sentitems", From: adele, To: []Address{alex, diego}, Received: ago(1),
		BodyHTML: "<ul><li>Release 2.4 on track</li><li>Incident review Friday</li></ul>", IsRead: true})
	a.AddMessage(Message{Subject: "Proposal for Fabrikam", IsDraft: true, From: adele, To: []Address{katie},
		BodyHTML: "<p>Hi Katie, following our pilot, here is our proposal for</p>", IsRead: true})
	a.AddMessage(Message{Subject: "You won a prize!!!", Folder: "junkemail", From: Address{"Prize Center", "winner@prizes.example"}, To: []Address{adele}, Received: ago(12),
		BodyHTML: "<p>Click here.</p>", InferenceClassification: "other"})

	d.Alex.AddMessage(Message{Subject: "Roadmap draft for review", Folder: "sentitems", From: alex, To: []Address{adele}, Cc: []Address{diego}, Received: ago(30),
		BodyHTML: "<p>Hi Adele,</p><p>The Q3 roadmap draft is in the Engineering channel. Comments by Thursday please.</p><p>Alex</p>", IsRead: true})
}

func (d *Demo) addTeams() {
	t := d.Tenant
	d.Engineering = t.AddTeam("Engineering", "Product engineering: releases, incidents, roadmap.", d.Adele, d.Alex, d.Diego)
	d.Engineering.AddChannel("Releases", "Release announcements and notes.")
	d.Engineering.AddChannel("Incidents", "Production incidents and reviews.")
	d.Sales = t.AddTeam("Sales", "Customer deals and pilots.", d.Adele, d.Lynne, d.Admin)
	d.Sales.AddChannel("Fabrikam deal", "Everything about the Fabrikam pilot.")
	d.Chat = t.AddChat("group", "Launch crew", d.Adele, d.Alex, d.Diego)
	d.OneOnOneChat = t.AddChat("oneOnOne", "", d.Adele, d.Alex)
}
