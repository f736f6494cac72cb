package auth

import "time"

// SetNow makes a read the time from now, for the end-to-end tests whose
// fake Entra ID runs on real sockets and real time, where a
// testing/synctest bubble cannot serve. Call it before a is used.
func SetNow(a *App, now func() time.Time) { a.now = now }

// FlightWaiters returns how many callers wait for the in-progress token
// acquisition of accountID and the features' scopes (0 if none), so that
// tests can order a cancellation after a caller joined.
func FlightWaiters(a *App, s *Source) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := a.flights[s.accountID+"\x00"+s.key]; f != nil {
		return f.waiters
	}
	return 0
}
