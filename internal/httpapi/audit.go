package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/audit"
)

// auditCheckpoint is the latest signed checkpoint with the key that verifies it.
type auditCheckpoint struct {
	Size        int64     `json:"size"`
	Root        string    `json:"root"`
	Time        time.Time `json:"time"`
	Note        string    `json:"note"`
	VerifierKey string    `json:"verifier_key"`
}

// AuditRoutes are the auditor's (审计员) routes over the audit log: search with cursor
// pagination, CSV export, one entry, its inclusion proof, the latest signed checkpoint and
// consistency proofs. Searches and exports are themselves recorded in the log.
func AuditRoutes(s *Server, l *audit.Log) []Route {
	auditors := []string{citybrain.RoleAuditor}
	proofs := []string{citybrain.RoleAuditor, citybrain.RoleAdmin}
	query := map[string]string{
		"actor_id": "user id of the actor", "username": "username of the actor",
		"action": "read, mask, deny, change, export…", "dataset": "dataset or catalog name",
		"from": "RFC 3339 or epoch ms, inclusive", "to": "RFC 3339 or epoch ms, exclusive",
		"limit": "1–1000 (default 100)", "cursor": "next_cursor of the previous page",
	}
	return []Route{
		{Method: "GET", Path: "/api/v1/audit/entries", Tag: "audit", Roles: auditors, Query: query,
			Summary:  "Search the audit log, newest first (审计日志查询; the search is itself audited)",
			Response: Page[audit.Entry]{}, Handle: func(w http.ResponseWriter, r *http.Request) error {
				q, err := auditQuery(r)
				if err != nil {
					return err
				}
				limit, cursor, err := PageParams(r)
				if err != nil {
					return err
				}
				if q.Before, err = CursorInt64(cursor); err != nil {
					return err
				}
				q.Limit = limit
				if _, err := l.Record(r.Context(), audit.Entry{Action: audit.ActionRead, Object: audit.Object{Dataset: "audit_log"},
					Detail: map[string]string{"query": q.String(), "cursor": cursor}}); err != nil {
					return err
				}
				p, err := l.Search(r.Context(), q)
				if err != nil {
					return err
				}
				out := Page[audit.Entry]{Items: p.Entries}
				if out.Items == nil {
					out.Items = []audit.Entry{}
				}
				if p.Next > 0 {
					out.NextCursor = EncodeCursor(strconv.FormatInt(p.Next, 10))
				}
				return s.Reply(w, r, http.StatusOK, out)
			}},
		{Method: "GET", Path: "/api/v1/audit/export", Tag: "audit", Roles: auditors, Raw: true, Query: query,
			Summary: "Export matching audit entries as CSV (UTF-8 with BOM; the export is itself audited)",
			Handle: func(w http.ResponseWriter, r *http.Request) error {
				q, err := auditQuery(r)
				if err != nil {
					return err
				}
				w.Header().Set("Content-Type", "text/csv; charset=utf-8")
				w.Header().Set("Content-Disposition", `attachment; filename="audit-`+time.Now().UTC().Format("20060102T150405Z")+`.csv"`)
				_, err = l.Export(r.Context(), q, w)
				return err
			}},
		{Method: "GET", Path: "/api/v1/audit/entries/{seq}", Tag: "audit", Roles: auditors,
			Summary: "One audit entry", Response: audit.Entry{}, Handle: func(w http.ResponseWriter, r *http.Request) error {
				seq, err := auditSeq(r)
				if err != nil {
					return err
				}
				e, err := l.Get(r.Context(), seq)
				if err != nil {
					return err
				}
				return s.Reply(w, r, http.StatusOK, e)
			}},
		{Method: "GET", Path: "/api/v1/audit/entries/{seq}/proof", Tag: "audit", Roles: proofs,
			Summary:  "Inclusion proof (RFC 6962 audit path) of one entry in the latest signed checkpoint",
			Response: audit.InclusionProof{}, Handle: func(w http.ResponseWriter, r *http.Request) error {
				seq, err := auditSeq(r)
				if err != nil {
					return err
				}
				p, err := l.Prove(r.Context(), seq)
				if err != nil {
					return err
				}
				return s.Reply(w, r, http.StatusOK, p)
			}},
		{Method: "GET", Path: "/api/v1/audit/checkpoint", Tag: "audit", Roles: proofs,
			Summary:  "The latest signed checkpoint (size, Merkle root, Ed25519-signed note) and its public key",
			Response: auditCheckpoint{}, Handle: func(w http.ResponseWriter, r *http.Request) error {
				c, err := l.Latest()
				if err != nil {
					return err
				}
				return JSON(w, http.StatusOK, auditCheckpoint{Size: c.Size, Root: c.Root.String(), Time: c.Time,
					Note: string(c.Note), VerifierKey: l.VerifierKey()})
			}},
		{Method: "GET", Path: "/api/v1/audit/consistency", Tag: "audit", Roles: proofs,
			Query:    map[string]string{"old_size": "size of the checkpoint you hold"},
			Summary:  "Consistency proof that the latest checkpoint extends an earlier one (RFC 6962)",
			Response: audit.ConsistencyProof{}, Handle: func(w http.ResponseWriter, r *http.Request) error {
				n, err := strconv.ParseInt(r.URL.Query().Get("old_size"), 10, 64)
				if err != nil {
					return citybrain.FieldError("old_size", "old_size 须为整数 (old_size must be a whole number)")
				}
				p, err := l.ProveConsistency(r.Context(), n)
				if err != nil {
					return err
				}
				return JSON(w, http.StatusOK, p)
			}},
	}
}

func auditSeq(r *http.Request) (int64, error) {
	v := r.PathValue("seq")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, citybrain.Errorf(citybrain.ENOTFOUND, "审计记录 %q 不存在 (audit entry %q not found)", v, v)
	}
	return n, nil
}

func auditQuery(r *http.Request) (audit.Query, error) {
	v := r.URL.Query()
	var q audit.Query
	var err error
	if s := v.Get("actor_id"); s != "" {
		if q.ActorID, err = strconv.ParseInt(s, 10, 64); err != nil {
			return q, citybrain.FieldError("actor_id", "actor_id 须为整数 (actor_id must be a whole number)")
		}
	}
	q.Username = strings.TrimSpace(v.Get("username"))
	q.Action = strings.TrimSpace(v.Get("action"))
	q.Dataset = strings.TrimSpace(v.Get("dataset"))
	if q.From, err = ParseTime("from", v.Get("from")); err != nil {
		return q, err
	}
	if q.To, err = ParseTime("to", v.Get("to")); err != nil {
		return q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, citybrain.FieldError("to", "结束时间须晚于开始时间 (to must be after from)")
	}
	return q, nil
}
