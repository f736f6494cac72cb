// Package consent onboards a customer's Microsoft 365 tenant to a
// multi-tenant app with delegated permissions, and explains what goes
// wrong: it is the admin setup guide as code.
//
// # Step 1: an administrator grants consent
//
// A tenant administrator follows [Flow.AdminConsentURL] to Microsoft's v2
// admin-consent page. Accepting creates the app's service principal in
// their tenant and grants the requested permissions for every user.
// Microsoft then redirects to Config.RedirectURL, where [Flow.Complete]
// verifies the signed, expiring state and returns a [Grant] (the tenant ID
// and the granted scopes) or an [*Error] (say, the administrator declined:
// AADSTS65004).
//
//	flow, err := consent.New(consent.Config{
//		ClientID:    "00001111-aaaa-2222-bbbb-3333cccc4444",
//		RedirectURL: "https://app.example.com/microsoft/consent",
//		StateKey:    key, // 32+ random bytes, the same on every backend
//	})
//	u, err := flow.AdminConsentURL(consent.Request{
//		Choice:   scopes.AllRecommended(), // "Grant access to all recommended resources"
//		ReturnTo: "/settings/integrations",
//	})
//	// ... redirect the administrator to u; then, on the callback:
//	g, err := flow.Complete(r)
//
// [Flow.StartHandler] and [Flow.CallbackHandler] do both steps as
// ready-made http.Handlers, binding each attempt to the browser that
// started it.
//
// The tenant in the redirect is a claim, not proof: anyone can call the
// redirect URL. Treat the tenant as onboarded only after a user of that
// tenant has signed in (see [Grant.Confirm]).
//
// # Step 3: verify the integration
//
// [Verify] checks, for a signed-in user, that each feature works: the
// grant covers the feature's permissions, and one live Graph call per
// feature succeeds (the profile, the calendars, the joined teams, the
// inbox). The [Report] prints as a short table saying who fixes what.
//
// # Troubleshooting
//
// [Diagnose] turns consent errors, sign-in errors (anything exposing an
// AADSTS code through [AADSTSCoder]), raw Entra error bodies and the Graph
// errors Verify meets into a [Diagnosis]: what the code means, who can fix
// it (the tenant admin, the user, or the vendor's app registration) and
// how.
package consent
