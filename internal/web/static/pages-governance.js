// pages-governance: data governance (issue 5) and the audit log. #/governance shows the data
// catalog with classes, grades, sharing attributes and the caller's decision per column; a
// dataset's page shows its rows exactly as the Guard lets the caller see them (masked where
// the decision says so), lets the owner confirm or change grades, and lets another department
// request access; tabs hold CSV import, the sharing inboxes (owners approve — possibly
// narrower —, refuse with a reason or escalate; requesters withdraw), grants with expiry and
// revocation, household consent and sharing statistics. #/audit (auditors) searches and
// exports the tamper-evident log, shows an entry's inclusion proof, checks it in the browser
// (RFC 6962, SHA-256) and shows the latest signed checkpoint. Every string goes through CB.t.
(function () {
  "use strict";
  const { routes, api, el, t, fmtTime, toast, items, S } = window.CB;

  document.head.append(el("style", {}, `
.gv-tabs { display:flex; gap:6px; flex-wrap:wrap; margin-bottom:10px; }
.gv-tabs a { padding:6px 12px; border-radius:16px; background:var(--panel2); color:var(--muted); text-decoration:none; }
.gv-tabs a.active { background:var(--accent); color:#fff; }
.gv-link { color:var(--accent); text-decoration:none; font-weight:600; cursor:pointer; }
.dec { display:inline-block; padding:1px 6px; border-radius:10px; font-size:12px; white-space:nowrap; }
.dec.FULL { background:#1d4e2c; color:#cfe; } .dec.MASKED { background:#7a5a00; color:#ffe7a3; } .dec.AGGREGATE_ONLY { background:#21426e; color:#cde; } .dec.DENY { background:#5a1f25; color:#fcc; }
.grade { display:inline-block; padding:1px 6px; border-radius:10px; font-size:12px; background:var(--panel2); white-space:nowrap; }
.grade.general3 { background:#7a5a00; } .grade.general4, .grade.important { background:#8a2b2b; } .grade.core, .grade.unknown { background:#5b1a5b; }
.gv-scroll { overflow-x:auto; }
.gv-grid { display:grid; grid-template-columns:minmax(0,1fr) minmax(0,1fr); gap:10px; align-items:start; }
.gv-form input:not([type=checkbox]), .gv-form select, .gv-form textarea { width:100%; }
.gv-checks label { display:inline-block; margin:2px 12px 2px 0; color:var(--text); }
.gv-hash { font-family:ui-monospace,monospace; font-size:12px; word-break:break-all; }
.ok-text { color:var(--ok); } .bad-text { color:var(--crit); }
@media (max-width: 900px) { .gv-grid { grid-template-columns:1fr; } }
`));

  const zh = () => S.lang === "zh";
  const GRADES = ["general1", "general2", "general3", "general4", "important", "core"];
  const CATS = ["personal", "sensitive_personal", "infrastructure", "environment", "government", "device", "public_service", "public_safety", "economy", "other"];
  const LEVELS = ["FULL", "MASKED", "AGGREGATE_ONLY"];
  const gradeName = (g) => t("grade_" + (g || "unknown"));
  const sharingName = (s) => t("share_" + s);
  const decName = (d) => t("dec_" + (d || "DENY"));
  const catName = (c) => t("gcat_" + (c || "other"));
  const tf = (k, fallback) => { const s = t(k); return s === k ? fallback : s; };
  const piName = (p) => (p ? tf("pi_" + p, p) : "—");
  const reqState = (s) => tf("req_" + s, s);
  let deptCache = null;
  async function depts() {
    if (!deptCache) {
      deptCache = {};
      try { (await api("GET", "/api/v1/workorder-config/categories", undefined, { noRedirect: true })).departments.forEach((d) => (deptCache[d.code] = d)); } catch (e) {}
    }
    return (c) => (c === "PLATFORM" ? t("gv_platform") : deptCache[c] ? (zh() ? deptCache[c].name_zh : deptCache[c].name_en) : c || "—");
  }
  const table = (heads, rows, attrs) => el("div", { class: "gv-scroll" }, el("table", attrs || {}, el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: heads.length, class: "muted" }, t("empty"))))));
  const isManager = () => ["admin", "operator", "dept"].includes(S.me && S.me.role);
  const canRequest = () => ["admin", "operator", "dept", "worker"].includes(S.me && S.me.role);
  const myDept = () => (S.me && S.me.department) || "";

  // ---- #/governance ----
  const TABS = [["catalog", null], ["import", ["admin", "operator", "dept"]], ["requests", null], ["grants", null], ["consent", ["admin", "operator", "dept", "worker"]], ["stats", null]];
  routes.governance = async (view, parts, q) => {
    if (parts[0] === "dataset" && parts[1]) return datasetPage(view, decodeURIComponent(parts[1]), q);
    const role = S.me && S.me.role;
    const tabs = TABS.filter(([, roles]) => !roles || roles.includes(role)).map(([n]) => n);
    const tab = tabs.includes(parts[0]) ? parts[0] : "catalog";
    view.append(el("div", { class: "gv-tabs", id: "gv-tabs" }, tabs.map((x) => el("a", { href: "#/governance/" + x, id: "gvtab-" + x, class: x === tab ? "active" : "" }, t("gv_tab_" + x)))));
    const body = el("div", { id: "gv-body" });
    view.append(body);
    await ({ catalog, import: importPage, requests, grants, consent, stats })[tab](body, q);
  };

  async function catalog(body) {
    const dn = await depts();
    const all = await api("GET", "/api/v1/datasets");
    const filter = el("input", { placeholder: t("filter"), id: "catalog-filter" });
    const onlyImported = el("input", { type: "checkbox", id: "catalog-imported" });
    const tbody = el("tbody");
    const draw = () => {
      tbody.innerHTML = "";
      const f = filter.value.trim().toLowerCase();
      for (const d of all) {
        if (onlyImported.checked && d.platform) continue;
        if (f && !(d.name + " " + (d.title || "") + " " + dn(d.owner)).toLowerCase().includes(f)) continue;
        const decs = Object.values(d.decisions || {});
        const summary = ["FULL", "MASKED", "AGGREGATE_ONLY", "DENY"].map((k) => [k, decs.filter((x) => x === k).length]).filter((x) => x[1]);
        tbody.append(el("tr", { "data-dataset": d.name }, el("td", {}, el("a", { class: "gv-link", href: "#/governance/dataset/" + encodeURIComponent(d.name) }, d.name), el("div", { class: "muted" }, d.title || "")),
          el("td", {}, dn(d.owner)), el("td", {}, el("span", { class: "grade " + d.grade }, gradeName(d.grade))), el("td", {}, sharingName(d.sharing), d.sharing_reason ? el("div", { class: "muted" }, d.sharing_reason) : null),
          el("td", {}, (d.columns || []).length), el("td", {}, d.platform ? t("gv_platform_table") : d.rows ?? ""),
          el("td", {}, summary.map(([k, n]) => el("span", { class: "dec " + k, style: "margin-right:4px" }, decName(k) + " " + n)))));
      }
      if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, t("empty"))));
    };
    filter.oninput = draw; onlyImported.onchange = draw;
    body.append(el("div", { class: "panel" }, el("h3", {}, t("catalog")), el("p", { class: "muted" }, t("gv_catalog_intro")),
      el("div", { class: "toolbar" }, filter, el("label", { style: "display:inline" }, onlyImported, " " + t("gv_only_imported"))),
      el("div", { class: "gv-scroll" }, el("table", { id: "catalog" }, el("thead", {}, el("tr", {}, [t("name"), t("gv_owner"), t("grade"), t("sharing"), t("gv_columns"), t("gv_rows"), t("gv_my_access")].map((h) => el("th", {}, h)))), tbody))));
    draw();
  }

  async function importPage(body) {
    const dn = await depts();
    const name = el("input", { id: "imp-name", placeholder: "residents_2026", pattern: "[^\\s/.?#%]+" }), title = el("input", { id: "imp-title" });
    const owner = el("select", { id: "imp-owner" });
    Object.keys(deptCache || {}).forEach((c) => owner.append(el("option", { value: c, selected: c === myDept() }, dn(c))));
    if (S.me.role !== "admin") { owner.disabled = true; if (myDept()) owner.value = myDept(); }
    const sharing = el("select", { id: "imp-sharing" }, ["conditional", "unconditional", "none"].map((s) => el("option", { value: s }, sharingName(s))));
    const reason = el("input", { id: "imp-reason", placeholder: t("gv_reason_ph") });
    const file = el("input", { type: "file", id: "imp-file", accept: ".csv,text/csv" });
    const out = el("div", { id: "imp-result" }), err = el("div", { class: "error" });
    const submit = el("button", { type: "submit", id: "imp-submit" }, t("gv_import"));
    const form = el("form", { class: "panel gv-form", onsubmit: async (e) => {
      e.preventDefault(); err.textContent = ""; out.innerHTML = "";
      if (!file.files[0]) { err.textContent = t("gv_need_file"); return; }
      const fd = new FormData(); // fields first: the server reads them before the file
      fd.append("name", name.value.trim()); fd.append("title", title.value.trim()); if (owner.value) fd.append("owner", owner.value);
      fd.append("sharing", sharing.value); fd.append("sharing_reason", reason.value.trim()); fd.append("file", file.files[0]);
      submit.disabled = true;
      try {
        const r = await api("POST", "/api/v1/datasets", fd);
        out.append(el("div", { class: "panel" }, el("h3", {}, "✓ " + t("gv_imported", { n: r.rows, enc: r.encoding })),
          el("p", { class: "muted" }, t("gv_suggest_intro")),
          table([t("gv_column"), t("gv_pi"), t("gv_category"), t("grade"), t("gv_why")], (r.suggestions || []).map((s) => el("tr", {}, el("td", {}, s.column), el("td", {}, piName(s.pi_kind)), el("td", {}, catName(s.category)),
            el("td", {}, el("span", { class: "grade " + s.grade }, gradeName(s.grade))), el("td", { class: "muted" }, s.reason)))),
          el("p", {}, el("button", { id: "imp-accept", onclick: async () => { try { await api("PATCH", "/api/v1/datasets/" + encodeURIComponent(r.dataset.name), { accept_suggestions: true }); toast(t("saved")); location.hash = "#/governance/dataset/" + encodeURIComponent(r.dataset.name); } catch (ex) { toast(ex.message); } } }, t("gv_accept")),
            " ", el("a", { class: "gv-link", href: "#/governance/dataset/" + encodeURIComponent(r.dataset.name) }, t("gv_review_each")))));
      } catch (ex) { err.textContent = ex.message; } finally { submit.disabled = false; }
    } }, el("h3", {}, t("gv_tab_import")), el("p", { class: "muted" }, t("gv_import_intro")),
      el("div", { class: "form-row" }, el("div", {}, el("label", { for: "imp-name" }, t("gv_ds_name")), name), el("div", {}, el("label", { for: "imp-title" }, t("gv_title")), title)),
      el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("gv_owner")), owner), el("div", {}, el("label", {}, t("sharing")), sharing)),
      el("label", {}, t("gv_sharing_reason")), reason, el("label", {}, t("gv_csv_file")), file, el("p", {}, submit), err);
    body.append(el("div", { class: "gv-grid" }, form, out));
  }

  // ---- one dataset ----
  async function datasetPage(view, name, q) {
    const dn = await depts();
    const d = await api("GET", "/api/v1/datasets/" + encodeURIComponent(name));
    const owner = S.me.role === "admin" || (myDept() && d.owner === myDept() && ["dept", "operator"].includes(S.me.role));
    view.append(el("div", { class: "toolbar" }, el("a", { class: "gv-link", href: "#/governance" }, "← " + t("catalog")), el("b", { style: "font-size:18px" }, d.title || d.name), el("code", {}, d.name),
      el("span", { class: "grade " + d.grade, id: "ds-grade" }, gradeName(d.grade)), el("span", { class: "badge" }, sharingName(d.sharing)), el("span", { class: "muted" }, t("gv_owner") + ": " + dn(d.owner))));
    // Columns with class, grade and the caller's decision; owners edit them.
    const edits = {};
    const colRows = (d.columns || []).map((c) => {
      const dec = (d.decisions || {})[c.name];
      let gradeCell = el("span", { class: "grade " + c.grade }, gradeName(c.grade)), catCell = catName(c.category);
      if (owner && !d.platform) {
        const gs = el("select", { "data-col": c.name, class: "col-grade" }, GRADES.map((g) => el("option", { value: g, selected: g === c.grade }, gradeName(g))));
        const cs = el("select", { "data-col": c.name, class: "col-cat" }, CATS.map((x) => el("option", { value: x, selected: x === c.category }, catName(x))));
        gs.onchange = () => ((edits[c.name] = edits[c.name] || { name: c.name }).grade = gs.value);
        cs.onchange = () => ((edits[c.name] = edits[c.name] || { name: c.name }).category = cs.value);
        gradeCell = gs; catCell = cs;
      }
      return el("tr", {}, el("td", {}, c.label && c.label !== c.name ? c.label + " (" + c.name + ")" : c.name), el("td", {}, catCell), el("td", {}, gradeCell), el("td", {}, piName(c.pi_kind)),
        el("td", {}, c.confirmed ? "✓" : el("span", { class: "muted" }, t("gv_suggested"))), el("td", {}, el("span", { class: "dec " + (dec || "DENY") }, decName(dec))));
    });
    const colPanel = el("div", { class: "panel" }, el("h3", {}, t("gv_columns_title")),
      table([t("gv_column"), t("gv_category"), t("grade"), t("gv_pi"), t("gv_confirmed"), t("gv_my_access")], colRows, { id: "ds-columns" }));
    if (owner && !d.platform) {
      const sh = el("select", { id: "ds-sharing" }, ["unconditional", "conditional", "none"].map((s) => el("option", { value: s, selected: s === d.sharing }, sharingName(s))));
      const why = el("input", { id: "ds-sharing-reason", value: d.sharing_reason || "", style: "width:100%" });
      colPanel.append(el("div", { class: "form-row gv-form" }, el("div", {}, el("label", {}, t("sharing")), sh), el("div", {}, el("label", {}, t("gv_sharing_reason")), why)),
        el("p", { class: "toolbar" }, el("button", { id: "ds-save", onclick: async () => {
          try { await api("PATCH", "/api/v1/datasets/" + encodeURIComponent(d.name), { columns: Object.values(edits).map((x) => Object.assign(x, { confirmed: true })), sharing: sh.value, sharing_reason: why.value.trim() }); toast(t("saved")); CB.render(); } catch (e) { toast(e.message); } } }, t("save")),
        el("button", { class: "ghost", id: "ds-accept", onclick: async () => { try { await api("PATCH", "/api/v1/datasets/" + encodeURIComponent(d.name), { accept_suggestions: true }); toast(t("saved")); CB.render(); } catch (e) { toast(e.message); } } }, t("gv_accept"))));
    }
    view.append(colPanel);
    // Rows as the Guard lets the caller see them.
    if (!d.platform) {
      const purpose = el("input", { id: "ds-purpose", placeholder: t("gv_purpose_ph"), value: q.get("purpose") || "" });
      const cols = (d.columns || []).map((c) => c.name);
      const tbody = el("tbody"); let cursor = "";
      const more = el("button", { class: "ghost", hidden: true }, t("load_more"));
      const load = async (reset) => {
        if (reset) { tbody.innerHTML = ""; cursor = ""; }
        const r = await api("GET", "/api/v1/datasets/" + encodeURIComponent(d.name) + "/rows?limit=100" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "") + (purpose.value.trim() ? "&purpose=" + encodeURIComponent(purpose.value.trim()) : ""));
        for (const row of items(r)) tbody.append(el("tr", {}, cols.map((c) => el("td", {}, c in row ? String(row[c]) : el("span", { class: "muted", title: decName((d.decisions || {})[c]) }, "—")))));
        if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: cols.length, class: "muted" }, t("empty"))));
        cursor = r.next_cursor || ""; more.hidden = !cursor;
      };
      more.onclick = () => load(false);
      view.append(el("div", { class: "panel", style: "margin-top:10px" }, el("h3", {}, t("gv_rows_title")), el("p", { class: "muted" }, t("gv_rows_intro")),
        el("div", { class: "toolbar" }, t("gv_purpose"), purpose, el("button", { onclick: () => load(true) }, t("query"))),
        el("div", { class: "gv-scroll" }, el("table", { id: "ds-rows" }, el("thead", {}, el("tr", {}, (d.columns || []).map((c) => el("th", {}, c.label || c.name, " ", el("span", { class: "dec " + ((d.decisions || {})[c.name] || "DENY") }, decName((d.decisions || {})[c.name])))))), tbody)), more));
      try { await load(true); } catch (e) { tbody.append(el("tr", {}, el("td", { colspan: cols.length, class: "error" }, e.message))); }
      // Aggregates (k-suppressed).
      const gb = el("select", { id: "agg-group" }, cols.map((c) => el("option", { value: c }, c)));
      const aggOut = el("div");
      view.append(el("div", { class: "panel", style: "margin-top:10px" }, el("h3", {}, t("gv_aggregate")), el("p", { class: "muted" }, t("gv_aggregate_intro")),
        el("div", { class: "toolbar" }, t("gv_group_by"), gb, el("button", { class: "ghost", onclick: async () => {
          aggOut.innerHTML = "";
          try { const cells = await api("GET", "/api/v1/datasets/" + encodeURIComponent(d.name) + "/aggregate?group_by=" + encodeURIComponent(gb.value));
            aggOut.append(table([gb.value, t("gv_count")], (cells || []).map((c) => el("tr", {}, el("td", {}, c.suppressed ? t("gv_suppressed") : Object.values(c.group || c.groups || {}).join(" / ") || "—"), el("td", {}, c.suppressed ? "<" + (c.k || 10) : c.count))))); }
          catch (e) { aggOut.append(el("div", { class: "error" }, e.message)); } } }, t("query"))), aggOut));
    }
    // Request access (another department).
    if (canRequest() && !owner && d.owner !== myDept()) {
      const checks = el("div", { class: "gv-checks", id: "req-columns" }, (d.columns || []).map((c) => el("label", {}, el("input", { type: "checkbox", value: c.name, checked: (d.decisions || {})[c.name] !== "FULL" }), " " + (c.label || c.name))));
      const level = el("select", { id: "req-level" }, LEVELS.map((l) => el("option", { value: l }, decName(l))));
      const purpose = el("input", { id: "req-purpose", placeholder: t("gv_purpose_ph") }), days = el("input", { id: "req-days", type: "number", min: 1, max: 366, value: 30 });
      const err = el("div", { class: "error" });
      view.append(el("form", { class: "panel gv-form", id: "req-form", style: "margin-top:10px", onsubmit: async (e) => {
        e.preventDefault(); err.textContent = "";
        const columns = [...checks.querySelectorAll("input:checked")].map((x) => x.value);
        try { await api("POST", "/api/v1/sharing/requests", { dataset: d.name, columns, level: level.value, purpose: purpose.value.trim(), days: +days.value }); toast(t("gv_requested")); location.hash = "#/governance/requests"; }
        catch (ex) { err.textContent = ex.message; }
      } }, el("h3", {}, t("gv_request_title")), el("p", { class: "muted" }, t("gv_request_intro")), el("label", {}, t("gv_columns")), checks,
        el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("gv_level")), level), el("div", {}, el("label", {}, t("gv_days")), days)),
        el("label", {}, t("gv_purpose")), purpose, el("p", {}, el("button", { type: "submit", id: "req-submit" }, t("gv_request"))), err));
    }
  }

  // ---- sharing requests ----
  async function requests(body) {
    const dn = await depts();
    const [recv, sent] = await Promise.all([api("GET", "/api/v1/sharing/requests?box=owner").catch(() => []), api("GET", "/api/v1/sharing/requests?box=requester").catch(() => [])]);
    const reqRow = (r, mine) => {
      const box = el("div");
      const open = r.state === "pending" || r.state === "escalated";
      const acts = el("div", { class: "toolbar" });
      if (!mine && open && isManager()) {
        acts.append(el("button", { class: "req-approve", "data-req": r.id, onclick: () => { box.innerHTML = ""; box.append(approveForm(r)); } }, t("gv_approve")),
          el("button", { class: "ghost req-refuse", onclick: async () => { const why = prompt(t("gv_refuse_why")); if (!why) return; try { await api("POST", "/api/v1/sharing/requests/" + r.id + "/refuse", { reason: why }); toast(t("saved")); CB.render(); } catch (e) { toast(e.message); } } }, t("gv_refuse")),
          r.state === "pending" ? el("button", { class: "ghost", onclick: async () => { const why = prompt(t("gv_escalate_why")) || ""; try { await api("POST", "/api/v1/sharing/requests/" + r.id + "/escalate", { reason: why }); toast(t("saved")); CB.render(); } catch (e) { toast(e.message); } } }, t("gv_escalate")) : null);
      }
      if (mine && open) acts.append(el("button", { class: "ghost", onclick: async () => { try { await api("POST", "/api/v1/sharing/requests/" + r.id + "/withdraw", {}); CB.render(); } catch (e) { toast(e.message); } } }, t("gv_withdraw")));
      if (mine && r.state === "approved") acts.append(el("a", { class: "btn", href: "#/governance/dataset/" + encodeURIComponent(r.dataset) + "?purpose=" + encodeURIComponent(r.purpose) }, t("gv_read_through")));
      const overdue = open && r.answer_due && Date.parse(r.answer_due) < Date.now();
      return el("div", { class: "panel", style: "margin-bottom:8px", "data-request": r.id },
        el("div", { class: "toolbar" }, el("b", {}, "#" + r.id), el("a", { class: "gv-link", href: "#/governance/dataset/" + encodeURIComponent(r.dataset) }, r.dataset), el("span", { class: "badge " + (r.state === "approved" ? "ok" : r.state === "refused" ? "critical" : "pending") }, reqState(r.state)),
          overdue ? el("span", { class: "badge critical" }, t("wo_overdue")) : null),
        el("div", {}, (mine ? t("gv_to") + " " + dn(r.owner) : t("gv_from") + " " + dn(r.requester)) + " · " + decName(r.level) + " · " + t("gv_days_n", { n: r.days }) + " · " + t("gv_columns") + ": " + ((r.columns || []).join("、") || t("all"))),
        el("div", {}, t("gv_purpose") + ": " + r.purpose),
        el("div", { class: "muted" }, t("created") + " " + fmtTime(r.created_at) + " · " + t("gv_review_due") + " " + fmtTime(r.review_due) + " · " + t("gv_answer_due") + " " + fmtTime(r.answer_due) + (r.decided_at ? " · " + t("gv_decided") + " " + fmtTime(r.decided_at) : "")),
        r.reason ? el("div", {}, t("gv_reason") + ": " + r.reason) : null, r.escalation_note ? el("div", {}, t("gv_escalate") + ": " + r.escalation_note) : null, acts, box);
    };
    const approveForm = (r) => {
      const level = el("select", { class: "appr-level" }, LEVELS.slice(LEVELS.indexOf(r.level) < 0 ? 0 : LEVELS.indexOf(r.level)).map((l) => el("option", { value: l }, decName(l))));
      const checks = el("div", { class: "gv-checks" }, (r.columns || []).map((c) => el("label", {}, el("input", { type: "checkbox", value: c, checked: true }), " " + c)));
      const days = el("input", { type: "number", class: "appr-days", min: 1, max: r.days, value: r.days }), note = el("input", { class: "appr-note", placeholder: t("note") });
      return el("form", { class: "gv-form", style: "border:1px dashed var(--border);padding:8px;border-radius:6px", onsubmit: async (e) => {
        e.preventDefault();
        const columns = [...checks.querySelectorAll("input:checked")].map((x) => x.value);
        try { const res = await api("POST", "/api/v1/sharing/requests/" + r.id + "/approve", { level: level.value, columns: (r.columns || []).length ? columns : undefined, days: +days.value, note: note.value.trim() }); toast(t("gv_granted_until", { d: fmtTime(res.grant && res.grant.expires) })); CB.render(); }
        catch (ex) { toast(ex.message); }
      } }, el("p", { class: "muted" }, t("gv_narrower")), el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("gv_level")), level), el("div", {}, el("label", {}, t("gv_days")), days)),
        (r.columns || []).length ? [el("label", {}, t("gv_columns")), checks] : null, el("label", {}, t("note")), note, el("p", {}, el("button", { type: "submit", class: "appr-submit" }, t("gv_approve"))));
    };
    body.append(el("div", { class: "gv-grid" },
      el("div", { id: "inbox-owner" }, el("h3", {}, t("gv_inbox_owner") + " (" + recv.length + ")"), recv.length ? recv.map((r) => reqRow(r, false)) : el("div", { class: "panel muted" }, t("empty"))),
      el("div", { id: "inbox-requester" }, el("h3", {}, t("gv_inbox_requester") + " (" + sent.length + ")"), sent.length ? sent.map((r) => reqRow(r, true)) : el("div", { class: "panel muted" }, t("empty")),
        el("p", { class: "muted" }, t("gv_how_request")))));
  }

  async function grants(body) {
    const dn = await depts();
    const boxes = S.me.role === "admin" || S.me.role === "auditor" ? [["all", t("gv_grants_all")]] : [["requester", t("gv_grants_held")], ["owner", t("gv_grants_given")]];
    const grid = el("div", { class: "gv-grid" });
    body.append(grid);
    for (const [box, title] of boxes) {
      let list = [];
      try { list = await api("GET", "/api/v1/sharing/grants?box=" + box); } catch (e) { grid.append(el("div", { class: "panel error" }, e.message)); continue; }
      const now = Date.now();
      const rows = list.map((g) => {
        const active = !g.revoked && Date.parse(g.start) <= now && now < Date.parse(g.expires);
        const mayRevoke = active && (S.me.role === "admin" || (box === "owner" && isManager()));
        return el("tr", { "data-grant": g.id }, el("td", {}, "#" + g.id), el("td", {}, el("a", { class: "gv-link", href: "#/governance/dataset/" + encodeURIComponent(g.dataset) }, g.dataset)), el("td", {}, dn(g.grantee)),
          el("td", {}, el("span", { class: "dec " + g.level }, decName(g.level))), el("td", {}, (g.columns || []).join("、") || t("all")), el("td", {}, g.purpose || ""),
          el("td", {}, fmtTime(g.expires)), el("td", {}, g.revoked ? el("span", { class: "badge critical", title: g.revoke_reason || "" }, t("gv_revoked")) : active ? el("span", { class: "badge ok" }, t("gv_active")) : el("span", { class: "badge" }, t("gv_expired"))),
          el("td", {}, mayRevoke ? el("button", { class: "ghost danger", onclick: async () => { const why = prompt(t("gv_revoke_why")); if (!why) return; try { await api("POST", "/api/v1/sharing/grants/" + g.id + "/revoke", { reason: why }); toast(t("saved")); CB.render(); } catch (e) { toast(e.message); } } }, t("gv_revoke")) : null));
      });
      grid.append(el("div", { class: "panel" }, el("h3", {}, title + " (" + list.length + ")"), table(["#", t("gv_dataset"), t("gv_grantee"), t("gv_level"), t("gv_columns"), t("gv_purpose"), t("gv_expires"), t("status"), t("actions")], rows)));
    }
  }

  async function consent(body) {
    const hh = el("input", { id: "consent-household", placeholder: t("gv_household_ph") }), purpose = el("input", { id: "consent-purpose", placeholder: t("gv_consent_purpose_ph") });
    const status = el("select", { id: "consent-status" }, el("option", { value: "granted" }, t("gv_consent_granted")), el("option", { value: "withdrawn" }, t("gv_consent_withdrawn")));
    const note = el("input", { id: "consent-note" });
    const hist = el("div", { id: "consent-history" });
    const show = async () => {
      hist.innerHTML = "";
      if (!hh.value.trim()) return;
      try { const list = await api("GET", "/api/v1/consent/" + encodeURIComponent(hh.value.trim()));
        hist.append(table([t("time"), t("gv_purpose"), t("status"), t("note")], (list || []).slice().reverse().map((c) => el("tr", {}, el("td", {}, fmtTime(c.at)), el("td", {}, c.purpose), el("td", {}, el("span", { class: "badge " + (c.status === "granted" ? "ok" : "critical") }, t("gv_consent_" + c.status))), el("td", {}, c.note || ""))))); }
      catch (e) { hist.append(el("div", { class: "error" }, e.message)); }
    };
    const err = el("div", { class: "error" });
    body.append(el("div", { class: "gv-grid" }, el("form", { class: "panel gv-form", onsubmit: async (e) => {
      e.preventDefault(); err.textContent = "";
      try { await api("POST", "/api/v1/consent", { household: hh.value.trim(), purpose: purpose.value.trim(), status: status.value, note: note.value.trim() }); toast(t("saved")); show(); } catch (ex) { err.textContent = ex.message; }
    } }, el("h3", {}, t("gv_tab_consent")), el("p", { class: "muted" }, t("gv_consent_intro")), el("label", {}, t("gv_household")), hh, el("label", {}, t("gv_purpose")), purpose,
      el("label", {}, t("status")), status, el("label", {}, t("note")), note, el("p", { class: "toolbar" }, el("button", { type: "submit", id: "consent-save" }, t("save")), el("button", { type: "button", class: "ghost", onclick: show }, t("history"))), err),
    el("div", { class: "panel" }, el("h3", {}, t("history")), hist)));
  }

  async function stats(body) {
    const dn = await depts();
    const list = await api("GET", "/api/v1/sharing/stats");
    const pct = (x) => (x * 100).toFixed(0) + "%";
    body.append(el("div", { class: "panel" }, el("h3", {}, t("gv_tab_stats")), el("p", { class: "muted" }, t("gv_stats_intro")),
      table([t("dept"), t("gv_received"), t("gv_approved"), t("gv_refused"), t("gv_pending"), t("gv_escalated"), t("gv_overdue"), t("gv_avg_hours"), t("gv_share_rate"), t("gv_ontime"), t("gv_sent")],
        (list || []).map((s) => el("tr", {}, el("td", {}, dn(s.department)), el("td", {}, s.received), el("td", {}, s.approved), el("td", {}, s.refused), el("td", {}, s.pending), el("td", {}, s.escalated), el("td", {}, s.overdue),
          el("td", {}, s.avg_response_hours ? s.avg_response_hours.toFixed(1) : "—"), el("td", {}, pct(s.sharing_rate)), el("td", {}, pct(s.on_time_rate)), el("td", {}, s.sent))))));
  }

  // ---- #/audit ----
  const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hex = (u) => [...u].map((x) => x.toString(16).padStart(2, "0")).join("");
  async function sha(...parts) { const n = parts.reduce((a, p) => a + p.length, 0), buf = new Uint8Array(n); let o = 0; for (const p of parts) { buf.set(p, o); o += p.length; } return new Uint8Array(await crypto.subtle.digest("SHA-256", buf)); }
  // verifyInclusion checks an RFC 6962 audit path (RFC 9162 §2.1.3.2) from the entry's bytes to the root.
  async function verifyInclusion(p) {
    if (!window.crypto || !crypto.subtle) return null;
    const leaf = await sha(new Uint8Array([0]), new TextEncoder().encode(p.data));
    if (hex(leaf) !== hex(b64(p.leaf_hash))) return false;
    let fn = p.seq, sn = p.tree_size - 1, r = leaf;
    for (const h of p.proof || []) {
      if (sn === 0) return false;
      const x = b64(h);
      if (fn % 2 === 1 || fn === sn) { r = await sha(new Uint8Array([1]), x, r); while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      else r = await sha(new Uint8Array([1]), r, x);
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 && hex(r) === hex(b64(p.root));
  }
  routes.audit = async (view, parts, q) => {
    const f = { username: el("input", { id: "au-user", value: q.get("username") || "" }), action: el("select", { id: "au-action" }, ["", "read", "mask", "deny", "change", "export", "login"].map((a) => el("option", { value: a, selected: a === (q.get("action") || "") }, a ? tf("au_act_" + a, a) : t("all")))),
      dataset: el("input", { id: "au-dataset", value: q.get("dataset") || "" }), from: el("input", { type: "datetime-local", id: "au-from" }), to: el("input", { type: "datetime-local", id: "au-to" }) };
    const qs = () => { const p = new URLSearchParams(); if (f.username.value.trim()) p.set("username", f.username.value.trim()); if (f.action.value) p.set("action", f.action.value); if (f.dataset.value.trim()) p.set("dataset", f.dataset.value.trim());
      if (f.from.value) p.set("from", new Date(f.from.value).toISOString()); if (f.to.value) p.set("to", new Date(f.to.value).toISOString()); return p; };
    const tbody = el("tbody"); let cursor = "";
    const more = el("button", { class: "ghost", hidden: true }, t("load_more"));
    const detail = el("div", { id: "au-detail" });
    const cp = el("div", { id: "au-checkpoint" });
    const showEntry = async (e) => {
      detail.innerHTML = "";
      const proofBox = el("div", { id: "au-proof" });
      detail.append(el("div", { class: "panel" }, el("h3", {}, t("au_entry") + " #" + e.seq),
        el("dl", { class: "wo-kv" }, [[t("time"), fmtTime(e.time)], [t("au_actor"), [e.actor.username, e.actor.role, e.actor.dept, e.actor.area].filter(Boolean).join(" · ")], [t("actions"), tf("au_act_" + e.action, e.action)],
          [t("gv_dataset"), [e.object.dataset, e.object.table].filter(Boolean).join(" / ")], [t("gv_columns"), (e.object.columns || []).join("、")], [t("au_rows"), (e.object.rows || []).join(", ") + (e.object.row_count ? " (" + e.object.row_count + ")" : "")],
          [t("au_decision"), e.decision ? el("span", { class: "dec " + e.decision }, decName(e.decision)) : ""], [t("gv_purpose"), e.purpose || ""]].filter((x) => x[1] !== "").flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        e.detail ? el("pre", {}, Object.entries(e.detail).map(([k, v]) => k + ": " + v).join("\n")) : null,
        el("p", {}, el("button", { id: "au-prove", onclick: async () => {
          proofBox.innerHTML = "";
          try {
            const p = await api("GET", "/api/v1/audit/entries/" + e.seq + "/proof");
            const ok = await verifyInclusion(p);
            proofBox.append(el("div", { class: ok ? "ok-text" : ok === false ? "bad-text" : "muted", id: "au-proof-result" }, ok ? "✓ " + t("au_proof_ok", { n: p.tree_size }) : ok === false ? "✗ " + t("au_proof_bad") : t("au_proof_unchecked")),
              el("dl", { class: "wo-kv gv-hash" }, [[t("au_leaf"), p.leaf_hash], [t("au_tree_size"), p.tree_size], [t("au_root"), p.root], [t("au_path"), (p.proof || []).join("\n")]].flatMap(([k, v]) => [el("dt", {}, k), el("dd", { style: "white-space:pre-wrap" }, String(v))])),
              el("details", {}, el("summary", {}, t("au_checkpoint_note")), el("pre", { class: "gv-hash" }, p.checkpoint)), el("details", {}, el("summary", {}, t("au_canonical")), el("pre", { class: "gv-hash" }, p.data)));
          } catch (ex) { proofBox.append(el("div", { class: "error" }, ex.status === 404 || ex.status === 409 ? t("au_not_yet") + " (" + ex.message + ")" : ex.message)); }
        } }, t("au_prove"))), proofBox));
    };
    const load = async (reset) => {
      if (reset) { tbody.innerHTML = ""; cursor = ""; }
      const p = qs(); p.set("limit", "100"); if (cursor) p.set("cursor", cursor);
      const r = await api("GET", "/api/v1/audit/entries?" + p.toString());
      for (const e of items(r)) tbody.append(el("tr", { "data-seq": e.seq, style: "cursor:pointer", onclick: () => showEntry(e) }, el("td", {}, e.seq), el("td", {}, fmtTime(e.time)),
        el("td", {}, (e.actor && e.actor.username) || t("role_system"), e.actor && e.actor.role ? el("div", { class: "muted" }, t("role_" + e.actor.role)) : null), el("td", {}, tf("au_act_" + e.action, e.action)),
        el("td", {}, [e.object.dataset, e.object.table].filter(Boolean).join(" / "), e.object.columns && e.object.columns.length ? el("div", { class: "muted" }, e.object.columns.slice(0, 6).join("、") + (e.object.columns.length > 6 ? "…" : "")) : null),
        el("td", {}, e.object.row_count || (e.object.rows || []).length || ""), el("td", {}, e.decision ? el("span", { class: "dec " + e.decision }, decName(e.decision)) : ""), el("td", {}, e.purpose || "")));
      if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, t("empty"))));
      cursor = r.next_cursor || ""; more.hidden = !cursor;
    };
    more.onclick = () => load(false);
    const search = () => load(true).catch((e) => { tbody.innerHTML = ""; tbody.append(el("tr", {}, el("td", { colspan: 8, class: "error" }, e.status === 403 ? t("au_auditors_only") : e.message))); });
    const exportLink = el("a", { class: "btn", id: "au-export", href: "#", onclick: (ev) => { ev.preventDefault(); const a = el("a", { href: "/api/v1/audit/export?" + qs().toString(), download: "" }); document.body.append(a); a.click(); a.remove(); } }, t("export") + " CSV");
    view.append(el("div", { class: "panel", id: "au-search" }, el("h3", {}, t("audit_log")), el("p", { class: "muted" }, t("au_intro")),
      el("div", { class: "toolbar" }, t("username"), f.username, t("actions"), f.action, t("gv_dataset"), f.dataset, t("au_from"), f.from, t("au_to"), f.to,
        el("button", { id: "au-go", onclick: search }, t("query")), exportLink)),
      el("div", { class: "gv-grid", style: "margin-top:10px;grid-template-columns:minmax(0,3fr) minmax(0,2fr)" },
        el("div", { class: "panel" }, el("div", { class: "gv-scroll" }, el("table", { id: "au-table" }, el("thead", {}, el("tr", {}, ["#", t("time"), t("au_actor"), t("actions"), t("gv_dataset"), t("au_rows"), t("au_decision"), t("gv_purpose")].map((h) => el("th", {}, h)))), tbody)), more),
        el("div", {}, cp, el("div", { style: "margin-top:10px" }, detail))));
    try {
      const c = await api("GET", "/api/v1/audit/checkpoint");
      cp.append(el("div", { class: "panel" }, el("h3", {}, t("au_checkpoint")), el("dl", { class: "wo-kv gv-hash" }, [[t("au_tree_size"), c.size], [t("au_root"), c.root], [t("time"), fmtTime(c.time)], [t("au_key"), c.verifier_key]].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])),
        el("details", {}, el("summary", {}, t("au_checkpoint_note")), el("pre", { class: "gv-hash" }, c.note)), el("p", { class: "muted" }, t("au_verify_cli"))));
    } catch (e) { cp.append(el("div", { class: "panel muted" }, t("au_checkpoint") + ": " + e.message)); }
    await search();
    if (/^\d+$/.test(q.get("seq") || "")) { try { showEntry(await api("GET", "/api/v1/audit/entries/" + q.get("seq"))); } catch (e) { detail.append(el("div", { class: "panel error" }, e.message)); } }
  };
})();
