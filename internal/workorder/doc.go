// Package workorder owns work orders (工单): intake of citizens' reports, Open311 requests,
// alerts, patrol reports and staff entries through one path; the lifecycle state machine as
// 12345 hotlines and 数字城管 run it (受理 → 待分拨 → 派单 → 签收 → 处置 → 反馈 → 核查 → 办结 →
// 回访, with 退单/改派, 延期, 返工, reopening and closing as duplicate, not responsible or
// cancelled), SLA deadlines over a working calendar with China's holidays and 调休 days,
// reminders (催办) and escalations (督办), routing through the dispatch catalogue (派单目录)
// and the area map, duplicate detection and merging (并单), and tracking numbers with secret
// tokens for citizens.
//
// It is a domain package: it imports neither net/http nor database/sql. It declares what it
// consumes: Repository (storage), Triager (the assistant), Locator (the area map) and
// Notifier (delivery). Service is safe for concurrent use; its settings are replaced whole
// under a lock and order updates use the repository's optimistic version check, so two
// moves on the same order cannot both succeed from the same version.
package workorder
