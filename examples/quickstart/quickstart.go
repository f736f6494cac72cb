package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/calendar"
	"github.com/m365kit/m365kit/consent"
	"github.com/m365kit/m365kit/examples/internal/setup"
	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/m365test"
	"github.com/m365kit/m365kit/mail"
	"github.com/m365kit/m365kit/scopes"
	"github.com/m365kit/m365kit/teams"
)

// options are the command-line flags.
type options struct {
	features []scopes.Feature // without SignIn
	days     int
	json     bool
	channel  string // "Team/Channel", or ""
	tape     *setup.Tape
}

// parseFlags reads args. A bad flag is an error naming it.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	features := fs.String("features", "calendar,mail,teams", "features to run, comma-separated: calendar, mail, teams (sign-in always runs)")
	days := fs.Int("days", 30, "calendar window in days, from today")
	asJSON := fs.Bool("json", false, "print one JSON summary object on stdout (steps go to stderr)")
	channel := fs.String("channel", "", `team and channel to share the clip to, as "Team/Channel" (required for a real tenant)`)
	tape := setup.TapeFlags(fs, "quickstart")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q; flags only", fs.Arg(0))
	}
	o := options{days: *days, json: *asJSON, channel: strings.TrimSpace(*channel), tape: tape}
	if o.days < 1 || o.days > 366 {
		return options{}, fmt.Errorf("-days %d: want 1 to 366", o.days)
	}
	for name := range strings.SplitSeq(*features, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		f, err := scopes.ParseFeature(name)
		if err != nil {
			return options{}, fmt.Errorf("-features: %w", err)
		}
		switch f {
		case scopes.Calendar, scopes.Mail, scopes.Teams:
			if !slices.Contains(o.features, f) {
				o.features = append(o.features, f)
			}
		case scopes.SignIn:
		default:
			return options{}, fmt.Errorf("-features: the quickstart runs calendar, mail and teams, not %q", name)
		}
	}
	if o.channel != "" {
		if t, c, ok := strings.Cut(o.channel, "/"); !ok || strings.TrimSpace(t) == "" || strings.TrimSpace(c) == "" {
			return options{}, fmt.Errorf(`-channel %q: want "Team/Channel"`, o.channel)
		}
	}
	return o, nil
}

// runEnv runs the quickstart in env: against the demo tenant when nothing is
// configured, else against Microsoft.
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, env setup.Env) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := setup.Load(env.Getenv)
	if err != nil {
		return err
	}
	steps := stdout
	if opts.json {
		steps = stderr
	}
	env, endTape, err := opts.tape.Open(env, stderr)
	if err != nil {
		return err
	}
	defer endTape()
	w := &walker{out: steps, opts: opts}
	switch {
	case env.Replay != nil:
		err = w.replay(env.Replay)
	case cfg == nil:
		d := env.Demo
		if d == nil {
			if d, err = m365test.Start(); err != nil {
				return err
			}
			defer d.Close()
		}
		err = w.demo(d)
		if err == nil && env.Record != nil {
			err = w.record(env.Record, d)
		}
	default:
		var stopServer func()
		stopServer, err = w.live(ctx, cfg, liveClient(env.Record))
		if stopServer != nil {
			defer stopServer()
		}
		if err == nil && env.Record != nil {
			err = w.record(env.Record, nil)
		}
	}
	if err == nil {
		err = w.walk(ctx)
	}
	w.sum.OK = err == nil
	if err != nil {
		w.sum.Error = err.Error()
	}
	if opts.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(w.sum); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

// browseFunc takes the user's browser to u and returns the request it then
// sends to the redirect URI, and a function that answers that request with a
// short message once the step has handled it.
type browseFunc func(ctx context.Context, who, u string) (*http.Request, func(msg string), error)

