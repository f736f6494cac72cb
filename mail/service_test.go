package mail_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/mail"
)

func TestMessage(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.mux.HandleFunc("GET /v1.0/me/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "AAMkADhMGAAA=" {
			http.Error(w, "wrong id "+r.PathValue("id"), http.StatusNotFound)
			return
		}
		f.file(w, "message-get.json")
	})
	m, err := svc.Message(t.Context(), "AAMkADhMGAAA=", &mail.MessageOptions{Body: mail.BodyHTML})
	if err != nil {
		t.Fatal(err)
	}
	adele := mail.Recipient{EmailAddress: mail.EmailAddress{Name: "Adele Vance", Address: "adelev@contoso.OnMicrosoft.com"}}
	want := &mail.Message{
		ID:                "AAMkADhMGAAA=",
		InternetMessageID: "<MWHPR6E1BE060@MWHPR1120.namprd22.prod.outlook.com>",
		ConversationID:    "AAQkADOUpag6yWs=",
		Subject:           "9/9/2018: concert",
		From:              adele,
		Sender:            adele,
		ToRecipients:      []mail.Recipient{{EmailAddress: mail.EmailAddress{Name: "Alex Wilber", Address: "AlexW@contoso.OnMicrosoft.com"}}},
		CcRecipients:      []mail.Recipient{},
		BccRecipients:     []mail.Recipient{},
		ReplyTo:           []mail.Recipient{},
		ReceivedDateTime:  time.Date(2018, 9, 9, 3, 15, 8, 0, time.UTC),
		SentDateTime:      time.Date(2018, 9, 9, 3, 15, 6, 0, time.UTC),
		BodyPreview:       "The group represents Nevada.",
		Importance:        "normal",
		Categories:        []string{},
		IsRead:            true,
		ParentFolderID:    "AAMkADcbAAAAAAEJAAA=",
		WebLink:           "https://outlook.office365.com/owa/?ItemID=AAMkADMGAAA%3D&exvsurl=1&viewmodel=ReadMessageItem",
		Body: &mail.ItemBody{ContentType: "html", Content: "<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n" +
			"<meta content=\"text/html; charset=us-ascii\">\r\n</head>\r\n<body>\r\nThe group represents Nevada.\r\n</body>\r\n</html>\r\n"},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("Message (-want +got):\n%s", diff)
	}
	r := f.requests()[0]
	if !strings.Contains(r.URL.Query().Get("$select"), ",body") {
		t.Errorf("$select = %q, want body selected", r.URL.Query().Get("$select"))
	}
	if got := strings.Join(r.Header.Values("Prefer"), ", "); !strings.Contains(got, `outlook.body-content-type="html"`) {
		t.Errorf("Prefer = %q, want the html body type", got)
	}
}

func TestMessageBodyAsText(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.mux.HandleFunc("GET /v1.0/me/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Preference-Applied", `outlook.body-content-type="text"`)
		f.file(w, "message-get-text.json")
	})
	m, err := svc.Message(t.Context(), "AAMkAGI1AAAoZCfHAAA=", &mail.MessageOptions{Body: mail.BodyText})
	if err != nil {
		t.Fatal(err)
	}
	if m.Body == nil || m.Body.ContentType != "text" || !strings.HasPrefix(m.Body.Content, "Welcome to our group, Dana! Hope you will enjoy working with us [\U0001F60A]") {
		t.Errorf("Body = %+v, want the text body with its emoji", m.Body)
	}
	if got := strings.Join(f.requests()[0].Header.Values("Prefer"), ", "); !strings.Contains(got, `outlook.body-content-type="text"`) {
		t.Errorf("Prefer = %q", got)
	}
}

func TestMessageWithoutBody(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.mux.HandleFunc("GET /v1.0/me/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"id":"` + r.PathValue("id") + `"}`))
	})
	// IDs may hold '/', '+' and '='; they must reach Graph as one segment.
	id := "AAMk/AD+hM=="
	m, err := svc.Message(t.Context(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != id {
		t.Errorf("ID = %q, want %q", m.ID, id)
	}
	r := f.requests()[0]
	if strings.Contains(r.URL.Query().Get("$select"), "body,") || strings.HasSuffix(r.URL.Query().Get("$select"), ",body") {
		t.Errorf("$select = %q selects the body though none was asked for", r.URL.Query().Get("$select"))
	}
	if got := r.Header.Values("Prefer"); strings.Contains(strings.Join(got, ","), "body-content-type") {
		t.Errorf("Prefer = %q asks for a body type", got)
	}
}

func TestMessageErrors(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.mux.HandleFunc("GET /v1.0/me/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}`))
	})
	ctx := t.Context()
	_, err := svc.Message(ctx, "gone", nil)
	var ge *mail.Error
	if !errors.Is(err, graphclient.ErrNotFound) || errors.Is(err, graphclient.ErrInvalidInput) || !errors.As(err, &ge) || ge.Op != "Message" {
		t.Errorf("Message(gone) err = %#v, want a *mail.Error for Message matching graphclient.ErrNotFound, not ErrInvalidInput", err)
	}
	for _, tt := range []struct {
		id    string
		opts  *mail.MessageOptions
		input string
	}{
		{"", nil, "id"},
		{"x", &mail.MessageOptions{Body: "rtf"}, "MessageOptions.Body"},
	} {
		_, err := svc.Message(ctx, tt.id, tt.opts)
		var me *mail.Error
		if !errors.As(err, &me) || me.Input != tt.input {
			t.Errorf("Message(%q, %+v) err = %v, want *mail.Error for %s", tt.id, tt.opts, err, tt.input)
		}
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("sent %d requests, want only the valid one", n)
	}
}

