package auth

import "github.com/m365kit/m365kit/internal/neterr"

// explainUnreachable turns e into a one-line ErrTransient when err says the
// authority's host cannot be reached at all (its name does not resolve, or
// its certificate comes from an unknown authority), instead of MSAL's long
// text after retries. A program whose Graph client talks to a graphtest
// fake while Config.HTTPClient does not lead to it fails this way.
func explainUnreachable(e *Error, host string, err error) {
	reason, ok := neterr.Unreachable(err)
	if !ok {
		return
	}
	e.Kind = ErrTransient
	e.Reason = "cannot reach " + host + ": " + reason
	if neterr.IsMicrosoftHost(host) {
		e.Reason += " (against a graphtest fake, set auth.Config.HTTPClient to its HTTPClient)"
	}
}
