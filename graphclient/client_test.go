package graphclient

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestDoDecodesJSON(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	mux.HandleFunc("GET /v1.0/me", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			t.Errorf("Authorization = %q", got)
		}
		fmt.Fprint(w, `{"displayName":"Adele Vance"}`)
	})
	req, err := c.NewRequest(t.Context(), "GET", "me", nil)
	if err != nil {
		t.Fatal(err)
	}
	var me struct{ DisplayName string }
	if _, err := c.Do(req, &me); err != nil {
		t.Fatal(err)
	}
	if me.DisplayName != "Adele Vance" {
		t.Errorf("DisplayName = %q", me.DisplayName)
	}
}

func TestDoNotFound(t *testing.T) {
	t.Parallel()
	c, mux, _, _ := setup(t)
	mux.HandleFunc("GET /v1.0/me/events/x", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":{"code":"ErrorItemNotFound","message":"nope"}}`)
	})
	req, _ := c.NewRequest(t.Context(), "GET", "me/events/x", nil)
	_, err := c.Do(req, nil)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}