// walker runs the steps and collects the summary.
type walker struct {
	out  io.Writer
	opts options
	now  time.Time

	// Set by demo or live.
	app           *auth.App
	flow          *consent.Flow
	hc            *http.Client // for Graph; nil means graphclient's default
	browse        browseFunc
	consentTenant string // "organizations", or the demo tenant
	loginHint     string
	saveAccount   func(string) error
	defaultTeam   bool           // share to the first team's first channel when -channel is empty
	open          func(u string) // opens a URL in the live path's browser; nil: the user does

	sum summary
}

// summary is what the quickstart did, printed at the end (and as JSON).
type summary struct {
	Mode     string          `json:"mode"` // "demo" or "microsoft"
	Features []string        `json:"features"`
	Tenant   *tenantSummary  `json:"tenant,omitempty"`
	User     *userSummary    `json:"user,omitempty"`
	Verify   []checkSummary  `json:"verify,omitempty"`
	Calendar *calendarResult `json:"calendar,omitempty"`
	Mail     *mailResult     `json:"mail,omitempty"`
	Teams    *teamsResult    `json:"teams,omitempty"`
	OK       bool            `json:"ok"`
	Error    string          `json:"error,omitempty"`
}

type tenantSummary struct {
	ID       string   `json:"id"`
	Granted  []string `json:"granted"`
	Missing  []string `json:"missing,omitempty"`
	Verified bool     `json:"verified"`
}

type userSummary struct {
	Name      string   `json:"name"`
	Username  string   `json:"username"`
	AccountID string   `json:"accountId"`
	Scopes    []string `json:"scopes"`
}

