package recording

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Version is the format version Write puts in every recording and Read
// accepts.
const Version = 1

// Recording is one recorded run: every exchange with Entra ID and Graph,
// in the order the requests were sent, already redacted. It is plain data;
// a Recording that is not being changed is safe for concurrent reads.
type Recording struct {
	// Version is the format version (Version).
	Version int `json:"version"`
	// Name says what was recorded ("quickstart", "calendar sync"); it
	// starts the file name Save picks.
	Name string `json:"name,omitempty"`
	// Recorded is when the run started, in UTC. A replay that computes
	// time windows from the clock (calendarView's startDateTime, say)
	// takes "now" from here so its requests match the recorded ones.
	Recorded time.Time `json:"recorded"`
	// Labels are notes the recording program kept about the run (the
	// examples note the mode they ran in), for the program that replays
	// it and for the reader. Never a secret.
	Labels map[string]string `json:"labels,omitempty"`
	// Redacted lists what the recorder removed, for the reader of the
	// file (see the package documentation).
	Redacted []string `json:"redacted,omitempty"`
	// Pseudonymized is set when personal data was replaced by stand-ins.
	Pseudonymized bool `json:"pseudonymized,omitempty"`
	// Exchanges are the requests and their answers, in the order sent.
	Exchanges []Exchange `json:"exchanges"`
}

// Exchange is one request and its answer, or one browser callback
// (Kind "callback"), as the recorder kept them.
type Exchange struct {
	// Seq numbers the exchanges from 1 in the order the requests were sent.
	Seq int `json:"seq"`
	// Kind is "" for a request the program sent through a recorded
	// transport, or "callback" for a request the browser brought back to
	// the program's redirect URI (Recorder.Callback); a callback has no
	// response.
	Kind string `json:"kind,omitempty"`
	// At is when the request was sent, after the recording started.
	At Duration `json:"at"`
	// Took is how long the answer took (headers and body).
	Took Duration `json:"took"`
	// Method and URL are the request's, the URL redacted.
	Method string `json:"method"`
	URL    string `json:"url"`
	// RequestHeader holds the request headers that change an answer
	// (Content-Type, Prefer, ConsistencyLevel, If-Match, ...); never
	// Authorization or Cookie.
	RequestHeader http.Header `json:"requestHeader,omitempty"`
	// Request is the request body, redacted.
	Request Body `json:"request,omitzero"`
	// Status is the response status code; 0 when the transport failed
	// (Error) or for a callback.
	Status int `json:"status,omitempty"`
	// ResponseHeader holds the response headers a client acts on
	// (Content-Type, Retry-After, Location, request-id, ...); never
	// Set-Cookie.
	ResponseHeader http.Header `json:"responseHeader,omitempty"`
	// Response is the response body, redacted.
	Response Body `json:"response,omitzero"`
	// Error is the transport error instead of a response (a dropped
	// connection), as text.
	Error string `json:"error,omitempty"`
}

// Body is a request or response body: JSON kept as JSON (indented in the
// file, so a diff shows the field that changed), anything else as text.
type Body struct {
	// JSON is the body when it is JSON.
	JSON json.RawMessage `json:"json,omitempty"`
	// Text is the body when it is not JSON (a form, HTML, plain text).
	Text string `json:"text,omitempty"`
}

// IsZero reports whether b is empty.
func (b Body) IsZero() bool { return len(b.JSON) == 0 && b.Text == "" }

// Bytes returns the body as sent on the wire (JSON compacted).
func (b Body) Bytes() []byte {
	if len(b.JSON) > 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, b.JSON) == nil {
			return buf.Bytes()
		}
		return b.JSON
	}
	return []byte(b.Text)
}

// bodyOf stores raw as JSON when it is a JSON object or array, else as text.
func bodyOf(raw []byte) Body {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t) {
		return Body{JSON: json.RawMessage(t)}
	}
	return Body{Text: string(raw)}
}

// Duration is a time.Duration written as Go writes it ("1.5s", "320µs").
type Duration time.Duration

// MarshalText writes d as time.Duration's String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads what MarshalText writes.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("recording: duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// Write writes rec to w as indented JSON, one field per line.
func (rec *Recording) Write(w io.Writer) error {
	if rec.Version == 0 {
		rec.Version = Version
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rec)
}

// maxFile bounds the size of a recording Read accepts.
const maxFile = 256 << 20

// Read reads a recording Write wrote.
func Read(r io.Reader) (*Recording, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxFile))
	dec.DisallowUnknownFields()
	var rec Recording
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if rec.Version != Version {
		return nil, fmt.Errorf("recording: format version %d, want %d", rec.Version, Version)
	}
	for i, x := range rec.Exchanges {
		if x.Method == "" || x.URL == "" {
			return nil, fmt.Errorf("recording: exchange %d has no method or URL", i+1)
		}
	}
	return &rec, nil
}

// ReadFile reads the recording in path. When path is a directory it reads
// the newest recording there (by the time in its name, which Save
// writes), so a program's -replay DIR takes the run its -record DIR made.
func ReadFile(path string) (*Recording, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if fi.IsDir() {
		if path, err = Latest(path, ""); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	defer f.Close()
	rec, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return rec, nil
}

// Latest returns the newest recording in dir whose name starts with name
// ("" for any): the last in lexical order of the names Save writes.
func Latest(dir, name string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return "", fmt.Errorf("recording: %w", err)
	}
	prefix := fileStem(name)
	matches = slices.DeleteFunc(matches, func(m string) bool {
		return name != "" && !strings.HasPrefix(filepath.Base(m), prefix+"-")
	})
	if len(matches) == 0 {
		if name != "" {
			return "", fmt.Errorf("recording: no %s recording (%s-*.json) in %s", name, prefix, dir)
		}
		return "", fmt.Errorf("recording: no recording (*.json) in %s", dir)
	}
	// "run-T.json" before "run-T-2.json": compare without the extension.
	slices.SortFunc(matches, func(a, b string) int {
		return strings.Compare(strings.TrimSuffix(a, ".json"), strings.TrimSuffix(b, ".json"))
	})
	return matches[len(matches)-1], nil
}

// Save writes rec into dir (created if needed) as a new file named after
// rec.Name and rec.Recorded ("quickstart-20261204T223000Z.json"), one file
// per recorded run, and returns its path. It never overwrites a file.
func (rec *Recording) Save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("recording: %w", err)
	}
	stem := fileStem(rec.Name)
	if stem == "" {
		stem = "run"
	}
	base := stem + "-" + rec.Recorded.UTC().Format("20060102T150405Z")
	for i := 0; ; i++ {
		path := filepath.Join(dir, base+".json")
		if i > 0 {
			path = filepath.Join(dir, fmt.Sprintf("%s-%d.json", base, i+1))
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("recording: %w", err)
		}
		werr := rec.Write(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return "", fmt.Errorf("recording: %s: %w", path, werr)
		}
		return path, nil
	}
}

// WriteFile writes rec to path, replacing it at once (a reader sees the
// old file or the new one): for a test's testdata fixture, regenerated in
// place.
func (rec *Recording) WriteFile(path string) error {
	var buf bytes.Buffer
	if err := rec.Write(&buf); err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".recording-*")
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	_, werr := f.Write(buf.Bytes())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("recording: %w", werr)
	}
	return nil
}

// fileStem turns a recording name into a file-name stem: lower case,
// letters, digits and dashes.
func fileStem(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
