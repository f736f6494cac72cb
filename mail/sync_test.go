package mail_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
)

const docsFolder = "AQMkADNkNAAAgEMAAAA"

// modelFields is every property the Message model holds.
var modelFields = []string{
	"id", "internetMessageId", "conversationId", "subject", "from", "sender", "toRecipients", "ccRecipients",
	"bccRecipients", "replyTo", "receivedDateTime", "sentDateTime", "bodyPreview", "hasAttachments", "importance",
	"categories", "isDraft", "isRead", "parentFolderId", "webLink",
}

func TestSyncDocumentedRounds(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.delta(example1)
	ctx := t.Context()

	// Round 1: three pages of the documented first sync.
	var last *mail.Page
	var got []pageView
	for p, err := range svc.Sync(ctx, mail.SyncRequest{Folder: docsFolder, PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, view(p))
		last = p
	}
	want := []pageView{
		{Folder: docsFolder, IDs: []string{"AAMkADNkNAAASq35xAAA=", "AQMkADNkNAAAVRMKAAAAA=="},
			Cursor: f.link(docsBase + "me/mailfolders('AQMkADNkNAAAgEMAAAA')/messages/delta?$skiptoken=GwcBoTmPuoTQWfcsAbkYM")},
		{Folder: docsFolder, IDs: []string{"AQMkADNkNAAAgWkAAAA", "AQMkADNkNAAAgWJAAAA"},
			Cursor: f.link(docsBase + "me/mailfolders('AQMkADNkNAAAgEMAAAA')/messages/delta?$skiptoken=GwcBoTmPKILK4jLH7mAd1lLU")},
		{Folder: docsFolder, IDs: []string{"AAMkADk0MGFkODE3LWEAAA="}, Done: true,
			Cursor: f.link(docsBase + "me/mailfolders('AQMkADNkNAAAgEMAAAA')/messages/delta?$deltatoken=GwcBoTmPuoGNlgXgF1nyUNMXY")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("round 1 pages (-want +got):\n%s", diff)
	}

	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("round 1 sent %d requests, want 3", len(reqs))
	}
	first := reqs[0].URL.Query()
	if diff := cmp.Diff(modelFields, strings.Split(first.Get("$select"), ",")); diff != "" {
		t.Errorf("initial $select (-want +got):\n%s", diff)
	}
	if first.Has("$filter") || first.Has("$expand") {
		t.Errorf("initial query %q has $filter or $expand though none was asked for", reqs[0].URL.RawQuery)
	}
	for i, r := range reqs {
		if i > 0 && r.URL.Query().Has("$select") {
			t.Errorf("request %d repeats $select; links must be followed as they are: %s", i, r.URL)
		}
		if p := strings.Join(r.Header.Values("Prefer"), ", "); !strings.Contains(p, "odata.maxpagesize=2") {
			t.Errorf("request %d Prefer = %q, want odata.maxpagesize=2 on every page", i, p)
		}
	}

	// Round 2 from the deltaLink: one message deleted, one marked read,
	// with the docs' "isRead": "true" string.
	var round2 []*mail.Page
	for p, err := range svc.Sync(ctx, mail.SyncRequest{Folder: docsFolder, Cursor: last.Cursor}) {
		if err != nil {
			t.Fatal(err)
		}
		round2 = append(round2, p)
	}
	if len(round2) != 1 {
		t.Fatalf("round 2 gave %d pages, want 1", len(round2))
	}
	wantMsg := mail.Message{
		ID: "AAMkADNkNAAASq35xAAA=", Subject: "Holiday hours update", IsRead: true,
		Sender: mail.Recipient{EmailAddress: mail.EmailAddress{Name: "Dana Swope", Address: "danas@contoso.com"}},
	}
	if diff := cmp.Diff([]mail.Message{wantMsg}, round2[0].Messages); diff != "" {
		t.Errorf("round 2 messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AAMkADk0MGFkODE3LWE4MmYtNDRhOS0Dh_6qB-pB2Sa2pUum19a6YAAKnLuxoAAA="}, round2[0].Removed); diff != "" {
		t.Errorf("round 2 removed (-want +got):\n%s", diff)
	}
	if !round2[0].Done || round2[0].Reset {
		t.Errorf("round 2 Done=%v Reset=%v, want Done and no Reset", round2[0].Done, round2[0].Reset)
	}
}

