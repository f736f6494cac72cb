package mail_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/mail"
)

// mailbox is a user of a graphtest tenant and a Service reading their mail
// with the scopes given.
func mailbox(t *testing.T, scopes ...string) (*graphtest.Server, *graphtest.User, *mail.Service) {
	t.Helper()
	srv := graphtest.New(t)
	user := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	gc, err := graphclient.New(graphclient.StaticToken(srv.IssueToken(user, "00000000-0000-0000-0000-00000000c0de", scopes...)),
		graphclient.WithHTTPClient(srv.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	return srv, user, mail.New(gc)
}

var (
	adele   = graphtest.Address{Name: "Adele Vance", Address: "adele@contoso.com"}
	megan   = graphtest.Address{Name: "Megan Bowen", Address: "megan@contoso.com"}
	buyer   = graphtest.Address{Name: "Pat Buyer", Address: "pat@fabrikam.com"}
	cfo     = graphtest.Address{Name: "Fabrikam CFO", Address: "cfo+deals@Fabrikam.com"}
	noreply = graphtest.Address{Name: "Contoso Portal", Address: "no-reply@portal.contoso.com"}
)

// store is what a caller of Sync keeps: messages by folder and ID.
type store map[string]map[string]mail.Message

// apply handles a page the way the package docs say to.
func (s store) apply(p *mail.Page) {
	if p.Reset || s[p.Folder] == nil {
		s[p.Folder] = map[string]mail.Message{}
	}
	for _, m := range p.Messages {
		s[p.Folder][m.ID] = m
	}
	for _, id := range p.Removed {
		delete(s[p.Folder], id)
	}
	for _, sk := range p.Skipped {
		delete(s[p.Folder], sk.ID)
	}
}

func (s store) subjects(folder string) []string {
	var out []string
	for _, m := range s[folder] {
		out = append(out, m.Subject)
	}
	slices.Sort(out)
	return out
}

func TestEndToEndMailboxSync(t *testing.T) {
	t.Parallel()
	_, user, svc := mailbox(t, "Mail.Read")
	ctx := t.Context()
	at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
	add := func(m graphtest.Message) string { return user.AddMessage(m).ID }

	add(graphtest.Message{Subject: "Pricing for 2026", From: buyer, To: []graphtest.Address{adele}, Received: at(9)})
	quote := add(graphtest.Message{Subject: "Signed quote", From: cfo, To: []graphtest.Address{adele}, Cc: []graphtest.Address{megan}, Received: at(10)})
	add(graphtest.Message{Subject: "Lunch?", From: megan, To: []graphtest.Address{adele}, Received: at(11)})
	add(graphtest.Message{Subject: "Your password expires", From: noreply, To: []graphtest.Address{adele}, Received: at(12)})
	add(graphtest.Message{Subject: "Doctor appointment", From: buyer, To: []graphtest.Address{adele}, Categories: []string{"Personal"}, Received: at(13)})
	add(graphtest.Message{Folder: mail.SentItems, Subject: "RE: Pricing for 2026", From: adele, To: []graphtest.Address{buyer}, Received: at(14)})
	add(graphtest.Message{Subject: "Draft to Pat", From: adele, To: []graphtest.Address{buyer}, IsDraft: true})

	filter := mail.All(mail.SkipDrafts(), mail.SkipCategories("Personal", "Private"), mail.SkipAutomated(), mail.ExternalOnly("contoso.com"))
	cursors := mail.Cursors{}
	local := store{}
	sync := func(req mail.MailboxRequest) mail.Stats {
		t.Helper()
		req.Cursors, req.Filter, req.PageSize = cursors, filter, 2
		var st mail.Stats
		for p, err := range svc.SyncMailbox(ctx, req) {
			if err != nil {
				t.Fatal(err)
			}
			local.apply(p)
			cursors.Advance(p)
			st.Add(p)
		}
		return st
	}

	// First sync: Inbox and Sent Items, both sides of the thread.
	st := sync(mail.MailboxRequest{})
	if diff := cmp.Diff(mail.Stats{Kept: 3, Skipped: map[string]int{"internal": 1, "automated": 1, "category": 1}}, st); diff != "" {
		t.Errorf("first sync counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Pricing for 2026", "Signed quote"}, local.subjects(mail.Inbox)); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"RE: Pricing for 2026"}, local.subjects(mail.SentItems)); diff != "" {
		t.Errorf("sent items (-want +got):\n%s", diff)
	}
	got := local[mail.Inbox][quote]
	if got.From.EmailAddress.Address != "cfo+deals@Fabrikam.com" || len(got.CcRecipients) != 1 || !got.ReceivedDateTime.Equal(at(10)) || got.ConversationID == "" {
		t.Errorf("synced message = %+v", got)
	}
	if len(cursors) != 2 || !strings.Contains(cursors[mail.Inbox], "$deltatoken=") {
		t.Fatalf("cursors = %v, want a deltaLink per folder", cursors)
	}

	// New mail after the deltaLink: only it comes back.
	add(graphtest.Message{Subject: "Contract redlines", From: buyer, To: []graphtest.Address{adele}, Received: at(15)})
	st = sync(mail.MailboxRequest{})
	if diff := cmp.Diff(mail.Stats{Kept: 1}, st); diff != "" {
		t.Errorf("incremental sync counts (-want +got):\n%s", diff)
	}

	// A message deleted.
	if err := user.DeleteMessage(quote); err != nil {
		t.Fatal(err)
	}
	st = sync(mail.MailboxRequest{})
	if st.Removed != 1 || st.Kept != 0 {
		t.Errorf("after a delete: %+v, want one removal", st)
	}
	if diff := cmp.Diff([]string{"Contract redlines", "Pricing for 2026"}, local.subjects(mail.Inbox)); diff != "" {
		t.Errorf("inbox after the delete (-want +got):\n%s", diff)
	}

	// A message re-categorised Personal is skipped now; the store drops it.
	for id, m := range local[mail.Inbox] {
		if m.Subject == "Contract redlines" {
			if err := user.UpdateMessage(id, func(m *graphtest.Message) { m.Categories = []string{"personal"} }); err != nil {
				t.Fatal(err)
			}
		}
	}
	st = sync(mail.MailboxRequest{Folders: []string{mail.Inbox}})
	if diff := cmp.Diff(map[string]int{"category": 1}, st.Skipped); diff != "" {
		t.Errorf("after re-categorising (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Pricing for 2026"}, local.subjects(mail.Inbox)); diff != "" {
		t.Errorf("inbox after re-categorising (-want +got):\n%s", diff)
	}

	// The sync state expires (410): a full resync, marked Reset, per folder.
	user.ExpireDeltaTokens()
	st = sync(mail.MailboxRequest{})
	if st.Resets != 2 {
		t.Errorf("resets = %d, want one per folder", st.Resets)
	}
	if diff := cmp.Diff([]string{"Pricing for 2026"}, local.subjects(mail.Inbox)); diff != "" {
		t.Errorf("inbox after the reset (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"RE: Pricing for 2026"}, local.subjects(mail.SentItems)); diff != "" {
		t.Errorf("sent items after the reset (-want +got):\n%s", diff)
	}
}

func TestEndToEndResumeMidRound(t *testing.T) {
	t.Parallel()
	_, user, svc := mailbox(t, "Mail.Read")
	ctx := t.Context()
	for i := range 5 {
		user.AddMessage(graphtest.Message{Subject: "deal " + string(rune('a'+i)), From: buyer, To: []graphtest.Address{adele},
			Received: time.Date(2026, 3, 2, 9+i, 0, 0, 0, time.UTC)})
	}
	// The process stops after storing the first page.
	var cursor string
	var seen []string
	for p, err := range svc.Sync(ctx, mail.SyncRequest{Folder: mail.Inbox, PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Messages {
			seen = append(seen, m.Subject)
		}
		cursor = p.Cursor
		break
	}
	// A new process resumes from the stored nextLink.
	var done bool
	for p, err := range svc.Sync(ctx, mail.SyncRequest{Folder: mail.Inbox, Cursor: cursor}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Messages {
			seen = append(seen, m.Subject)
		}
		done = p.Done
	}
	slices.Sort(seen)
	if diff := cmp.Diff([]string{"deal a", "deal b", "deal c", "deal d", "deal e"}, seen); diff != "" || !done {
		t.Errorf("resumed sync (done=%v) (-want +got):\n%s", done, diff)
	}
}

func TestEndToEndSinceAndBody(t *testing.T) {
	t.Parallel()
	_, user, svc := mailbox(t, "Mail.Read")
	ctx := t.Context()
	user.AddMessage(graphtest.Message{Subject: "old", From: buyer, Received: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), BodyHTML: "<p>old</p>"})
	id := user.AddMessage(graphtest.Message{Subject: "new", From: buyer, Received: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), BodyHTML: "<p>Hello <b>Adele</b></p>"}).ID

	var got []mail.Message
	for p, err := range svc.Sync(ctx, mail.SyncRequest{Folder: mail.Inbox, Since: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Body: mail.BodyText}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Messages...)
	}
	if len(got) != 1 || got[0].Subject != "new" || got[0].Body == nil || got[0].Body.ContentType != "text" || !strings.Contains(got[0].Body.Content, "Hello Adele") {
		t.Errorf("Since sync = %+v, want only the new message with a text body", got)
	}

	m, err := svc.Message(ctx, id, &mail.MessageOptions{Body: mail.BodyHTML})
	if err != nil {
		t.Fatal(err)
	}
	if m.Body == nil || m.Body.ContentType != "html" || !strings.Contains(m.Body.Content, "<b>Adele</b>") {
		t.Errorf("Message body = %+v", m.Body)
	}
	if m, err := svc.Message(ctx, id, nil); err != nil || m.Body != nil {
		t.Errorf("Message without body = %+v, %v", m, err)
	}
}

