package consent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/scopes"
)

// Check is the verdict on one feature.
type Check struct {
	// Feature is the feature checked.
	Feature scopes.Feature
	// Ready reports whether the feature works for this user: every
	// permission granted and the live probe answered.
	Ready bool
	// Missing are the permissions the feature needs that the grant lacks.
	// When any are missing the probe is not sent.
	Missing []scopes.Permission
	// Probe is the Graph call that was tried, such as "GET me"; empty when
	// it was not sent.
	Probe string
	// Detail says what the probe found ("2 calendars") or how it failed
	// ("404 MailboxNotEnabledForRESTAPI").
	Detail string
	// Err is the probe's error, if it failed.
	Err error
	// Diagnosis explains why the feature is not ready and who fixes it;
	// the zero value when Ready (or when the failure has no diagnosis).
	Diagnosis Diagnosis
}

// Report is the result of Verify, one Check per feature, SignIn first. It
// is a plain value: safe for concurrent reads.
type Report struct {
	Checks []Check
}

// Ready reports whether every checked feature is ready.
func (r Report) Ready() bool {
	if len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.Ready {
			return false
		}
	}
	return true
}

// Check returns the check of feature f, if the report has one.
func (r Report) Check(f scopes.Feature) (Check, bool) {
	for _, c := range r.Checks {
		if c.Feature == f {
			return c, true
		}
	}
	return Check{}, false
}

// String returns the report as a short table, one row per feature, then
// one line per problem saying who fixes it and how.
func (r Report) String() string {
	var b strings.Builder
	_, _ = r.WriteTo(&b)
	return b.String()
}