func TestFolders(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.mux.HandleFunc("GET /v1.0/me/mailFolders", func(w http.ResponseWriter, r *http.Request) {
		f.file(w, "mailfolders-list.json")
	})
	ids := map[string]string{ // the folder IDs of the documented mailbox
		"inbox": "AQMkADYAAAIBDAAAAA==", "sentitems": "AQMkADYAAAIBCQAAAA==", "drafts": "AQMkADYAAAIBDwAAAA==",
		"deleteditems": "AQMkADYAAAIBCgAAAA==", "junkemail": "AQMkADYAAAIBGQAAAA==",
	}
	f.mux.HandleFunc("GET /v1.0/me/mailFolders/{name}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := ids[r.PathValue("name")]
		if !ok { // this mailbox has no archive folder set up
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"ErrorFolderNotFound","message":"The specified folder could not be found in the store."}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"` + id + `"}`))
	})
	folders, err := folderList(svc.Folders(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fo := range folders {
		got[fo.DisplayName] = fo.WellKnownName
	}
	want := map[string]string{
		"Archive": "", "Conversation History": "", "Deleted Items": "deleteditems", "Drafts": "drafts", "Inbox": "inbox",
		"Weekly digests": "", "Junk Email": "junkemail", "Outbox": "", "Sent Items": "sentitems",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("well-known names (-want +got):\n%s", diff)
	}
	inbox := folders[4]
	if diff := cmp.Diff(&mail.Folder{ID: "AQMkADYAAAIBDAAAAA==", DisplayName: "Inbox", ParentFolderID: "AQMkADYAAAIBCAAAAA==",
		ChildFolderCount: 1, UnreadItemCount: 70, TotalItemCount: 71, WellKnownName: "inbox"}, inbox); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
}

func TestFolder(t *testing.T) {
	t.Parallel()
	f, svc := newFake(t)
	f.mux.HandleFunc("GET /v1.0/me/mailFolders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "denied" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"code":"ErrorAccessDenied","message":"Access is denied."}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"AQMkADYAAAIBCQAAAA==","displayName":"Sent Items","totalItemCount":3}`))
	})
	ctx := t.Context()
	fo, err := svc.Folder(ctx, "SentItems")
	if err != nil {
		t.Fatal(err)
	}
	if fo.WellKnownName != mail.SentItems || fo.DisplayName != "Sent Items" || fo.TotalItemCount != 3 {
		t.Errorf("Folder(SentItems) = %+v", fo)
	}
	if fo, err := svc.Folder(ctx, "AQMkADYAAAIBCQAAAA=="); err != nil || fo.WellKnownName != "" {
		t.Errorf("Folder(id) = %+v, %v; want no well-known name when asked by ID", fo, err)
	}
	if _, err := svc.Folder(ctx, "denied"); !errors.Is(err, graphclient.ErrForbidden) {
		t.Errorf("Folder(denied) err = %v, want ErrForbidden", err)
	}
	if _, err := svc.Folder(ctx, " "); !errors.Is(err, graphclient.ErrInvalidInput) {
		t.Errorf("Folder(blank) err = %v, want ErrInvalidInput", err)
	}
}

// TestNilClient proves a Service built on a nil client returns an error
// naming the mistake from every method instead of panicking.
func TestNilClient(t *testing.T) {
	t.Parallel()
	svc := mail.New(nil)
	ctx := t.Context()
	errs := map[string]error{}
	_, errs["Message"] = svc.Message(ctx, "x", nil)
	_, errs["Folder"] = svc.Folder(ctx, mail.Inbox)
	_, errs["Folders"] = folderList(svc.Folders(ctx))
	for _, err := range svc.Sync(ctx, mail.SyncRequest{Folder: mail.Inbox}) {
		errs["Sync"] = err
	}
	for _, err := range svc.SyncMailbox(ctx, mail.MailboxRequest{}) {
		errs["SyncMailbox"] = err
	}
	for name, err := range errs {
		if !errors.Is(err, graphclient.ErrInvalidInput) || !strings.Contains(err.Error(), "nil *graphclient.Client") {
			t.Errorf("%s on a nil client: err = %v, want ErrInvalidInput naming the nil client", name, err)
		}
	}
}