func TestSyncResumesMidRound(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.delta(example1)
	cursor := f.link(docsBase + "me/mailfolders('AQMkADNkNAAAgEMAAAA')/messages/delta?$skiptoken=GwcBoTmPuoTQWfcsAbkYM")
	got := collect(t, svc.Sync(t.Context(), mail.SyncRequest{Folder: docsFolder, Cursor: cursor}))
	var ids []string
	for _, p := range got {
		ids = append(ids, p.IDs...)
	}
	if diff := cmp.Diff([]string{"AQMkADNkNAAAgWkAAAA", "AQMkADNkNAAAgWJAAAA", "AAMkADk0MGFkODE3LWEAAA="}, ids); diff != "" {
		t.Errorf("resumed round (-want +got):\n%s", diff)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("resuming sent %d requests, want 2 (no restart from the first page)", n)
	}
}

func TestSyncDeltaLinkCarryingSkiptoken(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.delta(map[string]string{
		"": "delta-example2-page1.json",
		"P4lmXpjPRrjB6haAQzSkpK89jYTVD2kVtOeXNRnfYzPbCs": "delta-example2-page2.json",
		"P4lmXpjPRrjB6haAQ_37roqIbjXe66KoV7SMlLH--Jgi8":  "delta-example2-round2.json",
	})
	ctx := t.Context()
	round1 := collect(t, svc.Sync(ctx, mail.SyncRequest{Folder: "AAMkAGUwNc4LTMzAAA="}))
	if len(round1) != 2 || !round1[1].Done {
		t.Fatalf("round 1 = %+v, want 2 pages ending Done", round1)
	}
	round2 := collect(t, svc.Sync(ctx, mail.SyncRequest{Folder: "AAMkAGUwNc4LTMzAAA=", Cursor: round1[1].Cursor}))
	want := []pageView{{
		Folder: "AAMkAGUwNc4LTMzAAA=", Done: true,
		IDs: []string{
			"AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMzNjMwNWM0ZGE2YQBGAAAAAADbrwBIJ",
			"AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMzNjMwNWM0ZGE2YQBGAAAAAADbrwZA=",
		},
		// The documented deltaLink carries a $skiptoken: it is still the
		// next round's cursor, kept as it is.
		Cursor: f.link(docsBase + "me/mailFolders/AAMkAGUwNc4LTMzAAA=/messages/delta?$skiptoken=EPuhZPRDHo-r3EBfscYE444fuGSBRV1eXex3JZkLzT9fRM"),
	}}
	if diff := cmp.Diff(want, round2); diff != "" {
		t.Errorf("round 2 (-want +got):\n%s", diff)
	}
}

func TestSyncResetsWhenStateIsGone(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	files := map[string]string{"expired": "410"}
	for k, v := range example1 {
		files[k] = v
	}
	f.delta(files)
	stale := f.srv.URL + "/v1.0/me/mailfolders('AQMkADNkNAAAgEMAAAA')/messages/delta?$deltatoken=expired"
	var stats mail.Stats
	var got []pageView
	for p, err := range svc.Sync(t.Context(), mail.SyncRequest{Folder: docsFolder, Cursor: stale}) {
		if err != nil {
			t.Fatal(err)
		}
		stats.Add(p)
		got = append(got, view(p))
	}
	if len(got) != 3 {
		t.Fatalf("got %d pages after the reset, want the full round of 3", len(got))
	}
	for i, p := range got {
		if p.Reset != (i == 0) {
			t.Errorf("page %d Reset = %v, want Reset only on the first page", i, p.Reset)
		}
	}
	if stats.Resets != 1 || stats.Kept != 5 {
		t.Errorf("stats = %+v, want 1 reset and 5 messages", stats)
	}
	reqs := f.requests()
	if q := reqs[1].URL.Query(); q.Get("$select") == "" {
		t.Errorf("restart request %s lacks the initial $select", reqs[1].URL)
	}
}

