package graphtest

import (
	"net/http"
	"strings"
)

// handleGetMe serves GET /me: the user resource, honouring $select.
func (s *Server) handleGetMe(w http.ResponseWriter, r *http.Request, u *User) {
	given, surname, _ := strings.Cut(u.DisplayName, " ")
	var mail any
	if u.Mail != "" {
		mail = u.Mail
	}
	full := map[string]any{
		"businessPhones":    []string{},
		"displayName":       u.DisplayName,
		"givenName":         given,
		"jobTitle":          nil,
		"mail":              mail,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": "en-US",
		"surname":           surname,
		"userPrincipalName": u.UserPrincipalName,
		"id":                u.ID,
	}
	out := map[string]any{"@odata.context": "https://" + GraphHost + "/v1.0/$metadata#users/$entity"}
	if sel := r.URL.Query().Get("$select"); sel != "" {
		out["@odata.context"] = "https://" + GraphHost + "/v1.0/$metadata#users(" + sel + ")/$entity"
		for _, f := range strings.Split(sel, ",") {
			for k, v := range full {
				if strings.EqualFold(k, strings.TrimSpace(f)) {
					out[k] = v
				}
			}
		}
	} else {
		for k, v := range full {
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}
