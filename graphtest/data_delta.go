package graphtest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Delta tracking, shared by calendarView/delta and messages/delta.
//
// A round starts from the query of the initial request (or of the state a
// deltaLink names) and the items the client already has (seen: ID ->
// change counter when it got them). The round's entries are computed once:
// items new or changed since, then items gone from the view as @removed.
// Pages of the round are served from $skiptoken positions; the last page
// carries a $deltatoken naming the new state. Tokens are opaque strings
// mapped to that state; ExpireDeltaTokens forgets them all.

// deltaTokens is a user's delta state.
type deltaTokens struct {
	gen    int64                  // generation, bumped on each token and expiry
	states map[string]*deltaState // $deltatoken -> state
	rounds map[string]*deltaPage  // $skiptoken -> position in a round
}

// deltaState is what a deltaLink stands for.
type deltaState struct {
	query url.Values       // the initial request's query options
	seen  map[string]int64 // what the client has: ID -> change counter
}

// deltaRound is one round of pages.
type deltaRound struct {
	query   url.Values
	entries []deltaEntry
	next    map[string]int64 // seen once the round is complete
}

type deltaEntry struct {
	id      string
	removed bool
}

type deltaPage struct {
	round  *deltaRound
	offset int
}

// viewItem is an item in the tracked view and its change counter.
type viewItem struct {
	id  string
	rev int64
}

// deltaSpec describes one delta resource.
type deltaSpec struct {
	// odataType is the entity type of @removed entries ("event", "message").
	odataType string
	// initial validates the initial request's query and returns the options
	// to keep in the tokens, or a 400 message.
	initial func(q url.Values) (url.Values, string)
	// view lists the items the query tracks, in delivery order (lock held).
	view func(q url.Values) []viewItem
	// want filters changes by kind: created, updated, deleted (nil: all).
	want func(q url.Values, kind string) bool
	// render returns an item as JSON (lock held), false if it is gone.
	render func(id string, q url.Values) (any, bool)
}

// removedEntry is Graph's delta entry for an item gone from the view.
type removedEntry struct {
	Type    string `json:"@odata.type"`
	ID      string `json:"id"`
	Removed struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

func removed(odataType, id string) removedEntry {
	e := removedEntry{Type: "#microsoft.graph." + odataType, ID: id}
	e.Removed.Reason = "deleted"
	return e
}

// newRound computes the entries of a round.
func newRound(spec deltaSpec, q url.Values, seen map[string]int64) *deltaRound {
	r := &deltaRound{query: q, next: map[string]int64{}}
	want := func(kind string) bool { return spec.want == nil || spec.want(q, kind) }
	for _, it := range spec.view(q) {
		r.next[it.id] = it.rev
		old, ok := seen[it.id]
		switch {
		case !ok && want("created"), ok && old != it.rev && want("updated"):
			r.entries = append(r.entries, deltaEntry{id: it.id})
		}
	}
	if want("deleted") {
		var gone []string
		for id := range seen {
			if _, ok := r.next[id]; !ok {
				gone = append(gone, id)
			}
		}
		slices.Sort(gone)
		for _, id := range gone {
			r.entries = append(r.entries, deltaEntry{id: id, removed: true})
		}
	}
	return r
}

// newToken returns an opaque token that carries the generation.
func (t *deltaTokens) newToken() string {
	t.gen++
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.gen, 10) + ":" + randomToken(12)))
}

// generation reads the generation out of a token, 0 if it has none.
func generation(tok string) int64 {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0
	}
	g, _, _ := strings.Cut(string(b), ":")
	n, _ := strconv.ParseInt(g, 10, 64)
	return n
}

// syncStateNotFound writes Graph's answer to a token it no longer knows.
func syncStateNotFound(w http.ResponseWriter, tok string) {
	writeGraphError(w, http.StatusGone, "SyncStateNotFound", fmt.Sprintf("The sync state generation is not found; generation=%d;", generation(tok)))
}

// serveDelta answers one delta request for u.
func serveDelta(w http.ResponseWriter, r *http.Request, u *User, spec deltaSpec) {
	q := r.URL.Query()
	unlock := u.lock()
	d := u.data
	var round *deltaRound
	offset := 0
	switch {
	case q.Get("$skiptoken") != "":
		tok := q.Get("$skiptoken")
		p := d.delta.rounds[tok]
		if p == nil {
			unlock()
			syncStateNotFound(w, tok)
			return
		}
		round, offset = p.round, p.offset
	case q.Get("$deltatoken") != "":
		tok := q.Get("$deltatoken")
		st := d.delta.states[tok]
		if st == nil {
			unlock()
			syncStateNotFound(w, tok)
			return
		}
		round = newRound(spec, st.query, st.seen)
	default:
		params, msg := spec.initial(q)
		if msg != "" {
			unlock()
			badRequest(w, "%s", msg)
			return
		}
		round = newRound(spec, params, nil)
	}
	size := pageSize(r, 10)
	if v, ok := preferences(r)["odata.maxpagesize"]; ok {
		appliedOnce(w, "odata.maxpagesize="+v)
	}
	end := min(offset+size, len(round.entries))
	out := collection{Context: "https://graph.microsoft.com/v1.0/$metadata#Collection(" + spec.odataType + ")", Value: []any{}}
	for _, e := range round.entries[offset:end] {
		if !e.removed {
			if v, ok := spec.render(e.id, round.query); ok {
				out.Value = append(out.Value, v)
				continue
			}
		}
		out.Value = append(out.Value, removed(spec.odataType, e.id))
	}
	if end < len(round.entries) {
		tok := d.delta.newToken()
		d.delta.rounds[tok] = &deltaPage{round: round, offset: end}
		out.NextLink = graphURL(r, url.Values{"$skiptoken": {tok}})
	} else {
		tok := d.delta.newToken()
		d.delta.states[tok] = &deltaState{query: round.query, seen: round.next}
		out.DeltaLink = graphURL(r, url.Values{"$deltatoken": {tok}})
	}
	unlock()
	writeJSON(w, http.StatusOK, out)
}

// ExpireDeltaTokens forgets every delta token (deltaLink and nextLink) the
// fake handed out for u's calendar and mail folders: the next request with
// one gets 410 Gone with code SyncStateNotFound, as Graph answers when its
// token cache has dropped the state. The client must start over.
func (u *User) ExpireDeltaTokens() {
	defer u.lock()()
	u.data.delta.states = map[string]*deltaState{}
	u.data.delta.rounds = map[string]*deltaPage{}
}