func TestSyncFilterCounts(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.delta(example1)
	filter := mail.All(mail.SkipDrafts(), mail.ExternalOnly("contoso.com"))
	var stats mail.Stats
	var kept []string
	var skipped []mail.Skipped
	for p, err := range svc.Sync(t.Context(), mail.SyncRequest{Folder: docsFolder, Filter: filter}) {
		if err != nil {
			t.Fatal(err)
		}
		stats.Add(p)
		for _, m := range p.Messages {
			kept = append(kept, m.Sender.EmailAddress.Address)
		}
		skipped = append(skipped, p.Skipped...)
	}
	if diff := cmp.Diff([]string{"elliot-hyde@tailspintoys.com"}, kept); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	wantSkipped := []mail.Skipped{
		{ID: "AAMkADNkNAAASq35xAAA=", Reason: "internal"}, {ID: "AQMkADNkNAAAVRMKAAAAA==", Reason: "internal"},
		{ID: "AQMkADNkNAAAgWJAAAA", Reason: "internal"}, {ID: "AAMkADk0MGFkODE3LWEAAA=", Reason: "internal"},
	}
	if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(mail.Stats{Kept: 1, Skipped: map[string]int{mail.ReasonInternal: 4}}, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestSyncRequestQuery(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.delta(example1)
	since := time.Date(2024, 1, 2, 5, 4, 5, 0, time.FixedZone("EET", 2*3600))
	req := mail.SyncRequest{Folder: "inbox", Since: since, Body: mail.BodyText, Headers: true, Classification: true}
	collect(t, svc.Sync(t.Context(), req))
	reqs := f.requests()
	if reqs[0].URL.Path != "/v1.0/me/mailFolders/inbox/messages/delta" {
		t.Errorf("path = %q", reqs[0].URL.Path)
	}
	q := reqs[0].URL.Query()
	if got, want := q.Get("$filter"), "receivedDateTime ge 2024-01-02T03:04:05Z"; got != want {
		t.Errorf("$filter = %q, want %q", got, want)
	}
	sel := strings.Split(q.Get("$select"), ",")
	for _, want := range append(slices.Clone(modelFields), "body", "internetMessageHeaders") {
		if !slices.Contains(sel, want) {
			t.Errorf("$select %v lacks %q", sel, want)
		}
	}
	if got, want := q.Get("$expand"), "singleValueExtendedProperties($filter=id eq 'String 0x001A' or id eq 'Integer 0x0036')"; got != want {
		t.Errorf("$expand = %q, want %q", got, want)
	}
	for i, r := range reqs {
		if p := strings.Join(r.Header.Values("Prefer"), ", "); !strings.Contains(p, `outlook.body-content-type="text"`) {
			t.Errorf("request %d Prefer = %q, want the body type on every page", i, p)
		}
	}
}

func TestSyncDecodesClassificationAndUTC(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.mux.HandleFunc("GET /v1.0/me/mailFolders/{id}/messages/delta", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"@odata.deltaLink":"` + f.srv.URL + `/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=x","value":[
			{"id":"1","receivedDateTime":"2024-05-01T12:00:00+02:00","from":{"emailAddress":{"address":"bob@fabrikam.com"}},
			 "singleValueExtendedProperties":[{"id":"String 0x1a","value":"IPM.Schedule.Meeting.Resp.Tent"},{"id":"Integer 0x36","value":"3"}]},
			{"id":"2","receivedDateTime":"2024-05-01T10:00:00Z","from":{"emailAddress":{"address":"bob@fabrikam.com"}}}]}`))
	})
	var stats mail.Stats
	var msgs []mail.Message
	for p, err := range svc.Sync(t.Context(), mail.SyncRequest{Folder: "inbox", Classification: true, Filter: mail.All(mail.SkipSensitive(), mail.SkipAutomated())}) {
		if err != nil {
			t.Fatal(err)
		}
		stats.Add(p)
		msgs = append(msgs, p.Messages...)
	}
	if len(msgs) != 1 || msgs[0].ID != "2" {
		t.Fatalf("kept %+v, want only message 2", msgs)
	}
	if got := msgs[0].ReceivedDateTime; got.Location() != time.UTC || !got.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("ReceivedDateTime = %v, want 10:00 UTC", got)
	}
	if diff := cmp.Diff(map[string]int{mail.ReasonSensitive: 1}, stats.Skipped); diff != "" {
		t.Errorf("skipped by reason (-want +got):\n%s", diff)
	}
}

func TestSyncYieldsBadPayloadOnce(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	// The API page's example is a template: "receivedDateTime": "datetime-value".
	f.delta(map[string]string{"": "message-delta-api-example.json"})
	n, errs := 0, 0
	for p, err := range svc.Sync(t.Context(), mail.SyncRequest{Folder: "inbox"}) {
		n++
		if err != nil {
			errs++
			if !strings.HasPrefix(err.Error(), "mail: Sync: folder \"inbox\": ") {
				t.Errorf("error = %q, want it to name the folder", err)
			}
			continue
		}
		t.Errorf("got page %+v from a payload with a placeholder date", p)
	}
	if n != 1 || errs != 1 {
		t.Errorf("got %d yields and %d errors, want the error once", n, errs)
	}
}

func TestSyncErrorsFromGraph(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.mux.HandleFunc("GET /v1.0/me/mailFolders/{id}/messages/delta", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":"ErrorAccessDenied","message":"Access is denied. Check credentials and try again."}}`))
	})
	for _, err := range svc.Sync(t.Context(), mail.SyncRequest{Folder: "inbox"}) {
		var ge *graphclient.Error
		if !errors.Is(err, graphclient.ErrForbidden) || !errors.As(err, &ge) || ge.Code != "ErrorAccessDenied" {
			t.Errorf("err = %v, want a wrapped *graphclient.Error matching ErrForbidden", err)
		}
	}
}