// WriteTo writes the report as String formats it.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FEATURE\tREADY\tCHECK\tRESULT")
	for _, c := range r.Checks {
		ready := "yes"
		if !c.Ready {
			ready = "no"
		}
		probe, result := c.Probe, c.Detail
		if len(c.Missing) > 0 {
			names := make([]string, len(c.Missing))
			for i, p := range c.Missing {
				names[i] = p.Name
			}
			probe, result = "consent", "missing "+strings.Join(names, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Feature.Title(), ready, probe, result)
	}
	_ = tw.Flush()
	for _, c := range r.Checks {
		if c.Ready || c.Diagnosis.Fix == "" {
			continue
		}
		fmt.Fprintf(&b, "%s: %s fixes it: %s\n", c.Feature.Title(), c.Diagnosis.Fixer, c.Diagnosis.Fix)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Verify checks, for the user whose token gc carries, that each feature
// works: first that granted (the scopes the consent callback or the token
// response reported) covers the feature's permissions (scopes.Missing),
// then with one live Graph call per feature:
//
//   - SignIn: GET me
//   - Calendar and SharedCalendars: GET me/calendars
//   - Teams: GET me/joinedTeams
//   - Mail: GET me/mailFolders/inbox (a user without an Exchange Online
//     mailbox answers MailboxNotEnabledForRESTAPI)
//
// SignIn is always checked, first; the other features follow in the order
// scopes.Features lists them, and a feature scopes does not know gets a
// failed check. A failed check carries its Diagnosis. Verify
// itself does not fail: every problem is in the Report.
//
// Graph API: GET /me, GET /me/calendars, GET /me/joinedTeams,
// GET /me/mailFolders/inbox
func Verify(ctx context.Context, gc *graphclient.Client, granted []string, features ...scopes.Feature) Report {
	var r Report
	for _, f := range scopes.Features() {
		if f != scopes.SignIn && !slices.Contains(features, f) {
			continue
		}
		c := Check{Feature: f, Missing: scopes.Missing(granted, f)}
		switch {
		case len(c.Missing) > 0:
			c.Diagnosis = missingScopes(f, c.Missing)
		case gc == nil:
			c.Err = errors.New("consent: Verify: nil *graphclient.Client")
			c.Detail = "no Graph client"
		default:
			c.Probe, c.Detail, c.Err = probe(ctx, gc, f)
			if c.Err != nil {
				c.Detail = failure(c.Err)
				c.Diagnosis, _ = Diagnose(c.Err)
			}
		}
		c.Ready = len(c.Missing) == 0 && c.Err == nil
		r.Checks = append(r.Checks, c)
	}
	for _, f := range features {
		if !f.Valid() {
			r.Checks = append(r.Checks, Check{
				Feature: f,
				Detail:  "unknown feature",
				Err:     fmt.Errorf("consent: Verify: feature %q is not one scopes knows", string(f)),
			})
		}
	}
	return r
}

// missingScopes is the diagnosis of a feature the grant does not cover.
func missingScopes(f scopes.Feature, missing []scopes.Permission) Diagnosis {
	names := make([]string, len(missing))
	for i, p := range missing {
		names[i] = p.Name
	}
	return Diagnosis{
		Name:    "PermissionsNotGranted",
		Meaning: fmt.Sprintf("The grant lacks %s, which %s needs.", strings.Join(names, ", "), f.Title()),
		Fixer:   TenantAdmin,
		Fix:     fmt.Sprintf("A tenant admin opens an admin-consent link that includes %s and accepts; then the user signs in again.", f.Title()),
		Known:   true,
	}
}

// failure describes a failed probe in a few words.
func failure(err error) string {
	var ge *graphclient.Error
	if errors.As(err, &ge) {
		code := ge.Code
		if ge.HasCode("MailboxNotEnabledForRESTAPI") {
			code = "MailboxNotEnabledForRESTAPI"
		}
		if code == "" {
			code = http.StatusText(ge.StatusCode)
		}
		return fmt.Sprintf("%d %s", ge.StatusCode, code)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "not finished: " + err.Error()
	}
	return "failed: " + clean(err.Error(), 200)
}

// probe makes the feature's live call and says what it found.
func probe(ctx context.Context, gc *graphclient.Client, f scopes.Feature) (call, detail string, err error) {
	switch f {
	case scopes.SignIn:
		var me struct {
			DisplayName       string `json:"displayName"`
			UserPrincipalName string `json:"userPrincipalName"`
		}
		if err := get(ctx, gc, "me?$select=displayName,userPrincipalName", &me); err != nil {
			return "GET me", "", err
		}
		return "GET me", fmt.Sprintf("%s (%s)", clean(me.DisplayName, 100), clean(me.UserPrincipalName, 100)), nil
	case scopes.Calendar, scopes.SharedCalendars:
		return countProbe(ctx, gc, "me/calendars?$select=id", "calendar")
	case scopes.Teams:
		return countProbe(ctx, gc, "me/joinedTeams", "joined team")
	case scopes.ChatMessages:
		// Listing chats proves the token reaches Teams chats; Chat.Read
		// itself is checked against the grant (scopes.Missing), since
		// reading a message needs a chat to read from.
		return countProbe(ctx, gc, "me/chats", "chat")
	case scopes.Mail:
		var inbox struct {
			TotalItemCount int `json:"totalItemCount"`
		}
		if err := get(ctx, gc, "me/mailFolders/inbox?$select=totalItemCount", &inbox); err != nil {
			return "GET me/mailFolders/inbox", "", err
		}
		return "GET me/mailFolders/inbox", "inbox: " + count(inbox.TotalItemCount, false, "message"), nil
	}
	return "", "", fmt.Errorf("consent: Verify: no check for feature %q", string(f))
}

// countProbe reads the first page of a collection and says how many items
// it holds, as a probe's operation and detail.
func countProbe(ctx context.Context, gc *graphclient.Client, path, noun string) (op, detail string, err error) {
	op = "GET " + strings.SplitN(path, "?", 2)[0]
	var page struct {
		Value    []struct{} `json:"value"`
		NextLink string     `json:"@odata.nextLink"`
	}
	if err := get(ctx, gc, path, &page); err != nil {
		return op, "", err
	}
	return op, count(len(page.Value), page.NextLink != "", noun), nil
}

func get(ctx context.Context, gc *graphclient.Client, path string, v any) error {
	req, err := gc.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	_, err = gc.Do(req, v)
	return err
}

// count says "1 calendar", "2 calendars" or "10+ calendars".
func count(n int, more bool, noun string) string {
	s := fmt.Sprintf("%d", n)
	if more {
		s += "+"
	}
	if n != 1 || more {
		noun += "s"
	}
	return s + " " + noun
}
