package reliability_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzTargets lists every parser of m365kit that sees network, stored or
// user input, and the fuzz target that covers it. .ci/run runs every Fuzz
// function for a while; this test keeps any of them from disappearing.
var fuzzTargets = []struct {
	parser string // what is parsed, and where it comes from
	dir    string // package directory, relative to the module root
	fuzz   string
}{
	{"Graph error envelope (network)", "graphclient", "FuzzParseErrorBody"},
	{"Retry-After header (network)", "graphclient", "FuzzParseRetryAfter"},
	{"delta pages: value, @removed, nextLink, deltaLink (network)", "graphclient", "FuzzDeltaDecode"},
	{"request paths and absolute links (network links, caller input)", "graphclient", "FuzzNewRequestPath"},
	{"$batch responses (network)", "internal/reliability", "FuzzBatchResponse"},
	{"change-notification payloads (network, unauthenticated)", "notify", "FuzzParse"},
	{"webhook requests: validation handshake, clientState (network, unauthenticated)", "internal/reliability", "FuzzNotifyHandler"},
	{"admin-consent state (network callback)", "consent", "FuzzState"},
	{"admin-consent callback query (network callback)", "consent", "FuzzCallback"},
	{"AADSTS error texts (network)", "consent", "FuzzDiagnose"},
	{"ID token checks: JWT segments, claims, signature (network)", "auth", "FuzzIDToken"},
	{"pending sign-in cookie sealing (browser)", "auth", "FuzzPendingCookie"},
	{"signing keys: JSON Web Key Set (network)", "auth", "FuzzParseJWKS"},
	{"sealed token-store values (database)", "internal/reliability", "FuzzSealedStoreLoad"},
	{"event date-times {dateTime, timeZone} (network)", "calendar", "FuzzDateTimeTimeZone"},
	{"meeting links in event fields, SafeLinks unwrapping (network, user text)", "calendar", "FuzzFindMeetingLink"},
	{"stored calendar cursors (database)", "internal/reliability", "FuzzCalendarCursor"},
	{"mail addresses (network, user input)", "mail", "FuzzParseAddress"},
	{"mail filters over message fields and headers (network)", "mail", "FuzzFilters"},
	{"messages/delta pages into mail.Message (network)", "internal/reliability", "FuzzMailDeltaPage"},
	{"Teams message HTML (user input)", "teams", "FuzzSanitizeHTML"},
	{"MSAL token-cache values as stored: MSAL's reader and granted scopes (database)", "auth", "FuzzStoredTokens"},
	{"Graph base URL (configuration)", "graphclient", "FuzzBaseURL"},
	{"feature names and granted scope lists (user input, network)", "scopes", "FuzzParseAndMissing"},
}

// moduleRoot returns the directory holding go.mod above the working
// directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// fuzzFuncs returns the Fuzz functions declared in dir's test files.
func fuzzFuncs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Fuzz") {
				out[fd.Name.Name] = true
			}
		}
	}
	return out
}

func TestFuzzTargets(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	found := map[string]map[string]bool{}
	for _, ft := range fuzzTargets {
		if found[ft.dir] == nil {
			found[ft.dir] = fuzzFuncs(t, filepath.Join(root, filepath.FromSlash(ft.dir)))
		}
		if !found[ft.dir][ft.fuzz] {
			t.Errorf("%s: no %s in %s", ft.parser, ft.fuzz, ft.dir)
		}
	}
}