func TestSyncBadInput(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	tests := []struct {
		name  string
		req   mail.SyncRequest
		input string
	}{
		{"no folder", mail.SyncRequest{}, "SyncRequest.Folder"},
		{"blank folder", mail.SyncRequest{Folder: "  "}, "SyncRequest.Folder"},
		{"body type", mail.SyncRequest{Folder: "inbox", Body: "rtf"}, "SyncRequest.Body"},
		{"page size", mail.SyncRequest{Folder: "inbox", PageSize: -1}, "SyncRequest.PageSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, err := range svc.Sync(t.Context(), tt.req) {
				var me *mail.Error
				if !errors.As(err, &me) || me.Input != tt.input || !errors.Is(err, graphclient.ErrInvalidInput) {
					t.Errorf("err = %v, want *mail.Error for %s", err, tt.input)
				}
			}
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("bad input sent %d requests", n)
	}
}

func TestSyncIsLazyAndRerunnable(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.delta(example1)
	seq := svc.Sync(t.Context(), mail.SyncRequest{Folder: docsFolder})
	if n := len(f.requests()); n != 0 {
		t.Fatalf("Sync sent %d requests before range", n)
	}
	for range seq {
		break // stop after the first page
	}
	if n := len(f.requests()); n != 1 {
		t.Fatalf("breaking after one page sent %d requests, want 1", n)
	}
	a := collect(t, seq)
	b := collect(t, seq)
	if diff := cmp.Diff(a, b); diff != "" || len(a) != 3 {
		t.Errorf("ranging twice differs or is short (%d pages):\n%s", len(a), diff)
	}
}

func TestSyncMailbox(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	page := func(id, link string) string {
		return `{"@odata.deltaLink":"` + f.srv.URL + link + `","value":[{"id":"` + id + `","from":{"emailAddress":{"address":"a@fabrikam.com"}}}]}`
	}
	f.mux.HandleFunc("GET /v1.0/me/mailFolders/{id}/messages/delta", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		folder := r.PathValue("id")
		switch tok := r.URL.Query().Get("$deltatoken"); {
		case folder == "inbox" && tok == "":
			_, _ = w.Write([]byte(page("in-1", "/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=in-2")))
		case folder == "sentitems" && tok == "sent-1":
			_, _ = w.Write([]byte(page("sent-reply", "/v1.0/me/mailFolders/sentitems/messages/delta?$deltatoken=sent-2")))
		default:
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
		}
	})
	stored := mail.Cursors{mail.SentItems: f.srv.URL + "/v1.0/me/mailFolders/sentitems/messages/delta?$deltatoken=sent-1"}
	next := mail.Cursors{}
	for k, v := range stored {
		next[k] = v
	}
	var got []string
	for p, err := range svc.SyncMailbox(t.Context(), mail.MailboxRequest{Cursors: stored}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Messages {
			got = append(got, p.Folder+"/"+m.ID)
		}
		next.Advance(p)
	}
	if diff := cmp.Diff([]string{"inbox/in-1", "sentitems/sent-reply"}, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(next)
	if err != nil {
		t.Fatal(err)
	}
	var back mail.Cursors
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := mail.Cursors{
		"inbox":     f.srv.URL + "/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=in-2",
		"sentitems": f.srv.URL + "/v1.0/me/mailFolders/sentitems/messages/delta?$deltatoken=sent-2",
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("cursors after a JSON round trip (-want +got):\n%s", diff)
	}
	if stored[mail.Inbox] != "" {
		t.Errorf("SyncMailbox changed the caller's Cursors")
	}

	for _, folders := range [][]string{{"inbox", "inbox"}, {"inbox", ""}} {
		for _, err := range svc.SyncMailbox(t.Context(), mail.MailboxRequest{Folders: folders}) {
			if !errors.Is(err, graphclient.ErrInvalidInput) {
				t.Errorf("folders %q: err = %v, want ErrInvalidInput", folders, err)
			}
		}
	}
}