func TestEndToEndFolders(t *testing.T) {
	t.Parallel()
	_, user, svc := mailbox(t, "Mail.Read")
	user.AddMailFolder("Customers")
	folders, err := folderList(svc.Folders(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, f := range folders {
		names[f.DisplayName] = f.WellKnownName
	}
	want := map[string]string{
		"Archive": "archive", "Conversation History": "", "Deleted Items": "deleteditems", "Drafts": "drafts",
		"Inbox": "inbox", "Junk Email": "junkemail", "Outbox": "", "Sent Items": "sentitems", "Customers": "",
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("folders (-want +got):\n%s", diff)
	}
}

func TestEndToEndNeedsMailRead(t *testing.T) {
	t.Parallel()
	_, _, svc := mailbox(t, "User.Read")
	for _, err := range svc.Sync(t.Context(), mail.SyncRequest{Folder: mail.Inbox}) {
		if !errors.Is(err, graphclient.ErrForbidden) {
			t.Errorf("err = %v, want ErrForbidden without a mail scope", err)
		}
	}
	if _, err := folderList(svc.Folders(t.Context())); !errors.Is(err, graphclient.ErrForbidden) {
		t.Errorf("Folders err = %v, want ErrForbidden", err)
	}
}

func TestEndToEndSyncSurvivesFaults(t *testing.T) {
	t.Parallel()
	srv := graphtest.New(t)
	user := srv.AddTenant("contoso.com").AddUser("adele@contoso.com", "Adele Vance")
	noWait := graphclient.RetryPolicy{Backoff: func(int, *http.Response) time.Duration { return 0 }}
	gc, err := graphclient.New(graphclient.StaticToken(srv.IssueToken(user, "app", "Mail.Read")),
		graphclient.WithHTTPClient(srv.HTTPClient()), graphclient.WithRetry(noWait))
	if err != nil {
		t.Fatal(err)
	}
	svc := mail.New(gc)
	var want []string
	for i := range 25 {
		s := fmt.Sprintf("deal %02d", i)
		want = append(want, s)
		user.AddMessage(graphtest.Message{Subject: s, From: buyer, To: []graphtest.Address{adele}, Received: time.Date(2026, 3, 2, 0, i, 0, 0, time.UTC)})
	}
	const delta = "/v1.0/me/mailFolders/inbox/messages/delta"
	for _, k := range []graphtest.FaultKind{graphtest.Throttle, graphtest.Unavailable, graphtest.DropConnection, graphtest.TruncateBody, graphtest.SyncReset} {
		srv.Inject(graphtest.Fault{Method: "GET", PathPrefix: delta, Kind: k, RetryAfter: "0"})
	}
	local := store{}
	var st mail.Stats
	for p, err := range svc.Sync(t.Context(), mail.SyncRequest{Folder: mail.Inbox, PageSize: 5}) {
		if err != nil {
			t.Fatal(err)
		}
		local.apply(p)
		st.Add(p)
	}
	if diff := cmp.Diff(want, local.subjects(mail.Inbox)); diff != "" {
		t.Errorf("after 429, 503, a dropped connection, a truncated body and a mid-round reset (-want +got):\n%s", diff)
	}
	if st.Resets != 1 {
		t.Errorf("resets = %d, want 1", st.Resets)
	}
	statuses := map[int]int{}
	for _, r := range srv.Requests() {
		statuses[r.Status]++
	}
	for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGone} {
		if statuses[code] == 0 {
			t.Errorf("no %d was served (statuses %v): the faults did not apply", code, statuses)
		}
	}
}
