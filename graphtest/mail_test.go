package graphtest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func addInbox(u *User, n int) []Message {
	var out []Message
	for i := range n {
		out = append(out, u.AddMessage(Message{
			Subject:  fmt.Sprintf("msg %02d", i),
			From:     Address{"Patti Fernandez", "patti@fabrikam.com"},
			To:       []Address{Of(u)},
			Received: testNow.Add(-time.Duration(i) * time.Hour),
			BodyHTML: fmt.Sprintf("<p>Body <b>%d</b> &amp; more</p>", i),
		}))
	}
	return out
}

func TestMailDeltaRounds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Mail.Read")
	msgs := addInbox(f.adele, 7)
	f.adele.AddMessage(Message{Folder: "sentitems", Subject: "sent", From: Of(f.adele)})

	items, removed, pages, link := syncRound(t, f.srv, tok, "me/mailFolders/inbox/messages/delta", 3)
	if len(items) != 7 || len(removed) != 0 || pages != 3 {
		t.Fatalf("first round: %d items, %d removed, %d pages; want 7, 0, 3", len(items), len(removed), pages)
	}

	if err := f.adele.UpdateMessage(msgs[0].ID, func(m *Message) { m.IsRead = true }); err != nil {
		t.Fatal(err)
	}
	if err := f.adele.MoveMessage(msgs[1].ID, "archive"); err != nil {
		t.Fatal(err)
	}
	if err := f.adele.DeleteMessage(msgs[2].ID); err != nil {
		t.Fatal(err)
	}
	added := f.adele.AddMessage(Message{Subject: "fresh", From: Of(f.alex)})

	items, removed, _, link = syncRound(t, f.srv, tok, link, 0)
	var got []string
	for _, it := range items {
		got = append(got, it["id"].(string))
	}
	slices.Sort(got)
	want := []string{msgs[0].ID, added.ID}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changed (-want +got):\n%s", diff)
	}
	slices.Sort(removed)
	wantRemoved := []string{msgs[1].ID, msgs[2].ID}
	slices.Sort(wantRemoved)
	if diff := cmp.Diff(wantRemoved, removed); diff != "" {
		t.Errorf("removed (moved and deleted; -want +got):\n%s", diff)
	}

	f.adele.ExpireDeltaTokens()
	r := do(t, f.srv, graphCall{url: link, token: tok})
	wantStatus(t, r, http.StatusGone)
	if code := r.errorCode(t); code != "SyncStateNotFound" {
		t.Errorf("code = %q", code)
	}
}

func TestMailDeltaOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Mail.Read")
	msgs := addInbox(f.adele, 4) // received now, -1h, -2h, -3h

	t.Run("select and text body", func(t *testing.T) {
		r := do(t, f.srv, graphCall{url: "me/mailFolders/inbox/messages/delta?$select=subject,body", token: tok,
			headers: map[string]string{"Prefer": `outlook.body-content-type="text"`}})
		wantStatus(t, r, http.StatusOK)
		v := r.values(t)[0]
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range v {
				if !yield(k) {
					return
				}
			}
		})
		if diff := cmp.Diff([]string{"@odata.etag", "body", "id", "subject"}, keys); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]any{"contentType": "text", "content": "Body 0 & more"}, v["body"]); diff != "" {
			t.Errorf("text body (-want +got):\n%s", diff)
		}
		if pa := r.header.Get("Preference-Applied"); pa != `outlook.body-content-type="text"` {
			t.Errorf("Preference-Applied = %q", pa)
		}
	})
	t.Run("receivedDateTime filter", func(t *testing.T) {
		filter := url.QueryEscape("receivedDateTime ge " + testNow.Add(-90*time.Minute).Format(time.RFC3339))
		items, _, _, _ := syncRound(t, f.srv, tok, "me/mailFolders/inbox/messages/delta?$filter="+filter, 0)
		if diff := cmp.Diff([]string{"msg 00", "msg 01"}, subjects(items)); diff != "" {
			t.Errorf("filtered (-want +got):\n%s", diff)
		}
	})
	t.Run("changeType created", func(t *testing.T) {
		_, _, _, link := syncRound(t, f.srv, tok, "me/mailFolders/inbox/messages/delta?changeType=created", 0)
		if err := f.adele.UpdateMessage(msgs[3].ID, func(m *Message) { m.Categories = []string{"Blue"} }); err != nil {
			t.Fatal(err)
		}
		f.adele.AddMessage(Message{Subject: "created later", Received: testNow})
		items, removed, _, _ := syncRound(t, f.srv, tok, link, 0)
		if diff := cmp.Diff([]string{"created later"}, subjects(items)); diff != "" || len(removed) != 0 {
			t.Errorf("changeType=created gave %v removed %v", subjects(items), removed)
		}
	})
	bad := []string{
		"$filter=" + url.QueryEscape("subject eq 'x'"),
		"$filter=" + url.QueryEscape("receivedDateTime ge yesterday"),
		"$select=nope",
		"changeType=moved",
		"$search=hello",
	}
	for _, q := range bad {
		r := do(t, f.srv, graphCall{url: "me/mailFolders/inbox/messages/delta?" + q, token: tok})
		wantStatus(t, r, http.StatusBadRequest)
	}
}

func TestMailFoldersAndMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.srv.IssueToken(f.adele, "app", "Mail.ReadBasic")
	m := addInbox(f.adele, 2)[0]

	r := do(t, f.srv, graphCall{url: "me/mailFolders?$top=5", token: tok})
	wantStatus(t, r, http.StatusOK)
	if n := len(r.values(t)); n != 5 || !strings.Contains(string(r.body), `"@odata.nextLink":"https://graph.microsoft.com/v1.0/me/mailFolders?`) {
		t.Fatalf("page of %d folders, body %s", n, r.body)
	}
	next := r.json(t)["@odata.nextLink"].(string)
	if n := len(do(t, f.srv, graphCall{url: next, token: tok}).values(t)); n != 3 {
		t.Errorf("second page has %d folders, want 3", n)
	}
	inbox := do(t, f.srv, graphCall{url: "me/mailFolders/Inbox", token: tok}).json(t)
	if inbox["displayName"] != "Inbox" || inbox["totalItemCount"] != 2.0 || inbox["unreadItemCount"] != 2.0 {
		t.Errorf("inbox = %v", inbox)
	}
	byID := do(t, f.srv, graphCall{url: "me/mailFolders/" + url.PathEscape(inbox["id"].(string)), token: tok}).json(t)
	if byID["displayName"] != "Inbox" {
		t.Errorf("inbox by ID = %v", byID)
	}
	wantStatus(t, do(t, f.srv, graphCall{url: "me/mailFolders/nope", token: tok}), http.StatusNotFound)

	// Mail.ReadBasic: no body.
	basic := do(t, f.srv, graphCall{url: "me/messages/" + url.PathEscape(m.ID), token: tok}).json(t)
	if _, ok := basic["body"]; ok {
		t.Error("Mail.ReadBasic returned the body")
	}
	full := do(t, f.srv, graphCall{url: "me/messages/" + url.PathEscape(m.ID), token: f.srv.IssueToken(f.adele, "app", "Mail.Read")})
	wantStatus(t, full, http.StatusOK)
	if missing := missingKeys(t, "message-get.json", full.json(t)); len(missing) > 0 {
		t.Errorf("message lacks %v", missing)
	}
	if got := full.json(t)["parentFolderId"]; got != inbox["id"] {
		t.Errorf("parentFolderId = %v, want %v", got, inbox["id"])
	}
}

func TestMailNoMailboxAndScopes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	nobox := f.tenant.AddUser("room@contoso.com", "Room", NoMailbox())
	r := do(t, f.srv, graphCall{url: "me/mailFolders/inbox/messages/delta", token: f.srv.IssueToken(nobox, "app", "Mail.Read")})
	wantStatus(t, r, http.StatusNotFound)
	if diff := cmp.Diff("MailboxNotEnabledForRESTAPI", r.errorCode(t)); diff != "" {
		t.Error(diff)
	}
	r = do(t, f.srv, graphCall{url: "me/mailFolders", token: f.srv.IssueToken(f.adele, "app", "Calendars.Read")})
	wantStatus(t, r, http.StatusForbidden)
	if diff := cmp.Diff("ErrorAccessDenied", r.errorCode(t)); diff != "" {
		t.Errorf("403 code from Outlook (-want +got):\n%s", diff)
	}
}

func TestMessageGoAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.adele.AddMessage(Message{Subject: "draft", IsDraft: true})
	if d.Folder != "drafts" || !d.Sent.IsZero() {
		t.Errorf("draft stored in %q with sent %v", d.Folder, d.Sent)
	}
	if err := f.adele.MoveMessage(d.ID, "nowhere"); !errors.Is(err, ErrNotFound) {
		t.Errorf("move to unknown folder = %v", err)
	}
	if err := f.adele.UpdateMessage("nope", func(*Message) {}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update unknown = %v", err)
	}
	id := f.adele.AddMailFolder("Customers")
	if err := f.adele.MoveMessage(d.ID, id); err != nil {
		t.Fatal(err)
	}
	if got := f.adele.Messages(id); len(got) != 1 || got[0].Folder != id {
		t.Errorf("Messages(custom) = %v", got)
	}
	if len(f.adele.Messages("drafts")) != 0 {
		t.Error("draft still in drafts after move")
	}
}

func TestMailDeltaDocShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addInbox(f.adele, 1)
	r := do(t, f.srv, graphCall{url: "me/mailFolders/inbox/messages/delta", token: f.srv.IssueToken(f.adele, "app", "Mail.Read")})
	wantStatus(t, r, http.StatusOK)
	if m := missingKeys(t, "message-delta.json", r.values(t)[0]); len(m) > 0 {
		t.Errorf("delta message lacks %v", m)
	}
}

func TestListMessagesAcrossFolders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addInbox(f.adele, 2)
	f.adele.AddMessage(Message{Folder: "sentitems", Subject: "sent", Received: testNow.Add(time.Minute)})
	tok := f.srv.IssueToken(f.adele, "app", "Mail.Read")
	r := do(t, f.srv, graphCall{url: "me/messages?$select=subject", token: tok})
	wantStatus(t, r, http.StatusOK)
	var got []string
	for _, v := range r.values(t) {
		got = append(got, v["subject"].(string))
	}
	if diff := cmp.Diff([]string{"sent", "msg 00", "msg 01"}, got); diff != "" {
		t.Errorf("/me/messages newest first (-want +got):\n%s", diff)
	}
	d := do(t, f.srv, graphCall{url: "me/mailFolders/inbox/messages/delta", token: tok, headers: map[string]string{"Prefer": "odata.maxpagesize=1"}})
	if pa := d.header.Get("Preference-Applied"); pa != "odata.maxpagesize=1" {
		t.Errorf("Preference-Applied = %q", pa)
	}
	cv := do(t, f.srv, graphCall{url: "me/calendar/calendarView?" + calendarWindow, token: f.srv.IssueToken(f.adele, "app", "Calendars.Read")})
	wantStatus(t, cv, http.StatusOK)
}

func TestMessageHeadersAndExtendedProperties(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := f.adele.AddMessage(Message{Subject: "news", Headers: []MessageHeader{{"List-Unsubscribe", "<https://x.example/u>"}}, Sensitivity: "private"})
	tok := f.srv.IssueToken(f.adele, "app", "Mail.Read")
	expand := url.QueryEscape("singleValueExtendedProperties($filter=id eq 'String 0x001A' or id eq 'Integer 0x0036')")
	for _, u := range []string{
		"me/messages/" + url.PathEscape(m.ID) + "?$select=subject,internetMessageHeaders&$expand=" + expand,
		"me/mailFolders/inbox/messages/delta?$select=subject,internetMessageHeaders&$expand=" + expand,
	} {
		r := do(t, f.srv, graphCall{url: u, token: tok})
		wantStatus(t, r, http.StatusOK)
		v := r.json(t)
		if vs, ok := v["value"].([]any); ok {
			v = vs[0].(map[string]any)
		}
		want := map[string]any{
			"@odata.etag": v["@odata.etag"], "id": m.ID, "subject": "news",
			"internetMessageHeaders":        []any{map[string]any{"name": "List-Unsubscribe", "value": "<https://x.example/u>"}},
			"singleValueExtendedProperties": []any{map[string]any{"id": "String 0x1a", "value": "IPM.Note"}, map[string]any{"id": "Integer 0x36", "value": "2"}},
		}
		if diff := cmp.Diff(want, v); diff != "" {
			t.Errorf("%s (-want +got):\n%s", u, diff)
		}
	}
	plain := do(t, f.srv, graphCall{url: "me/messages/" + url.PathEscape(m.ID), token: tok}).json(t)
	if _, ok := plain["internetMessageHeaders"]; ok {
		t.Error("headers returned without $select")
	}
}
