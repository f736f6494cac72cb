package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/m365kit/m365kit/graphclient"
	"github.com/m365kit/m365kit/notify"
)

// RenewBefore is checked against the lifetime fleet asks Graph for (the
// configured one less the 15-minute margin), not the configured one:
// with a lifetime of an hour, a RenewBefore of 50 minutes would renew
// every subscription at every look of the leader.
func TestRenewBeforeEffectiveLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false, nil)
	hour := map[notify.Kind]time.Duration{notify.KindEvents: time.Hour, notify.KindMessages: time.Hour}
	cfg := func(renewBefore time.Duration, life map[notify.Kind]time.Duration) Config {
		return Config{DB: e.db, App: e.app, Sink: e.sink, RenewBefore: renewBefore, SubscriptionLifetime: life}
	}
	for _, c := range []struct {
		name  string
		cfg   Config
		input string // "" when valid
		says  string
	}{
		{"due at creation", cfg(50*time.Minute, hour), "Config.RenewBefore", "45m0s"},
		{"the asked lifetime", cfg(45*time.Minute, hour), "Config.RenewBefore", "45m0s"},
		{"the default RenewBefore", cfg(0, map[notify.Kind]time.Duration{notify.KindEvents: 24*time.Hour + 10*time.Minute}), "Config.RenewBefore", "23h55m0s"},
		{"a lifetime within the margin", cfg(time.Minute, map[notify.Kind]time.Duration{notify.KindMessages: 15 * time.Minute}), "Config.SubscriptionLifetime", "15m0s"},
		{"shorter", cfg(44*time.Minute, hour), "", ""},
		{"defaults", cfg(0, nil), "", ""},
	} {
		_, err := New(c.cfg)
		if c.input == "" {
			if err != nil {
				t.Errorf("%s: New: %v", c.name, err)
			}
			continue
		}
		var fe *Error
		if !errors.As(err, &fe) || fe.Input != c.input || !errors.Is(err, graphclient.ErrInvalidInput) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: New: %v, want an invalid-input error naming %s and saying %s", c.name, err, c.input, c.says)
		}
	}
}
