package consent_test

import (
	"fmt"
	"testing"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/consent"
)

// auth's error type exposes its AADSTS code the way Diagnose looks for it.
var _ consent.AADSTSCoder = (*auth.Error)(nil)

// entraFields is Entra's error as both packages spell it: the same field
// names with the same types, or this file does not compile.
type entraFields struct {
	Code, Description      string
	Codes                  []int
	TraceID, CorrelationID string
}

var (
	_ = func(e *auth.Error) entraFields {
		return entraFields{e.Code, e.Description, e.Codes, e.TraceID, e.CorrelationID}
	}
	_ = func(e *consent.Error) entraFields {
		return entraFields{e.Code, e.Description, e.Codes, e.TraceID, e.CorrelationID}
	}
)

func TestDiagnoseAuthError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"codes", &auth.Error{Op: "token", Code: "invalid_grant", Codes: []int{700082}, Kind: auth.ErrReauthRequired}, 700082},
		{"description only", fmt.Errorf("refresh: %w", &auth.Error{Op: "token", Code: "invalid_grant", Description: "AADSTS50173: The provided grant has expired due to it being revoked."}), 50173},
		{"sign-in refused", &auth.Error{Op: "sign in", Code: "access_denied", Codes: []int{65004}, Kind: auth.ErrSignInFailed}, 65004},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, ok := consent.Diagnose(tt.err)
			if !ok || d.Code != tt.want || !d.Known || d.Fix == "" {
				t.Fatalf("Diagnose = %+v, %v; want AADSTS%d", d, ok, tt.want)
			}
		})
	}
}
