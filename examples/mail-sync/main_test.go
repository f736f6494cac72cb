package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/m365kit/m365kit/examples/internal/programtest"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/examples/internal/sqldb"
	"github.com/m365kit/m365kit/graphtest"
	"github.com/m365kit/m365kit/internal/pgtest"
	"github.com/m365kit/m365kit/m365test"
)

// TestMain stops the PostgreSQL server the tests started, if any.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func subjects(t *testing.T, dsn string) []string {
	t.Helper()
	db, err := sqldb.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.QueryContext(t.Context(), `SELECT folder, subject FROM mail_messages ORDER BY folder, subject`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var folder, subject string
		if err := rs.Scan(&folder, &subject); err != nil {
			t.Fatal(err)
		}
		out = append(out, folder+": "+subject)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeCRM(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crm.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCRMSyncAndResumeSQLite(t *testing.T) {
	t.Parallel()
	testCRMSyncAndResume(t, filepath.Join(t.TempDir(), "mail.db"))
}

func TestCRMSyncAndResumePostgres(t *testing.T) {
	t.Parallel()
	testCRMSyncAndResume(t, pgtest.Database(t))
}

func testCRMSyncAndResume(t *testing.T, dsn string) {
	d := m365test.New(t)
	env := setup.Env{Getenv: programtest.NoEnv, Demo: d}
	crm := writeCRM(t, "# customers", "", "fabrikam.com")
	args := []string{"-once", "-crm", crm, "-db", dsn}

	var out bytes.Buffer
	if err := runEnv(t.Context(), args, &out, new(bytes.Buffer), env); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := []string{
		"inbox: Invoice INV-2291 from Fabrikam",
		"inbox: Pilot contract: next steps",
		"sentitems: RE: Pilot contract: next steps",
	}
	if got := subjects(t, dsn); !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q\n%s", got, want, out.String())
	}

	// New mail arrives (one from a customer, one internal) and a kept
	// message is deleted: the next round applies just that.
	katie, ben := d.Demo.External[0], d.Demo.External[1]
	d.Demo.Adele.AddMessage(graphtest.Message{Subject: "Signed order form", From: katie, To: []graphtest.Address{graphtest.Of(d.Demo.Adele)}, Cc: []graphtest.Address{ben}})
	d.Demo.Adele.AddMessage(graphtest.Message{Subject: "Lunch?", From: graphtest.Of(d.Demo.Alex), To: []graphtest.Address{graphtest.Of(d.Demo.Adele)}})
	var invoice string
	for _, m := range d.Demo.Adele.Messages("inbox") {
		if strings.HasPrefix(m.Subject, "Invoice") {
			invoice = m.ID
		}
	}
	if err := d.Demo.Adele.DeleteMessage(invoice); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runEnv(t.Context(), args, &out, new(bytes.Buffer), env); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "resuming from stored cursors (2 folders)") || !strings.Contains(out.String(), "inbox page: 1 kept, 1 skipped, 1 removed") {
		t.Errorf("second round:\n%s", out.String())
	}
	want = []string{
		"inbox: Pilot contract: next steps",
		"inbox: Signed order form",
		"sentitems: RE: Pilot contract: next steps",
	}
	if got := subjects(t, dsn); !slices.Equal(got, want) {
		t.Errorf("stored %q, want %q", got, want)
	}
}

// Without a CRM file, mail with anyone outside the organisation is kept.
func TestExternalOnlyDefault(t *testing.T) {
	t.Parallel()
	d := m365test.New(t)
	dsn := filepath.Join(t.TempDir(), "mail.db")
	var out bytes.Buffer
	if err := runEnv(t.Context(), []string{"-once", "-db", dsn}, &out, new(bytes.Buffer), setup.Env{Getenv: programtest.NoEnv, Demo: d}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "people outside contoso.com") || !strings.Contains(out.String(), "internal") {
		t.Errorf("output:\n%s", out.String())
	}
	for _, s := range subjects(t, dsn) {
		if strings.Contains(s, "Roadmap") || strings.Contains(s, "password") || strings.Contains(s, "Proposal") {
			t.Errorf("stored internal, automated or draft mail: %s", s)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	bad := writeCRM(t, "fabrikam.com", "not an address@@", "")
	empty := writeCRM(t, "# nothing")
	programtest.RejectsArgs(t, runEnv, []programtest.BadArgs{
		{Args: []string{"-crm", bad}, Want: bad + ":2"},
		{Args: []string{"-crm", empty}, Want: "no domains or addresses"},
		{Args: []string{"-crm", filepath.Join(t.TempDir(), "missing.txt")}, Want: "-crm"},
		{Args: []string{"-interval", "1ms"}, Want: "-interval"},
		{Args: []string{"-db", " "}, Want: "-db"},
		{Args: []string{"x"}, Want: `unexpected argument "x"`},
	})
}
