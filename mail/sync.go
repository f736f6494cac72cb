package mail

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/m365kit/m365kit/graphclient"
)

// SyncRequest says what Sync reads. Keep it the same from round to round,
// changing only Cursor: a stored cursor carries the query it started with,
// but a restart after Graph dropped the sync state (Page.Reset) builds the
// query again from the request, and Body's Prefer header is sent with each
// request.
type SyncRequest struct {
	// Folder is the folder to sync: an ID or a well-known name (Inbox,
	// SentItems, ...). Required. Graph tracks each folder on its own.
	Folder string
	// Cursor is the Page.Cursor stored after the last page handled: a
	// nextLink (resume mid-round) or a deltaLink (fetch what changed
	// since). Empty starts a full sync.
	Cursor string
	// Since limits a full sync to mail received at or after it
	// (receivedDateTime ge Since). Graph then returns at most 5,000
	// messages. Pass it with every Cursor too: a restart without it
	// syncs the whole folder.
	Since time.Time
	// Filter decides which messages pages carry; nil keeps all. It sees
	// only what a round returns: a message skipped once is not offered
	// again until it changes. To apply a changed filter to mail already
	// seen, drop the folder's stored mail and sync again without Cursor.
	Filter Filter
	// Body asks for message bodies as text or HTML; BodyNone (the
	// default) syncs previews only, which keeps pages small.
	Body BodyType
	// Headers selects the internet message headers, so SkipAutomated can
	// read List-Unsubscribe, Auto-Submitted and Precedence.
	Headers bool
	// Classification selects the message class and sensitivity, so
	// SkipAutomated can recognise meeting responses and reports and
	// SkipSensitive can work.
	Classification bool
	// PageSize asks Graph for at most this many messages a page
	// (Prefer: odata.maxpagesize). Zero leaves Graph's default.
	PageSize int
}

// Page is one page of a mail sync. Store Messages, drop Removed (and
// Skipped, which a filter now rejects though an earlier round may have
// kept them), then store Cursor with them, ideally in one transaction.
type Page struct {
	// Folder is the folder as the request named it.
	Folder string
	// Messages are the new or changed messages the filter kept.
	Messages []Message
	// Skipped are the new or changed messages the filter rejected, with
	// the reason. A caller that kept one of them earlier should drop it.
	Skipped []Skipped
	// Removed are the IDs of messages deleted from the folder or moved out
	// of it.
	Removed []string
	// Cursor resumes the sync after this page. Store it with the page's
	// data.
	Cursor string
	// Reset says Graph dropped the sync state and this page starts a full
	// sync again: drop everything stored for Folder first.
	Reset bool
	// Done is true on the round's last page; Cursor is then a deltaLink
	// for the next round.
	Done bool
}

// Skipped is a message a filter rejected, and why.
type Skipped struct {
	ID     string
	Reason string
}

// Filtered returns the number of messages the filter skipped on this page.
func (p *Page) Filtered() int { return len(p.Skipped) }

// Sync walks one round of changes to the messages of one folder: on a
// first run every message (received since req.Since), then only what
// changed since req.Cursor. Each page carries the messages req.Filter kept,
// the ones it skipped and why, the IDs removed, and a cursor to resume
// from. The sequence ends after the page with Done set, or after the
// first error. Nothing is requested until the loop starts; ranging again
// starts again from req.Cursor.
//
// When Graph reports the sync state gone (410 Gone, SyncStateNotFound),
// Sync starts a full sync once and marks its first page Reset.
//
// Graph API: GET /me/mailFolders/{id}/messages/delta
// https://learn.microsoft.com/graph/api/message-delta
func (s *Service) Sync(ctx context.Context, req SyncRequest) iter.Seq2[*Page, error] {
	return func(yield func(*Page, error) bool) {
		if err := s.check("Sync"); err != nil {
			yield(nil, err)
			return
		}
		initial, opts, err := req.plan()
		if err != nil {
			yield(nil, err)
			return
		}
		for dp, err := range graphclient.Delta[Message](ctx, s.gc, initial, req.Cursor, opts...) {
			if err != nil {
				yield(nil, failed("Sync", fmt.Errorf("folder %s: %w", quote(req.Folder), err)))
				return
			}
			if !yield(req.page(dp), nil) {
				return
			}
		}
	}
}

