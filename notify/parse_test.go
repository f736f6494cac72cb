package notify_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/m365kit/m365kit/notify"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDocumentedPayloads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []notify.ChangeNotification
	}{
		{"notification-message-created.json", []notify.ChangeNotification{{
			SubscriptionID:                 "<subscription_guid>",
			SubscriptionExpirationDateTime: time.Date(2016, 3, 19, 22, 11, 9, 952e6, time.UTC),
			ClientState:                    "secretClientValue",
			ChangeType:                     "created",
			Resource:                       "users/{user_guid}@<tenant_guid>/messages/{long_id_string}",
			ResourceData: &notify.ResourceData{
				ODataType: "#Microsoft.Graph.Message",
				ODataID:   "Users/{user_guid}@<tenant_guid>/Messages/{long_id_string}",
				ODataEtag: `W/"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf"`,
				ID:        "<long_id_string>",
			},
		}}},
		{"lifecycle-notification.json", []notify.ChangeNotification{{
			SubscriptionID:                 "<subscription_guid>",
			SubscriptionExpirationDateTime: time.Date(2019, 3, 20, 11, 0, 0, 0, time.UTC),
			TenantID:                       "<tenant_guid>",
			ClientState:                    "<secretClientState>",
			LifecycleEvent:                 "subscriptionRemoved or missed or reauthorizationRequired",
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			got, err := notify.Parse(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
			if got[0].IsLifecycle() != (tc.want[0].LifecycleEvent != "") {
				t.Errorf("IsLifecycle = %v", got[0].IsLifecycle())
			}
		})
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, problem string }{
		{"empty", ``, "not JSON"},
		{"not JSON", `<html>`, "not JSON"},
		{"array", `[]`, "not JSON"},
		{"no value", `{"values":[]}`, `no "value"`},
		{"null value", `{"value":null}`, `no "value"`},
		{"empty value", `{"value":[]}`, "empty"},
		{"trailing", `{"value":[{"subscriptionId":"a","changeType":"created"}]} {}`, "trailing"},
		{"no subscription", `{"value":[{"changeType":"created"}]}`, "no subscriptionId"},
		{"huge subscription", `{"value":[{"subscriptionId":"` + strings.Repeat("a", 129) + `","changeType":"created"}]}`, "not an ID"},
		{"control characters", `{"value":[{"subscriptionId":"a\nlevel=ERROR","changeType":"created"}]}`, "not an ID"},
		{"bad change type", `{"value":[{"subscriptionId":"a","changeType":"moved"}]}`, "neither"},
		{"combined change type", `{"value":[{"subscriptionId":"a","changeType":"created,updated"}]}`, "neither"},
		{"bad time", `{"value":[{"subscriptionId":"a","changeType":"created","subscriptionExpirationDateTime":"soon"}]}`, "not JSON"},
		{"wrong type", `{"value":[{"subscriptionId":7,"changeType":"created"}]}`, "wrong type"},
		{"too many", `{"value":[` + strings.Repeat(`{"subscriptionId":"a","changeType":"created"},`, 1000) + `{"subscriptionId":"a","changeType":"created"}]}`, "more than 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := notify.Parse([]byte(tc.body))
			if !errors.Is(err, notify.ErrMalformed) || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("Parse error = %v, want ErrMalformed about %q", err, tc.problem)
			}
		})
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// is well-formed: a subscription ID and either a lifecycle event or one
// change type per notification, times in UTC.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"notification-message-created.json", "lifecycle-notification.json", "subscription-created.json"} {
		f.Add(readTestdata(f, file))
	}
	f.Add([]byte(`{"value":[{"subscriptionId":"a","changeType":"updated","subscriptionExpirationDateTime":"2026-01-02T03:04:05+02:00"}]}`))
	f.Add([]byte(`{"value":[{"subscriptionId":"a","lifecycleEvent":"missed"},{"subscriptionId":"b","changeType":"deleted","resourceData":null}]}`))
	f.Add([]byte(`{"value":[{}]}`))
	f.Add([]byte(`{"value":{"subscriptionId":"a"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := notify.Parse(body)
		if err != nil {
			if !errors.Is(err, notify.ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		if len(items) == 0 {
			t.Fatal("no error and no notifications")
		}
		for _, n := range items {
			if n.SubscriptionID == "" {
				t.Fatal("accepted a notification without subscriptionId")
			}
			switch n.ChangeType {
			case "created", "updated", "deleted":
			default:
				if n.LifecycleEvent == "" {
					t.Fatalf("accepted changeType %q without a lifecycle event", n.ChangeType)
				}
			}
			if loc := n.SubscriptionExpirationDateTime.Location(); loc != time.UTC {
				t.Fatalf("time in %v, want UTC", loc)
			}
		}
	})
}
