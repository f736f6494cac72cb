package graphclient

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"strconv"
)

// RequestOption changes every page request of [All] or [Delta], e.g. to
// add a header. The helpers here return pure functions, safe for
// concurrent use.
type RequestOption func(*http.Request)

// WithHeader sets header key to value on every page request.
func WithHeader(key, value string) RequestOption {
	return func(r *http.Request) { r.Header.Set(key, value) }
}

// WithPrefer adds a Prefer preference to every page request, next to the
// client's defaults, e.g. `outlook.body-content-type="text"`.
func WithPrefer(pref string) RequestOption {
	return func(r *http.Request) { r.Header.Add("Prefer", pref) }
}

// WithMaxPageSize asks for at most n items per page (Prefer:
// odata.maxpagesize=n), the way delta queries take a page size.
func WithMaxPageSize(n int) RequestOption {
	return func(r *http.Request) {
		if n > 0 {
			r.Header.Add("Prefer", "odata.maxpagesize="+strconv.Itoa(n))
		}
	}
}

// listPage is one page of a Graph collection.
type listPage[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// maxPages bounds a single walk, as a guard against a server that keeps
// returning nextLinks forever.
const maxPages = 1_000_000

// All returns an iterator over every item of the collection at path
// (relative to the base URL, with its query), following @odata.nextLink
// whole until the last page. Links are followed only on the base URL's
// scheme and host; a link elsewhere ends the walk with an error before
// anything is sent.
//
// The iterator is lazy (nothing is sent before range) and re-runnable
// (each range starts again at path). An error is yielded once, with the
// zero T, and ends the walk. Each page is decoded in full before its items
// are yielded, so a loop body may itself use c.
func All[T any](ctx context.Context, c *Client, path string, opts ...RequestOption) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		next := path
		for n := 0; next != ""; n++ {
			if n >= maxPages {
				yield(zero, fmt.Errorf("graphclient: GET %s: more than %d pages", path, maxPages))
				return
			}
			req, err := c.NewRequest(ctx, http.MethodGet, next, nil)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, o := range opts {
				o(req)
			}
			var page listPage[T]
			if _, err := c.Do(req, &page); err != nil {
				yield(zero, err)
				return
			}
			for i := range page.Value {
				if !yield(page.Value[i], nil) {
					return
				}
				page.Value[i] = zero // let the GC have it
			}
			if page.NextLink == req.URL.String() {
				yield(zero, fmt.Errorf("graphclient: GET %s: @odata.nextLink repeats the current page", c.relPath(req.URL)))
				return
			}
			next = page.NextLink
		}
	}
}