// plan checks req and returns the initial delta path and per-page options.
func (req *SyncRequest) plan() (string, []graphclient.RequestOption, error) {
	if strings.TrimSpace(req.Folder) == "" {
		return "", nil, invalid("Sync", "SyncRequest.Folder", "is empty (use an ID or a well-known name such as mail.Inbox)")
	}
	if err := req.Body.check("Sync", "SyncRequest.Body"); err != nil {
		return "", nil, err
	}
	if req.PageSize < 0 {
		return "", nil, invalid("Sync", "SyncRequest.PageSize", fmt.Sprintf("is negative (%d)", req.PageSize))
	}
	initial := "me/mailFolders/" + url.PathEscape(req.Folder) + "/messages/delta?" + query(req.Body, req.Headers, req.Classification)
	if !req.Since.IsZero() {
		initial += "&$filter=" + url.QueryEscape("receivedDateTime ge "+req.Since.UTC().Format(time.RFC3339))
	}
	var opts []graphclient.RequestOption
	if req.PageSize > 0 {
		opts = append(opts, graphclient.WithMaxPageSize(req.PageSize))
	}
	if req.Body != BodyNone {
		opts = append(opts, graphclient.WithPrefer(req.Body.prefer()))
	}
	return initial, opts, nil
}

// page turns a delta page into a Page, applying the filter. It reuses the
// delta page's message slice.
func (req *SyncRequest) page(dp *graphclient.DeltaPage[Message]) *Page {
	p := &Page{Folder: req.Folder, Cursor: dp.Cursor, Reset: dp.Reset, Done: dp.Done}
	kept := dp.Items[:0]
	for i := range dp.Items {
		m := &dp.Items[i]
		m.utc()
		if r := req.Filter.Apply(m); r != "" {
			p.Skipped = append(p.Skipped, Skipped{ID: m.ID, Reason: r})
			continue
		}
		kept = append(kept, *m)
	}
	clear(dp.Items[len(kept):])
	p.Messages = kept
	if len(dp.Removed) > 0 {
		p.Removed = make([]string, len(dp.Removed))
		for i, r := range dp.Removed {
			p.Removed[i] = r.ID
		}
	}
	return p
}

// Cursors holds one sync cursor per folder, keyed by the folder as the
// request names it ("inbox", "sentitems" or an ID). It marshals to a plain
// JSON object, so it can be stored as one value. It is not safe for
// concurrent use.
type Cursors map[string]string

// Advance records p's cursor for p's folder. Call it after storing the
// page's data.
func (c Cursors) Advance(p *Page) {
	c[p.Folder] = p.Cursor
}

// MailboxRequest says what SyncMailbox reads. Its fields other than
// Folders and Cursors mean what they mean in SyncRequest.
type MailboxRequest struct {
	// Folders are the folders to walk, in order; empty means Inbox and
	// SentItems, so both sides of a conversation are seen.
	Folders []string
	// Cursors are the stored cursors, per folder; nil starts every folder
	// afresh. SyncMailbox never changes it: call Cursors.Advance for each
	// page handled.
	Cursors        Cursors
	Since          time.Time
	Filter         Filter
	Body           BodyType
	Headers        bool
	Classification bool
	PageSize       int
}

// SyncMailbox syncs several folders (Inbox and Sent Items by default) one
// after another with one set of cursors: each page names its Folder, and a
// Reset applies to that folder only. The sequence ends after the last
// folder's final page or the first error.
//
// Graph API: GET /me/mailFolders/{id}/messages/delta for each folder
// https://learn.microsoft.com/graph/api/message-delta
func (s *Service) SyncMailbox(ctx context.Context, req MailboxRequest) iter.Seq2[*Page, error] {
	folders := req.Folders
	if len(folders) == 0 {
		folders = []string{Inbox, SentItems}
	}
	return func(yield func(*Page, error) bool) {
		seen := map[string]bool{}
		for i, f := range folders {
			if strings.TrimSpace(f) == "" {
				yield(nil, invalid("SyncMailbox", fmt.Sprintf("MailboxRequest.Folders[%d]", i), "is empty"))
				return
			}
			if seen[f] {
				yield(nil, invalid("SyncMailbox", fmt.Sprintf("MailboxRequest.Folders[%d]", i), quote(f)+" is listed twice"))
				return
			}
			seen[f] = true
		}
		for _, f := range folders {
			sr := SyncRequest{
				Folder: f, Cursor: req.Cursors[f], Since: req.Since, Filter: req.Filter, Body: req.Body,
				Headers: req.Headers, Classification: req.Classification, PageSize: req.PageSize,
			}
			for p, err := range s.Sync(ctx, sr) {
				if !yield(p, err) || err != nil {
					return
				}
			}
		}
	}
}

// Stats counts what a sync kept, skipped (by reason) and removed. The zero
// value is ready to use; it is not safe for concurrent use.
type Stats struct {
	Kept    int
	Removed int
	Resets  int
	Skipped map[string]int // by reason
}

// Add counts the page p.
func (s *Stats) Add(p *Page) {
	s.Kept += len(p.Messages)
	s.Removed += len(p.Removed)
	if p.Reset {
		s.Resets++
	}
	for _, sk := range p.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[string]int{}
		}
		s.Skipped[sk.Reason]++
	}
}

// Filtered returns the number of messages skipped for any reason.
func (s *Stats) Filtered() int {
	n := 0
	for _, c := range s.Skipped {
		n += c
	}
	return n
}
