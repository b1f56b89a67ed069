package httpapi

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/triage"
)

// TriageRequest is a report text to classify.
type TriageRequest struct {
	Text string `json:"text"`
}

// TriageRoutes serves the assistant to staff: classify a report's text, draft a reply to
// a citizen, and draft the daily situation brief from figures. Nothing here is stored and
// no stored record is returned (the figures come from the caller), so the routes carry no
// governance Dataset; texts sent to an external model are masked by the triage package.
func TriageRoutes(s *Server, t triage.Triager, w *triage.Writer) []Route {
	staff := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept, citybrain.RoleWorker}
	writers := []string{citybrain.RoleAdmin, citybrain.RoleOperator, citybrain.RoleDept}
	return []Route{
		{Method: "POST", Path: "/api/v1/triage/classify", Tag: "assistant", Roles: staff, MaxBody: 64 << 10,
			Summary: "Propose category, urgency and lead department for a report text (智能分拨)",
			Request: TriageRequest{}, Response: triage.Result{},
			Handle: func(rw http.ResponseWriter, r *http.Request) error {
				var in TriageRequest
				if err := DecodeJSON(r, &in); err != nil {
					return err
				}
				if strings.TrimSpace(in.Text) == "" {
					return citybrain.FieldError("text", "text is required / 请填写诉求内容")
				}
				if utf8.RuneCountInString(in.Text) > 4000 {
					return citybrain.FieldError("text", "text is longer than 4000 characters / 内容超过4000字")
				}
				res, err := t.Triage(r.Context(), in.Text)
				if err != nil {
					return err
				}
				return JSON(rw, http.StatusOK, res)
			}},
		{Method: "POST", Path: "/api/v1/triage/reply", Tag: "assistant", Roles: writers, MaxBody: 64 << 10,
			Summary: "Draft a reply to a citizen for a case state: accepted, dispatched, closed, extension (回复草稿)",
			Request: triage.ReplyInput{}, Response: triage.Text{},
			Handle: func(rw http.ResponseWriter, r *http.Request) error {
				var in triage.ReplyInput
				if err := DecodeJSON(r, &in); err != nil {
					return err
				}
				out, err := w.Reply(r.Context(), in)
				if err != nil {
					return err
				}
				return JSON(rw, http.StatusOK, out)
			}},
		{Method: "POST", Path: "/api/v1/triage/brief", Tag: "assistant", Roles: writers, MaxBody: 256 << 10,
			Summary: "Draft the daily situation brief from the day's figures (城市运行日报草稿)",
			Request: triage.BriefInput{}, Response: triage.Text{},
			Handle: func(rw http.ResponseWriter, r *http.Request) error {
				var in triage.BriefInput
				if err := DecodeJSON(r, &in); err != nil {
					return err
				}
				if in.Date.IsZero() {
					return citybrain.FieldError("date", "date is required / 需要日期")
				}
				return JSON(rw, http.StatusOK, w.Brief(r.Context(), in))
			}},
	}
}