type checkSummary struct {
	Feature string `json:"feature"`
	Ready   bool   `json:"ready"`
	Probe   string `json:"probe,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Fix     string `json:"fix,omitempty"`
}

type calendarResult struct {
	Start    time.Time        `json:"start"`
	End      time.Time        `json:"end"`
	Pages    int              `json:"pages"`
	Events   int              `json:"events"`
	Meetings []meetingSummary `json:"meetings"`
	Skipped  map[string]int   `json:"skipped"`
}

type meetingSummary struct {
	Subject  string    `json:"subject"`
	Start    time.Time `json:"start"`
	Provider string    `json:"provider"`
	JoinURL  string    `json:"joinUrl"`
	Source   string    `json:"source"`
}

type mailResult struct {
	Pages    int            `json:"pages"`
	Kept     int            `json:"kept"`
	Skipped  map[string]int `json:"skipped"`
	Removed  int            `json:"removed"`
	Subjects []string       `json:"keptSubjects"`
}

type teamsResult struct {
	Team      string `json:"team,omitempty"`
	Channel   string `json:"channel,omitempty"`
	MessageID string `json:"messageId,omitempty"`
	WebURL    string `json:"webUrl,omitempty"`
	Skipped   string `json:"skipped,omitempty"`
}

// demo sets the walker up against the demo tenant: the demo app, Adele as the
// user, MOD Administrator granting consent, and graphtest's browser.
func (w *walker) demo(d *m365test.Sandbox) error {
	w.sum.Mode = "demo"
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	flow, err := consent.New(consent.Config{ClientID: d.Demo.App.ClientID, RedirectURL: d.Demo.App.RedirectURIs[0], StateKey: key})
	if err != nil {
		return err
	}
	w.app, w.flow, w.hc = d.App, flow, d.Server.HTTPClient()
	w.consentTenant, w.loginHint, w.defaultTeam = d.Demo.Tenant.Domain, d.Demo.Adele.UserPrincipalName, true
	w.browse = func(ctx context.Context, _ string, u string) (*http.Request, func(string), error) {
		r, err := d.Server.Browse(ctx, u)
		return r, func(string) {}, err
	}
	// The demo tenant comes pre-consented; withdraw that so step 1 really
	// grants the permissions.
	if granted := d.Demo.Tenant.Granted(d.Demo.App.ClientID); len(granted) > 0 {
		d.Demo.Tenant.Revoke(d.Demo.App.ClientID, granted...)
	}
	fmt.Fprintf(w.out, "m365kit quickstart against the demo tenant %s (graphtest, in-process; nothing leaves this machine).\n", d.Demo.Tenant.Domain)
	fmt.Fprintf(w.out, "Set M365KIT_CLIENT_ID, M365KIT_CLIENT_SECRET and M365KIT_REDIRECT_URL to run it against your tenant.\n")
	return nil
}

func (w *walker) features() []scopes.Feature {
	return append([]scopes.Feature{scopes.SignIn}, w.opts.features...)
}

func (w *walker) has(f scopes.Feature) bool { return slices.Contains(w.opts.features, f) }

func (w *walker) step(n, of int, title string) {
	fmt.Fprintf(w.out, "\n[%d/%d] %s\n", n, of, title)
}

func (w *walker) printf(format string, args ...any) {
	fmt.Fprintf(w.out, "      "+format+"\n", args...)
}

// walk runs every step in the order of the admin guide.
func (w *walker) walk(ctx context.Context) error {
	if w.now.IsZero() {
		w.now = time.Now().UTC()
	}
	feats := w.features()
	for _, f := range feats {
		w.sum.Features = append(w.sum.Features, string(f))
	}
	total := 3 + len(w.opts.features)
	n := 0
	next := func(title string) { n++; w.step(n, total, title) }

	if w.has(scopes.Mail) {
		next("Admin consent (guide steps 1 and 2): an administrator grants the app's permissions for the tenant, Mail.Read included")
	} else {
		next("Admin consent (guide step 1): an administrator grants the app's permissions for the tenant")
	}
	grant, err := w.consent(ctx, feats)
	if err != nil {
		return err
	}

	next("Sign in with Microsoft: PKCE, state, nonce, ID-token validation")
	user, err := w.signIn(ctx, feats, grant)
	if err != nil {
		return err
	}
	gc, err := newGraph(w.app.TokenSource(user.AccountID, feats...), w.hc)
	if err != nil {
		return err
	}

	next("Verify the integration (guide step 3): permissions plus one live Graph call per feature")
	report := consent.Verify(ctx, gc, user.GrantedScopes, feats...)
	for line := range strings.Lines(report.String()) {
		w.printf("%s", strings.TrimRight(line, "\n"))
	}
	for _, c := range report.Checks {
		cs := checkSummary{Feature: string(c.Feature), Ready: c.Ready, Probe: c.Probe, Detail: c.Detail}
		if !c.Ready {
			cs.Fix = c.Diagnosis.Fix
		}
		w.sum.Verify = append(w.sum.Verify, cs)
	}
	if !report.Ready() {
		return errors.New("verification failed: see the table above for who fixes what")
	}
	domain := setup.Domain(user.Username)

	if w.has(scopes.Calendar) {
		next(fmt.Sprintf("Calendar sync: %d days of meetings, and the ones a notetaker joins", w.opts.days))
		if err := w.calendar(ctx, gc); err != nil {
			return err
		}
	}
	if w.has(scopes.Mail) {
		next("Email sync: read-only, keeping mail with people outside " + domain)
		if err := w.mail(ctx, gc, domain); err != nil {
			return err
		}
	}
	if w.has(scopes.Teams) {
		next("Teams: share a recording clip to a channel")
		if err := w.teams(ctx, gc, user); err != nil {
			return err
		}
	}
	w.summary()
	return nil
}

// newGraph returns a Graph client for ts over hc, or over graphclient's
// default client when hc is nil (the live path).
func newGraph(ts graphclient.TokenSource, hc *http.Client) (*graphclient.Client, error) {
	var opts []graphclient.Option
	if hc != nil {
		opts = append(opts, graphclient.WithHTTPClient(hc))
	}
	return graphclient.New(ts, opts...)
}

// consent is step 1: the admin-consent URL, the administrator's browser, the
// callback.
func (w *walker) consent(ctx context.Context, feats []scopes.Feature) (*consent.Grant, error) {
	u, err := w.flow.AdminConsentURL(consent.Request{Tenant: w.consentTenant, Features: feats})
	if err != nil {
		return nil, err
	}
	w.printf("admin-consent URL:")
	w.printf("  %s", u)
	cb, done, err := w.browse(ctx, "a tenant administrator", u)
	if err != nil {
		return nil, err
	}
	grant, err := w.flow.Complete(cb)
	if err != nil {
		done("Consent did not complete; see the terminal.")
		w.explain(err)
		return nil, fmt.Errorf("admin consent: %w", err)
	}
	done("Consent granted. You can close this tab and return to the terminal.")
	w.printf("granted for tenant %s (a claim until a user of the tenant signs in):", grant.TenantID)
	w.printf("  %s", strings.Join(grant.Scopes, " "))
	ts := &tenantSummary{ID: grant.TenantID, Granted: grant.Scopes}
	for _, p := range grant.Missing {
		ts.Missing = append(ts.Missing, p.Name)
	}
	if len(ts.Missing) > 0 {
		w.printf("not granted: %s", strings.Join(ts.Missing, ", "))
	}
	w.sum.Tenant = ts
	return grant, nil
}

// signIn is "Sign in with Microsoft" for the user whose data the next steps
// read.
func (w *walker) signIn(ctx context.Context, feats []scopes.Feature, grant *consent.Grant) (*auth.User, error) {
	u, pending, err := w.app.SignInURL(auth.SignInRequest{Features: feats, LoginHint: w.loginHint})
	if err != nil {
		return nil, err
	}
	w.printf("sign-in URL:")
	w.printf("  %s", u)
	cb, done, err := w.browse(ctx, "the user", u)
	if err != nil {
		return nil, err
	}
	user, err := w.app.CompleteSignIn(ctx, cb, pending)
	if err != nil {
		done("Sign-in failed; see the terminal.")
		w.explain(err)
		return nil, fmt.Errorf("sign-in: %w", err)
	}
	done("Signed in. You can close this tab and return to the terminal.")
	w.printf("signed in: %s <%s>", user.Name, user.Username)
	w.printf("account:   %s (tenant %s)", user.AccountID, user.TenantID)
	w.printf("scopes:    %s", strings.Join(user.GrantedScopes, " "))
	if err := grant.Confirm(user.TenantID); err != nil {
		w.printf("consent tenant not confirmed: %v", err)
	} else {
		w.printf("tenant %s confirmed: a user of it signed in", grant.TenantID)
		w.sum.Tenant.Verified = true
	}
	w.sum.User = &userSummary{Name: user.Name, Username: user.Username, AccountID: user.AccountID, Scopes: user.GrantedScopes}
	if w.saveAccount != nil {
		if err := w.saveAccount(user.AccountID); err != nil {
			w.printf("could not remember the account for the other examples: %v", err)
		}
	}
	return user, nil
}

// explain prints consent.Diagnose's reading of err, if it has one.
func (w *walker) explain(err error) {
	if d, ok := consent.Diagnose(err); ok {
		w.printf("diagnosis: %s", d.String())
	}
}

// calendar syncs the window and lists the meetings a notetaker joins.
func (w *walker) calendar(ctx context.Context, gc *graphclient.Client) error {
	start := w.now.Truncate(24 * time.Hour)
	end := start.AddDate(0, 0, w.opts.days)
	res := &calendarResult{Start: start, End: end, Skipped: map[string]int{}, Meetings: []meetingSummary{}}
	w.sum.Calendar = res
	events := map[string]calendar.Event{}
	svc := calendar.New(gc)
	for page, err := range svc.Sync(ctx, calendar.SyncRequest{Start: start, End: end}) {
		if err != nil {
			return fmt.Errorf("calendar sync: %w", err)
		}
		res.Pages++
		if page.Reset {
			clear(events)
		}
		for _, ev := range page.Events {
			events[ev.ID] = ev
		}
		for _, id := range page.Removed {
			delete(events, id)
		}
		// A real program stores page.Events, page.Removed and page.Cursor in
		// one transaction here (see examples/calendar-sync).
		w.printf("… page %d: %d events so far", res.Pages, len(events))
	}
	list := make([]calendar.Event, 0, len(events))
	for _, ev := range events {
		if ev.Type != calendar.SeriesMaster {
			list = append(list, ev)
		}
	}
	slices.SortFunc(list, func(a, b calendar.Event) int {
		return cmp.Or(a.Start.Time.Compare(b.Start.Time), strings.Compare(a.Subject, b.Subject))
	})
	rules := calendar.Rules{SkipFree: true, SkipAllDay: true, RequireMeetingLink: true}
	tw := tabwriter.NewWriter(w.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "      WHEN (UTC)\tMEETING\tPROVIDER\tJOIN LINK\n")
	for i := range list {
		ev := &list[i]
		if !ev.End.Time.After(w.now) {
			res.Skipped["over"]++ // earlier today: too late to join
			continue
		}
		d := rules.Match(ev)
		if !d.Join {
			res.Skipped[string(d.Reason)]++
			continue
		}
		link := d.Link
		res.Meetings = append(res.Meetings, meetingSummary{Subject: ev.Subject, Start: ev.Start.Time, Provider: string(link.Provider), JoinURL: link.URL, Source: string(link.Field)})
		fmt.Fprintf(tw, "      %s\t%s\t%s\t%s\n", ev.Start.Time.Format("Mon 02 Jan 15:04"), clip(ev.Subject, 40), link.Provider, clip(link.URL, 70))
	}
	tw.Flush()
	res.Events = len(list)
	w.printf("%d events in the window; the notetaker joins %d; skipped: %s", len(list), len(res.Meetings), counts(res.Skipped))
	return nil
}

// mail syncs Inbox and Sent Items with the external-only filter.
func (w *walker) mail(ctx context.Context, gc *graphclient.Client, domain string) error {
	filter := mail.All(mail.SkipDrafts(), mail.SkipAutomated(), mail.ExternalOnly(domain))
	res := &mailResult{Skipped: map[string]int{}, Subjects: []string{}}
	w.sum.Mail = res
	var stats mail.Stats
	cursors := mail.Cursors{}
	for page, err := range mail.New(gc).SyncMailbox(ctx, mail.MailboxRequest{Filter: filter}) {
		if err != nil {
			return fmt.Errorf("mail sync: %w", err)
		}
		res.Pages++
		stats.Add(page)
		for _, m := range page.Messages {
			res.Subjects = append(res.Subjects, m.Subject)
			who := "from " + m.From.EmailAddress.Address
			if page.Folder == mail.SentItems && len(m.ToRecipients) > 0 {
				who = "to " + m.ToRecipients[0].EmailAddress.Address
			}
			w.printf("kept  %-9s %s (%s)", page.Folder, clip(m.Subject, 50), who)
		}
		// A real program stores the page and its cursor together here (see
		// examples/mail-sync), then advances.
		cursors.Advance(page)
		w.printf("… page %d (%s): %d kept, %d skipped so far", res.Pages, page.Folder, stats.Kept, stats.Filtered())
	}
	res.Kept, res.Removed = stats.Kept, stats.Removed
	for k, v := range stats.Skipped {
		res.Skipped[k] = v
	}
	w.printf("kept %d messages; skipped %d: %s", stats.Kept, stats.Filtered(), counts(res.Skipped))
	return nil
}

// teams shares a clip to the -channel, or in the demo to the first team's
// first channel.
func (w *walker) teams(ctx context.Context, gc *graphclient.Client, user *auth.User) error {
	res := &teamsResult{}
	w.sum.Teams = res
	svc := teams.New(gc)
	teamName, channelName, _ := strings.Cut(w.opts.channel, "/")
	teamName, channelName = strings.TrimSpace(teamName), strings.TrimSpace(channelName)
	if teamName == "" && !w.defaultTeam {
		var names []string
		for t, err := range svc.JoinedTeams(ctx) {
			if err != nil {
				return err
			}
			names = append(names, t.DisplayName)
		}
		res.Skipped = `no -channel "Team/Channel" given`
		w.printf("skipped: the quickstart posts to a real team only when asked; pass -channel \"Team/Channel\"")
		w.printf("your teams: %s", strings.Join(names, ", "))
		return nil
	}
	var team *teams.Team
	for t, err := range svc.JoinedTeams(ctx) {
		if err != nil {
			return fmt.Errorf("teams: %w", err)
		}
		if teamName == "" || strings.EqualFold(t.DisplayName, teamName) {
			team = t
			break
		}
	}
	if team == nil {
		return fmt.Errorf("-channel: %s is not a member of a team named %q", user.Username, teamName)
	}
	var channel *teams.Channel
	for c, err := range svc.Channels(ctx, team.ID) {
		if err != nil {
			return fmt.Errorf("teams: %w", err)
		}
		if channelName == "" || strings.EqualFold(c.DisplayName, channelName) {
			channel = c
			break
		}
	}
	if channel == nil {
		return fmt.Errorf("-channel: team %q has no channel named %q", team.DisplayName, channelName)
	}
	msg := teams.ClipMessage(teams.Clip{
		Title:    "Pricing objection, handled",
		URL:      "https://app.example.com/clips/7f3c2a",
		Duration: 95 * time.Second,
		Snippet:  "If the pilot shows the time savings, the price is not the issue.",
		Speaker:  "Katie Jordan",
		SharedBy: user.Name,
		Note:     "Worth two minutes before the Fabrikam renewal.",
	})
	posted, err := svc.PostToChannel(ctx, team.ID, channel.ID, msg)
	if err != nil {
		w.explain(err)
		return fmt.Errorf("teams: %w", err)
	}
	res.Team, res.Channel, res.MessageID, res.WebURL = team.DisplayName, channel.DisplayName, posted.ID, posted.WebURL
	w.printf("posted clip card to %s › %s as %s (message %s)", team.DisplayName, channel.DisplayName, user.Name, posted.ID)
	if posted.WebURL != "" && w.sum.Mode != "demo" { // the demo's links lead nowhere
		w.printf("open in Teams: %s", posted.WebURL)
	}
	return nil
}

// summary prints the closing summary.
func (w *walker) summary() {
	s := w.sum
	fmt.Fprintf(w.out, "\nSummary\n")
	confirmed := "not yet confirmed by a sign-in"
	if s.Tenant.Verified {
		confirmed = "confirmed by " + s.User.Name + "'s sign-in"
	}
	w.printf("tenant    %s: %d permissions granted, %s", s.Tenant.ID, len(s.Tenant.Granted), confirmed)
	w.printf("user      %s <%s>", s.User.Name, s.User.Username)
	ready := 0
	for _, c := range s.Verify {
		if c.Ready {
			ready++
		}
	}
	w.printf("verify    %d of %d features ready", ready, len(s.Verify))
	if c := s.Calendar; c != nil {
		w.printf("calendar  %d events in %d days, %d meetings for the notetaker", c.Events, w.opts.days, len(c.Meetings))
	}
	if m := s.Mail; m != nil {
		w.printf("mail      %d kept, %d skipped (read-only)", m.Kept, sumCounts(m.Skipped))
	}
	if t := s.Teams; t != nil {
		if t.Skipped != "" {
			w.printf("teams     skipped: %s", t.Skipped)
		} else {
			w.printf("teams     clip shared to %s › %s", t.Team, t.Channel)
		}
	}
	if s.Mode == "demo" {
		fmt.Fprintf(w.out, "\nDone. Next: go test -race -count=1 ./... — or set M365KIT_CLIENT_ID, M365KIT_CLIENT_SECRET and M365KIT_REDIRECT_URL and run this again against your tenant.\n")
	} else {
		fmt.Fprintf(w.out, "\nDone. The account is remembered: the other examples (calendar-sync, mail-sync, teams-share) act for it now.\n")
	}
}

// clip shortens s to n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// counts formats reason counts, largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
