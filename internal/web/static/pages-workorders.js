// pages-workorders: the work-order pages (issue 6). Citizens report (#/report) and follow and
// rate their case without an account (#/track); staff work in #/workorders: triage queue
// (operator), inbox by deadline (department), on-site verification (grid worker, phone
// layout), overview with overdue and escalated orders and the daily brief (leaders), and
// one order's page with its full history and only the moves the caller may make (the API
// answers them per order). Every string goes through CB.t.
(function () {
  "use strict";
  const { routes, api, el, t, fmtTime, toast, chart, items, S } = window.CB;

  document.head.append(el("style", {}, `
.wo-tabs { display:flex; gap:6px; flex-wrap:wrap; margin-bottom:10px; }
.wo-tabs a { padding:6px 12px; border-radius:16px; background:var(--panel2); color:var(--muted); text-decoration:none; }
.wo-tabs a.active { background:var(--accent); color:#fff; }
.wo-cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(320px, 1fr)); gap:10px; }
.wo-card { background:var(--panel); border:1px solid var(--border); border-radius:6px; padding:10px 12px; display:flex; flex-direction:column; gap:6px; }
.wo-card.overdue { border-color:var(--crit); }
.wo-card .top { display:flex; justify-content:space-between; gap:8px; align-items:center; flex-wrap:wrap; }
.wo-card .desc { overflow:hidden; display:-webkit-box; -webkit-line-clamp:3; -webkit-box-orient:vertical; }
.wo-card a, .wo-link { color:var(--accent); text-decoration:none; font-weight:600; }
.wo-card a.btn, a.btn { color:#fff; text-decoration:none; display:inline-block; }
.wo-kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 12px; }
.wo-kv dt { color:var(--muted); } .wo-kv dd { margin:0; word-break:break-word; }
.wo-detail { display:grid; grid-template-columns:minmax(0,1.3fr) minmax(0,1fr); gap:10px; align-items:start; }
.wo-timeline { list-style:none; margin:0; padding:0 0 0 14px; border-left:2px solid var(--border); }
.wo-timeline li { position:relative; margin:0 0 12px; padding-left:8px; }
.wo-timeline li::before { content:""; position:absolute; left:-21px; top:4px; width:10px; height:10px; border-radius:50%; background:var(--accent); }
.wo-timeline .who { color:var(--muted); font-size:12px; }
.wo-actions { display:flex; gap:8px; flex-wrap:wrap; }
.wo-actions button { min-height:40px; }
.wo-form { margin-top:10px; padding:10px; border:1px dashed var(--border); border-radius:6px; }
.wo-form input:not([type=checkbox]):not([type=file]), .wo-form select, .wo-card select, .wo-card input:not([type=checkbox]) { width:100%; max-width:100%; }
.form-row > div { min-width:0; }
.wo-steps { display:flex; flex-wrap:wrap; gap:4px; margin:8px 0; }
.wo-steps span { padding:4px 10px; border-radius:12px; background:var(--panel2); color:var(--muted); font-size:12px; }
.wo-steps span.done { background:#1d4e2c; color:#cfe; } .wo-steps span.now { background:var(--accent); color:#fff; }
.wo-chips span { display:inline-block; margin:2px 4px 2px 0; padding:1px 8px; border-radius:10px; background:#20406a; font-size:12px; }
.wo-photos { display:flex; gap:6px; flex-wrap:wrap; } .wo-photos img { max-width:160px; max-height:120px; border-radius:4px; border:1px solid var(--border); }
.wo-big { font-size:20px; font-weight:700; letter-spacing:1px; }
.wo-stars button { font-size:22px; padding:2px 8px; background:transparent; color:#667; border:0; }
.wo-stars button.on { color:#ffc53d; }
.wo-narrow { max-width:760px; margin:0 auto; }
.badge.overdue { background:var(--crit); } .badge.escalated { background:#c41d7f; } .badge.reminded { background:var(--warn); color:#111; }
.report-form input, .report-form select, .wo-narrow input:not([type=checkbox]):not([type=file]), .wo-narrow select { width:100%; }
@media (max-width: 900px) { .wo-detail { grid-template-columns:1fr; } .wo-cards { grid-template-columns:1fr; } main { padding:8px; }
  .wo-actions button { flex:1 1 40%; min-height:48px; font-size:16px; } }
`));

  // ---- reference data (cached for the page's life) ----
  const ref = {};
  const once = (k, f) => (ref[k] = ref[k] || f().catch((e) => { delete ref[k]; throw e; }));
  const lifecycle = () => once("lc", () => api("GET", "/api/v1/workorder-config/lifecycle", undefined, { noRedirect: true }));
  const dictionary = () => once("dict", () => api("GET", "/api/v1/workorder-config/categories", undefined, { noRedirect: true }));
  const streetLayer = () => once("streets", () => api("GET", "/api/v1/areas/geojson?level=street", undefined, { noRedirect: true }));
  const zh = () => S.lang === "zh";
  async function names() {
    const out = { cat: {}, dept: {}, state: {}, act: {}, street: {} };
    try { const d = await dictionary(); d.categories.forEach((c) => (out.cat[c.code] = zh() ? c.name_zh : c.name_en)); d.departments.forEach((x) => (out.dept[x.code] = zh() ? x.name_zh : x.name_en)); } catch (e) {}
    try { const l = await lifecycle(); l.states.forEach((s) => (out.state[s.state] = zh() ? s.name_zh : s.name_en)); l.transitions.forEach((x) => { if (!out.act[x.action]) out.act[x.action] = x.name_zh; }); } catch (e) {}
    try { const g = await streetLayer(); g.features.forEach((f) => (out.street[f.properties.code] = zh() ? f.properties.name_zh : f.properties.name_en)); } catch (e) {}
    out.catName = (c) => (c ? out.cat[c] || c : "—");
    out.deptName = (c) => (c ? out.dept[c] || c : "—");
    out.stateName = (s) => out.state[s] || s;
    out.actName = (a) => (zh() ? out.act[a] || t("act_" + a) : t("act_" + a));
    out.streetName = (c) => (c ? out.street[c] || c : "");
    return out;
  }
  const prioName = (p) => t("prio_" + (p || "normal"));
  const tf = (k, fallback) => { const s = t(k); return s === k ? fallback : s; };
  // Deadline text: remaining or overdue time.
  function dueText(o) {
    if (!o.deadline) return "";
    const ms = Date.parse(o.deadline) - Date.now();
    const h = Math.abs(ms) / 3600e3;
    const span = h >= 48 ? t("wo_days", { n: (h / 24).toFixed(1) }) : t("wo_hours", { n: h.toFixed(1) });
    return ms < 0 ? t("wo_overdue_by", { d: span }) : t("wo_left", { d: span });
  }
  const isOverdue = (o) => o.deadline && !o.responded_at && ["closed", "rated"].indexOf(o.state) < 0 && Date.parse(o.deadline) < Date.now();
  function flags(o) {
    return [isOverdue(o) ? el("span", { class: "badge overdue" }, t("wo_overdue")) : null, o.escalated ? el("span", { class: "badge escalated" }, t("act_escalate")) : null,
      o.reminded && !o.escalated ? el("span", { class: "badge reminded" }, t("act_remind")) : null, o.extension_pending ? el("span", { class: "badge pending" }, t("wo_ext_pending")) : null];
  }
  // A photo reference: a path on this server or an http(s) URL is shown; anything else was masked by the governance decision.
  function photos(list) {
    const box = el("div", { class: "wo-photos" });
    for (const m of list || []) {
      if (/^\/api\/v1\/workorder-media\/[A-Za-z0-9_-]+$/.test(m) || /^https?:\/\//.test(m)) box.append(el("a", { href: m, target: "_blank", rel: "noopener" }, el("img", { src: m, alt: t("photo"), loading: "lazy" })));
      else box.append(el("span", { class: "badge" }, t("wo_photo_masked")));
    }
    return box;
  }
  // Re-encodes a photo as a JPEG of at most 1600 px (smaller uploads on phones, and no EXIF location).
  async function shrink(file) {
    const url = URL.createObjectURL(file);
    try {
      const img = await new Promise((res, rej) => { const i = new Image(); i.onload = () => res(i); i.onerror = () => rej(new Error(t("wo_photo_bad"))); i.src = url; });
      const scale = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
      const c = document.createElement("canvas");
      c.width = Math.max(1, Math.round(img.naturalWidth * scale)); c.height = Math.max(1, Math.round(img.naturalHeight * scale));
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      return await new Promise((res) => c.toBlob(res, "image/jpeg", 0.82));
    } finally { URL.revokeObjectURL(url); }
  }
  // Uploads up to 3 photos and returns their references for media or attachments.
  async function readPhotos(input) {
    const out = [];
    for (const f of [...(input.files || [])].slice(0, 3)) {
      const fd = new FormData();
      fd.append("file", await shrink(f), "photo.jpg");
      out.push((await api("POST", "/api/v1/workorder-media", fd, { noRedirect: true })).url);
    }
    return out;
  }
  // Point in the street polygons (ray casting) → the street feature containing [lon, lat].
  function locate(gj, p) {
    const inRing = (ring) => { let c = false; for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) { const [xi, yi] = ring[i], [xj, yj] = ring[j]; if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) c = !c; } return c; };
    for (const f of gj.features || []) {
      const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
      for (const poly of polys) if (inRing(poly[0]) && !poly.slice(1).some(inRing)) return f;
    }
    return null;
  }
  const kv = (pairs) => el("dl", { class: "wo-kv" }, pairs.filter((p) => p[1] !== undefined && p[1] !== null && p[1] !== "").flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));

  // ---- citizens: report ----
  routes.report = async (view) => {
    const N = await names();
    let dict = { categories: [] };
    try { dict = await dictionary(); } catch (e) {}
    const cat = el("select", { id: "report-category" }, el("option", { value: "" }, t("wo_cat_auto")),
      dict.categories.filter((c) => !c.parent).map((c) => el("option", { value: c.code }, zh() ? c.name_zh : c.name_en)));
    const desc = el("textarea", { id: "report-description", placeholder: t("description_ph"), maxlength: 2000, required: true });
    const addr = el("input", { id: "report-address", placeholder: t("wo_addr_ph") });
    const name = el("input", { id: "report-name", autocomplete: "name" }), phone = el("input", { id: "report-phone", type: "tel", autocomplete: "tel" });
    const photo = el("input", { type: "file", accept: "image/*", id: "report-photo", multiple: true, capture: "environment" });
    const mapNode = el("div", { id: "report-map", style: "height:320px" });
    const pinText = el("div", { id: "report-pin", class: "muted" }, t("pin_hint"));
    const out = el("div", { id: "report-result" });
    const err = el("div", { class: "error", id: "report-error" });
    const submit = el("button", { type: "submit", id: "report-submit" }, t("submit"));
    let pin = null;
    const form = el("form", { class: "panel report-form", onsubmit: async (e) => {
      e.preventDefault(); err.textContent = "";
      if (!desc.value.trim()) { err.textContent = t("wo_need_desc"); return; }
      if (!pin && !addr.value.trim()) { err.textContent = t("wo_need_place"); return; }
      submit.disabled = true;
      try {
        const body = { description: desc.value.trim(), address: addr.value.trim(), name: name.value.trim(), phone: phone.value.trim() };
        if (cat.value) body.category = cat.value;
        if (pin) { body.lon = pin[0]; body.lat = pin[1]; }
        const media = await readPhotos(photo);
        if (media.length) body.media = media;
        const r = await api("POST", "/api/v1/reports", body, { noRedirect: true });
        const mine = JSON.parse(localStorage.getItem("myReports") || "[]"); mine.unshift({ no: r.tracking_no, token: r.token, at: Date.now() }); localStorage.setItem("myReports", JSON.stringify(mine.slice(0, 20)));
        const link = "#/track?no=" + encodeURIComponent(r.tracking_no) + "&token=" + encodeURIComponent(r.token);
        form.hidden = true;
        out.append(el("div", { class: "panel wo-narrow" }, el("h3", {}, "✓ " + t("report_ok")),
          kv([[t("tracking"), el("span", { class: "wo-big", id: "tracking-no" }, r.tracking_no)], [t("track_token"), el("code", { class: "wo-big", id: "tracking-token" }, r.token)],
            [t("wo_category_assigned"), N.catName(r.category)], [t("dept"), r.lead_dept ? N.deptName(r.lead_dept) : t("wo_waiting_triage")], [t("street"), N.streetName(r.street)],
            [t("deadline"), r.deadline ? fmtTime(r.deadline) : ""], [t("wo_dups"), (r.possible_duplicates || []).join(", ")]]),
          el("p", { class: "muted" }, t("wo_keep_token")),
          el("p", {}, el("a", { class: "btn", id: "track-link", href: link }, t("wo_follow")), " ", el("button", { class: "ghost", type: "button", onclick: () => CB.render() }, t("wo_report_another")))));
      } catch (ex) { err.textContent = ex.message; } finally { submit.disabled = false; }
    } }, el("h3", {}, t("nav_report")), el("p", { class: "muted" }, t("wo_report_intro")),
      el("label", { for: "report-category" }, t("category")), cat,
      el("label", { for: "report-description" }, t("description")), desc,
      el("label", {}, t("wo_place")), mapNode, pinText,
      el("label", { for: "report-address" }, t("address")), addr,
      el("div", { class: "form-row" }, el("div", {}, el("label", { for: "report-name" }, t("wo_your_name")), name), el("div", {}, el("label", { for: "report-phone" }, t("contact")), phone)),
      el("label", { for: "report-photo" }, t("photo")), photo,
      el("p", {}, submit), err);
    view.append(el("div", { class: "wo-narrow" }, form, out));
    const c = chart(mapNode);
    if (!c) return;
    let gj;
    try { gj = JSON.parse(JSON.stringify(await streetLayer())); } catch (e) { mapNode.append(el("div", { class: "muted" }, t("unavailable"))); return; }
    gj.features.forEach((f) => (f.properties.name = f.properties.code));
    echarts.registerMap("report-streets", gj);
    const label = {}; gj.features.forEach((f) => (label[f.properties.code] = zh() ? f.properties.name_zh : f.properties.name_en));
    const draw = () => c.setOption({ backgroundColor: "transparent",
      geo: { map: "report-streets", roam: true, itemStyle: { areaColor: "#15335a", borderColor: "#4b8bd6" }, emphasis: { itemStyle: { areaColor: "#1f4f86" }, label: { show: false } },
        label: { show: true, color: "#9cc2ee", fontSize: 10, formatter: (p) => label[p.name] || "" } },
      series: [{ type: "scatter", coordinateSystem: "geo", symbol: "pin", symbolSize: 34, itemStyle: { color: "#ff4d4f" }, data: pin ? [pin] : [] }] });
    draw();
    c.getZr().on("click", (ev) => {
      const p = c.convertFromPixel({ geoIndex: 0 }, [ev.offsetX, ev.offsetY]);
      if (!p) return;
      pin = [+p[0].toFixed(6), +p[1].toFixed(6)]; draw();
      const f = locate(gj, pin);
      pinText.textContent = t("wo_pinned") + " " + (f ? label[f.properties.code] + " · " : t("wo_outside") + " · ") + pin[0] + ", " + pin[1];
    });
  };

  // ---- citizens: track and rate ----
  const STEPS = ["accepted", "dispatched", "acknowledged", "in_progress", "responded", "verified", "closed", "rated"];
  routes.track = async (view, parts, q) => {
    const N = await names();
    const no = el("input", { id: "track-no", value: q.get("no") || parts[0] || "", inputmode: "numeric" }), tok = el("input", { id: "track-token", value: q.get("token") || "" });
    const out = el("div", { id: "track-result" });
    const look = async () => {
      out.innerHTML = "";
      if (!no.value.trim() || !tok.value.trim()) { out.append(el("div", { class: "error" }, t("wo_need_no"))); return; }
      let o;
      try { o = await api("GET", "/api/v1/track/" + encodeURIComponent(no.value.trim()) + "?token=" + encodeURIComponent(tok.value.trim()), undefined, { noRedirect: true }); }
      catch (e) { out.append(el("div", { class: "error", id: "track-error" }, e.status === 404 || e.status === 403 ? t("wo_not_found") : e.message)); return; }
      const cur = STEPS.indexOf(o.state === "triage" ? "accepted" : o.state === "returned" ? "dispatched" : o.state);
      const steps = el("div", { class: "wo-steps" }, STEPS.map((s, i) => el("span", { class: i < cur ? "done" : i === cur ? "now" : "" }, N.stateName(s))));
      const hist = el("ol", { class: "wo-timeline", id: "track-history" }, (o.history || []).slice().reverse().map((ev) => el("li", {},
        el("div", {}, el("b", {}, N.actName(ev.action)), ev.to && ev.to !== ev.from ? " → " + N.stateName(ev.to) : ""),
        el("div", { class: "who" }, fmtTime(ev.at) + (ev.actor_dept ? " · " + N.deptName(ev.actor_dept) : "")), ev.reason ? el("div", {}, ev.reason) : null)));
      out.append(el("div", { class: "panel" },
        el("div", { class: "toolbar" }, el("span", { class: "wo-big", id: "track-state" }, N.stateName(o.state)), el("span", { class: "badge " + (o.status === "open" ? "pending" : "ok") }, t("wo_status_" + o.status))),
        steps,
        kv([[t("tracking"), o.tracking_no], [t("category"), N.catName(o.category)], [t("dept"), o.lead_dept], [t("created"), fmtTime(o.created_at)],
          [t("deadline"), o.deadline ? fmtTime(o.deadline) : ""], [t("address"), o.address], [t("description"), o.description], [t("wo_latest_note"), o.status_notes],
          [t("rate"), o.rating ? el("span", { id: "track-rating" }, "★".repeat(o.rating) + "☆".repeat(5 - o.rating)) : ""]])),
        el("div", { class: "panel", style: "margin-top:10px" }, el("h3", {}, t("history")), hist));
      const post = async (what, body) => {
        try { await api("POST", "/api/v1/track/" + encodeURIComponent(o.tracking_no) + "/" + what, Object.assign({ token: tok.value.trim() }, body), { noRedirect: true }); toast(t("saved")); look(); }
        catch (e) { toast(e.message); }
      };
      if (o.can_rate) {
        let stars = 5, sat = true;
        const starBox = el("div", { class: "wo-stars" });
        const drawStars = () => { starBox.innerHTML = ""; for (let i = 1; i <= 5; i++) starBox.append(el("button", { type: "button", id: "rate-" + i, class: i <= stars ? "on" : "", "aria-label": String(i), onclick: () => { stars = i; drawStars(); } }, "★")); };
        drawStars();
        const satSel = el("select", { id: "rate-satisfied", onchange: () => (sat = satSel.value === "1") }, el("option", { value: "1" }, t("satisfied")), el("option", { value: "0" }, t("unsatisfied")));
        const comment = el("textarea", { id: "rate-comment", placeholder: t("wo_comment_ph"), maxlength: 500 });
        out.append(el("div", { class: "panel", style: "margin-top:10px" }, el("h3", {}, t("wo_rate_title")), starBox, el("label", {}, t("wo_satisfied_q")), satSel, el("label", {}, t("note")), comment,
          el("p", {}, el("button", { id: "rate-submit", onclick: () => post("rate", { rating: stars, satisfied: sat, reason: comment.value.trim() }) }, t("rate")))));
      }
      const extra = el("div", { class: "toolbar", style: "margin-top:10px" });
      if (o.can_reopen) extra.append(el("button", { class: "ghost", id: "track-reopen", onclick: () => { const r = prompt(t("wo_reopen_why")); if (r) post("reopen", { reason: r, satisfied: false }); } }, t("act_reopen")));
      if (o.status === "open") extra.append(el("button", { class: "ghost", id: "track-note", onclick: () => { const r = prompt(t("wo_note_ph")); if (r) post("note", { reason: r }); } }, t("wo_add_info")));
      if (o.state === "accepted" || o.state === "triage") extra.append(el("button", { class: "ghost danger", onclick: () => { const r = prompt(t("wo_cancel_why")); if (r) post("cancel", { reason: r }); } }, t("wo_withdraw")));
      if (extra.children.length) out.append(extra);
    };
    const mine = JSON.parse(localStorage.getItem("myReports") || "[]");
    const mineBox = mine.length ? el("div", { class: "muted" }, t("wo_my_reports") + ": ", mine.slice(0, 5).map((m) => el("a", { class: "wo-link", style: "margin-right:8px;cursor:pointer", onclick: () => { no.value = m.no; tok.value = m.token; look(); } }, m.no))) : null;
    view.append(el("div", { class: "wo-narrow" }, el("form", { class: "panel", onsubmit: (e) => { e.preventDefault(); look(); } }, el("h3", {}, t("nav_track")),
      el("div", { class: "form-row" }, el("div", {}, el("label", { for: "track-no" }, t("tracking")), no), el("div", {}, el("label", { for: "track-token" }, t("track_token")), tok)),
      el("p", {}, el("button", { type: "submit", id: "track-go" }, t("query"))), mineBox), out));
    // A signed-in citizen also sees the cases filed under the account.
    if (S.me && S.me.role === "citizen") {
      try {
        const mineR = items(await api("GET", "/api/v1/workorders?limit=50"));
        if (mineR.length) view.append(el("div", { class: "wo-narrow", style: "margin-top:10px" }, el("h3", {}, t("wo_my_reports")), cards(mineR, N)));
      } catch (e) {}
    }
    if (no.value && tok.value) await look();
  };

  // ---- staff: lists ----
  function card(o, N, extra) {
    return el("div", { class: "wo-card" + (isOverdue(o) ? " overdue" : ""), "data-order": o.id },
      el("div", { class: "top" }, el("a", { href: "#/workorders/" + o.id }, o.tracking_no || "#" + o.id), el("span", {}, el("span", { class: "badge" }, N.stateName(o.state)), " ", flags(o))),
      el("div", {}, el("b", {}, N.catName(o.category)), " · ", prioName(o.priority), o.street ? " · " + N.streetName(o.street) : ""),
      el("div", { class: "desc" }, o.description || o.title || ""),
      el("div", { class: "muted" }, t("dept") + ": " + N.deptName(o.lead_dept) + (o.deadline ? " · " + t("deadline") + " " + fmtTime(o.deadline) + " (" + dueText(o) + ")" : "")),
      extra || null);
  }
  function cards(list, N, extra) {
    if (!list.length) return el("div", { class: "panel muted" }, t("empty"));
    return el("div", { class: "wo-cards" }, list.map((o) => card(o, N, extra && extra(o))));
  }
  const byDeadline = (a, b) => (Date.parse(a.deadline || "9999-12-31") - Date.parse(b.deadline || "9999-12-31"));
  function tabsFor(role) {
    if (role === "admin" || role === "operator") return ["overview", "queue", "list", "brief"];
    if (role === "dept") return ["inbox", "list"];
    if (role === "worker") return ["verify", "list"];
    return ["list"];
  }
  routes.workorders = async (view, parts, q) => {
    if (/^\d+$/.test(parts[0] || "")) return orderPage(view, parts[0]);
    const role = S.me && S.me.role;
    const tabs = tabsFor(role);
    const tab = tabs.includes(parts[0]) ? parts[0] : tabs[0];
    view.append(el("div", { class: "wo-tabs", id: "wo-tabs" }, tabs.map((x) => el("a", { href: "#/workorders/" + x, class: x === tab ? "active" : "", id: "tab-" + x }, t("wo_tab_" + x)))));
    const N = await names();
    const body = el("div", { id: "wo-body" });
    view.append(body);
    await ({ overview, queue, list, brief, inbox, verify })[tab](body, N, q);
  };

  async function inbox(body, N) {
    const dept = S.me.department || "";
    const r = await api("GET", "/api/v1/workorders?open=true&limit=500" + (dept ? "&dept=" + encodeURIComponent(dept) : ""));
    const list = items(r).sort(byDeadline);
    const todo = list.filter((o) => o.state === "dispatched"), doing = list.filter((o) => o.state !== "dispatched");
    const quick = (o) => o.state === "dispatched" ? el("div", { class: "wo-actions" }, el("a", { class: "btn", href: "#/workorders/" + o.id }, t("wo_handle"))) : null;
    body.append(el("h3", {}, t("wo_to_ack") + " (" + todo.length + ")"), cards(todo, N, quick), el("h3", {}, t("wo_in_hand") + " (" + doing.length + ")"), cards(doing, N));
  }

  async function verify(body, N) {
    const r = await api("GET", "/api/v1/workorders?state=responded&limit=500");
    // A grid worker verifies only in the area (street, community or grid: codes nest by prefix).
    const area = (S.me && S.me.area) || "";
    const list = items(r).filter((o) => !area || (o.grid || o.community || o.street || "").startsWith(area)).sort(byDeadline);
    body.append(el("p", { class: "muted" }, t("wo_verify_intro")));
    body.append(cards(list, N, (o) => {
      const box = el("div");
      const btns = el("div", { class: "wo-actions" },
        el("button", { id: "verify-" + o.id, onclick: () => { box.innerHTML = ""; box.append(actionForm(o, "verify", N, () => CB.render())); } }, t("act_verify")),
        el("button", { class: "danger", id: "rework-" + o.id, onclick: () => { box.innerHTML = ""; box.append(actionForm(o, "rework", N, () => CB.render())); } }, t("act_rework")));
      return el("div", {}, btns, box);
    }));
  }

  async function queue(body, N) {
    const [q, cat] = await Promise.all([api("GET", "/api/v1/workorder-queue?limit=200"), api("GET", "/api/v1/workorder-config/catalogue").catch(() => ({ entries: [], departments: [] }))]);
    const leads = {}; (cat.entries || []).forEach((e) => (leads[e.category] = e.lead));
    const dict = await dictionary();
    body.append(el("p", { class: "muted" }, t("wo_queue_intro")));
    if (!items(q).length) { body.append(el("div", { class: "panel muted", id: "queue-empty" }, t("empty"))); return; }
    body.append(el("div", { class: "wo-cards" }, items(q).map((o) => {
      const catSel = el("select", { class: "q-cat" }, dict.categories.filter((c) => !c.parent).map((c) => el("option", { value: c.code, selected: c.code === (o.triage_category || o.category) }, zh() ? c.name_zh : c.name_en)));
      const deptSel = el("select", { class: "q-dept" }, dict.departments.map((d) => el("option", { value: d.code, selected: d.code === (o.triage_dept || leads[o.triage_category]) }, zh() ? d.name_zh : d.name_en)));
      catSel.onchange = () => { if (leads[catSel.value]) deptSel.value = leads[catSel.value]; };
      const prio = el("select", { class: "q-prio" }, ["emergency", "urgent", "normal", "complex"].map((p) => el("option", { value: p, selected: p === (o.priority || "normal") }, prioName(p))));
      const reason = el("input", { placeholder: t("wo_reason_ph"), style: "width:100%" });
      const proposal = el("div", { class: "panel", style: "background:var(--panel2)" }, el("div", {}, t("assist") + ": ", el("b", {}, N.catName(o.triage_category)), " · " + N.deptName(o.triage_dept) + " · " + t("confidence") + " " + Math.round((o.triage_confidence || 0) * 100) + "%"),
        el("div", { class: "wo-chips" }, t("wo_reasons") + ": ", (o.triage_reasons || []).map((x) => el("span", {}, x))));
      return card(o, N, el("div", {}, proposal, el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("category")), catSel), el("div", {}, el("label", {}, t("dept")), deptSel)),
        el("label", {}, t("priority")), prio, el("label", {}, t("wo_reason")), reason,
        el("div", { class: "wo-actions", style: "margin-top:8px" },
          el("button", { class: "q-dispatch", id: "dispatch-" + o.id, onclick: async () => { try { await api("POST", "/api/v1/workorders/" + o.id + "/dispatch", { category: catSel.value, dept: deptSel.value, priority: prio.value, reason: reason.value, version: o.version }); toast(t("act_dispatch") + " ✓"); CB.render(); } catch (e) { toast(e.message); } } }, t("act_dispatch")),
          el("button", { class: "ghost", onclick: async () => { const r = reason.value || prompt(t("wo_reason_ph")); if (!r) return; try { await api("POST", "/api/v1/workorders/" + o.id + "/close_not_responsible", { reason: r, version: o.version }); CB.render(); } catch (e) { toast(e.message); } } }, t("act_close_not_responsible")))));
    })));
  }

  async function list(body, N, q) {
    const state = el("select", { id: "wo-filter-state" }, el("option", { value: "" }, t("all")));
    try { (await lifecycle()).states.forEach((s) => state.append(el("option", { value: s.state }, N.stateName(s.state)))); } catch (e) {}
    const open = el("select", { id: "wo-filter-open" }, el("option", { value: "" }, t("all")), el("option", { value: "true" }, t("wo_status_open")), el("option", { value: "false" }, t("wo_status_closed")));
    const overdue = el("input", { type: "checkbox", id: "wo-filter-overdue" });
    const street = el("select", {}, el("option", { value: "" }, t("street") + ": " + t("all")), Object.entries(N.street).map(([c, n]) => el("option", { value: c }, n)));
    const tbody = el("tbody"); let cursor = "";
    const more = el("button", { class: "ghost", hidden: true }, t("load_more"));
    const load = async (reset) => {
      if (reset) { tbody.innerHTML = ""; cursor = ""; }
      const qs = ["limit=100"]; if (state.value) qs.push("state=" + state.value); if (open.value) qs.push("open=" + open.value); if (overdue.checked) qs.push("overdue=true");
      if (street.value) qs.push("street=" + street.value); if (cursor) qs.push("cursor=" + encodeURIComponent(cursor));
      const r = await api("GET", "/api/v1/workorders?" + qs.join("&"));
      for (const o of items(r)) tbody.append(el("tr", {}, el("td", {}, el("a", { class: "wo-link", href: "#/workorders/" + o.id }, o.tracking_no)), el("td", {}, N.catName(o.category)),
        el("td", {}, N.stateName(o.state), " ", flags(o)), el("td", {}, N.deptName(o.lead_dept)), el("td", {}, N.streetName(o.street)), el("td", {}, o.deadline ? fmtTime(o.deadline) : ""), el("td", {}, (o.description || "").slice(0, 40))));
      if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, t("empty"))));
      cursor = r.next_cursor || ""; more.hidden = !cursor;
    };
    more.onclick = () => load(false);
    [state, open, street].forEach((x) => (x.onchange = () => load(true))); overdue.onchange = () => load(true);
    const canCreate = ["admin", "operator", "dept", "worker"].includes(S.me.role);
    body.append(el("div", { class: "toolbar" }, t("state"), state, open, street, el("label", { style: "display:inline" }, overdue, " " + t("wo_overdue")),
      canCreate ? el("a", { class: "btn", href: "#/report" }, "+ " + t("wo_new_order")) : null),
      el("div", { class: "panel", style: "overflow-x:auto" }, el("table", {}, el("thead", {}, el("tr", {}, [t("tracking"), t("category"), t("state"), t("dept"), t("street"), t("deadline"), t("description")].map((h) => el("th", {}, h)))), tbody), more));
    await load(true);
  }

  async function overview(body, N) {
    const [st, openR, overdueR] = await Promise.all([api("GET", "/api/v1/workorder-stats"), api("GET", "/api/v1/workorders?open=true&limit=1000"), api("GET", "/api/v1/workorders?overdue=true&limit=200")]);
    const open = items(openR), escalated = open.filter((o) => o.escalated), overdueL = items(overdueR).sort(byDeadline);
    const tile = (l, v, cls, id) => el("div", { class: "kpi " + cls, id }, el("div", { class: "v" }, v), el("div", { class: "l" }, l));
    body.append(el("div", { class: "kpis", style: "grid-template-columns:repeat(auto-fit,minmax(150px,1fr));margin-bottom:10px" },
      tile(t("kpi_open_orders"), st.open, "", "wo-kpi-open"), tile(t("kpi_overdue"), st.overdue, "crit", "wo-kpi-overdue"), tile(t("wo_escalated"), escalated.length, "crit", "wo-kpi-escalated"),
      tile(t("triage_queue"), st.triage, "warn", "wo-kpi-triage"), tile(t("wo_ext_pending"), open.filter((o) => o.extension_pending).length, "warn", "wo-kpi-ext")));
    const c1 = el("div", { class: "chart" }), c2 = el("div", { class: "chart" });
    body.append(el("div", { class: "cols2" }, el("div", { class: "panel" }, el("h3", {}, t("wo_open_by_cat")), c1), el("div", { class: "panel" }, el("h3", {}, t("wo_open_by_street")), c2)));
    const bar = (node, counts) => { const c = chart(node); if (!c) return; const e = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 12);
      c.setOption({ backgroundColor: "transparent", grid: { left: 110, right: 16, top: 8, bottom: 20 }, tooltip: {}, xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", inverse: true, data: e.map((x) => x[0]) },
        series: [{ type: "bar", data: e.map((x) => x[1]), itemStyle: { color: "#2f9bff" } }] }); };
    const byCat = {}, byStreet = {};
    open.forEach((o) => { const a = N.catName(o.category); byCat[a] = (byCat[a] || 0) + 1; const s = N.streetName(o.street) || "—"; byStreet[s] = (byStreet[s] || 0) + 1; });
    bar(c1, byCat); bar(c2, byStreet);
    body.append(el("h3", {}, t("wo_overdue_list") + " (" + overdueL.length + ")"), cards(overdueL, N), el("h3", {}, t("wo_escalated") + " (" + escalated.length + ")"), cards(escalated, N));
  }

  async function brief(body, N) {
    const date = el("input", { type: "date", id: "brief-date", value: new Date(Date.now() - new Date().getTimezoneOffset() * 60e3).toISOString().slice(0, 10) });
    const street = el("select", { id: "brief-area" }, el("option", { value: "" }, t("wo_whole_district")), Object.entries(N.street).map(([c, n]) => el("option", { value: c }, n)));
    const text = el("textarea", { id: "brief-text", style: "min-height:360px", placeholder: t("wo_brief_hint") });
    const src = el("div", { class: "muted" });
    const make = async () => {
      text.value = t("loading");
      const day0 = new Date(date.value + "T00:00:00"), day1 = new Date(day0.getTime() + 86400e3), prev0 = new Date(day0.getTime() - 86400e3);
      const sq = street.value ? "&street=" + street.value : "";
      const get = async (qs) => items(await api("GET", "/api/v1/workorders?limit=1000" + sq + qs));
      const [today, prev, closedAll, openAll, overdueL] = await Promise.all([get("&from=" + day0.toISOString() + "&to=" + day1.toISOString()), get("&from=" + prev0.toISOString() + "&to=" + day0.toISOString()),
        get("&open=false&from=" + new Date(day0.getTime() - 60 * 86400e3).toISOString()), get("&open=true"), get("&overdue=true")]);
      // Overdue at instant x: created before x, deadline before x, not answered (or answered after x), still open at x.
      const overdueAt = (x) => openAll.concat(closedAll).filter((o) => Date.parse(o.created_at) < x && o.deadline && Date.parse(o.deadline) < x && (!o.responded_at || Date.parse(o.responded_at) >= x) && (!o.closed_at || Date.parse(o.closed_at) >= x)).length;
      const closedOn = (a, b) => closedAll.filter((o) => o.closed_at && Date.parse(o.closed_at) >= a && Date.parse(o.closed_at) < b).length;
      const count = (l) => { const m = {}; l.forEach((o) => (m[o.category] = (m[o.category] || 0) + 1)); return m; };
      const ct = count(today), cp = count(prev);
      const hs = {}; today.forEach((o) => { const k = o.street + "|" + o.category; hs[k] = (hs[k] || 0) + 1; });
      const rated = closedAll.filter((o) => o.rating && o.closed_at && Date.parse(o.updated_at) >= day0.getTime() && Date.parse(o.updated_at) < day1.getTime());
      const input = { date: day0.toISOString(), area: street.value ? N.street[street.value] : (zh() ? "全区" : "District"),
        today: { new: today.length, closed: closedOn(day0.getTime(), day1.getTime()), overdue: overdueL.length },
        prev: { new: prev.length, closed: closedOn(prev0.getTime(), day0.getTime()), overdue: overdueAt(day0.getTime()) },
        open: openAll.length, escalated: openAll.filter((o) => o.escalated).length,
        hotspots: Object.entries(hs).filter((e) => e[1] >= 2).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, n]) => ({ street: N.streetName(k.split("|")[0]) || "—", category: k.split("|")[1], count: n })),
        by_category: Object.keys(Object.assign({}, ct, cp)).map((c) => ({ category: c, count: ct[c] || 0, prev: cp[c] || 0 })).sort((a, b) => b.count - a.count).slice(0, 8),
        notable: today.concat(openAll.filter((o) => o.escalated)).filter((o) => o.priority === "emergency" || o.escalated).slice(0, 5).map((o) => ({ tracking_no: o.tracking_no, category: o.category,
          street: N.streetName(o.street), urgency: o.priority, status: N.stateName(o.state), summary: (o.description || "").slice(0, 60) })) };
      if (rated.length) input.satisfaction = rated.filter((o) => o.satisfied !== false && o.rating >= 3).length / rated.length;
      try { const r = await api("POST", "/api/v1/triage/brief", input); text.value = r.text; src.textContent = t("wo_brief_source") + ": " + r.source + (r.fallback ? " (" + r.fallback + ")" : ""); }
      catch (e) { text.value = ""; toast(e.message); }
    };
    const download = () => { const a = el("a", { href: URL.createObjectURL(new Blob([text.value], { type: "text/plain;charset=utf-8" })), download: "brief-" + date.value + ".txt" }); document.body.append(a); a.click(); a.remove(); };
    body.append(el("div", { class: "panel" }, el("div", { class: "toolbar" }, t("time"), date, street, el("button", { id: "brief-make", onclick: make }, t("wo_brief_make")),
      el("button", { class: "ghost", onclick: () => { navigator.clipboard && navigator.clipboard.writeText(text.value); toast(t("wo_copied")); } }, t("wo_copy")), el("button", { class: "ghost", onclick: download }, t("export"))),
      el("p", { class: "muted" }, t("wo_brief_intro")), text, src));
    await make();
  }

  // ---- one order ----
  const NEEDS_REASON = ["dispute", "rework", "request_extension", "refuse_extension", "feedback", "close_not_responsible", "cancel", "reopen", "note", "close_duplicate"];
  function actionForm(o, act, N, done) {
    const f = el("form", { class: "wo-form", id: "act-form" });
    const reason = el("textarea", { id: "act-reason", placeholder: t(act === "feedback" ? "wo_feedback_ph" : "wo_reason_ph"), maxlength: 2000 });
    const fields = [];
    const body = { version: o.version };
    let catSel, deptSel, assistSel, prio, until, dup, photo, pub, rating, sat;
    if (act === "dispatch" || act === "reassign") {
      catSel = el("select", { id: "act-category" }); deptSel = el("select", { id: "act-dept" }); assistSel = el("select", { id: "act-assist", multiple: true, size: 4 });
      prio = el("select", { id: "act-priority" }, ["emergency", "urgent", "normal", "complex"].map((p) => el("option", { value: p, selected: p === o.priority }, prioName(p))));
      dictionary().then((d) => {
        d.categories.filter((c) => !c.parent).forEach((c) => catSel.append(el("option", { value: c.code, selected: c.code === o.category }, zh() ? c.name_zh : c.name_en)));
        d.departments.forEach((x) => { deptSel.append(el("option", { value: x.code, selected: x.code === (o.lead_dept || o.triage_dept) }, zh() ? x.name_zh : x.name_en)); assistSel.append(el("option", { value: x.code, selected: (o.assist_depts || []).includes(x.code) }, zh() ? x.name_zh : x.name_en)); });
      }).catch(() => {});
      fields.push(el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("category")), catSel), el("div", {}, el("label", {}, t("dept")), deptSel)),
        el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("wo_assist")), assistSel), el("div", {}, el("label", {}, t("priority")), prio)));
    }
    if (act === "request_extension" || act === "approve_extension") {
      const base = o.extension_until && act === "approve_extension" ? new Date(o.extension_until) : new Date(Math.max(Date.now(), Date.parse(o.deadline || 0) || 0) + 2 * 86400e3);
      until = el("input", { type: "datetime-local", id: "act-until", value: new Date(base.getTime() - base.getTimezoneOffset() * 60e3).toISOString().slice(0, 16) });
      fields.push(el("label", {}, t("wo_until")), until);
    }
    if (act === "close_duplicate") {
      dup = el("select", { id: "act-duplicate" });
      api("GET", "/api/v1/workorders/" + o.id + "/duplicates").then((r) => { items(r).forEach((d) => dup.append(el("option", { value: d.id }, d.tracking_no + " · " + (d.description || "").slice(0, 30)))); if (!dup.children.length) dup.append(el("option", { value: "" }, t("empty"))); }).catch(() => {});
      fields.push(el("label", {}, t("wo_duplicate_of")), dup);
    }
    if (act === "feedback" || act === "verify" || act === "rework") { photo = el("input", { type: "file", accept: "image/*", multiple: true, capture: "environment", id: "act-photo" }); fields.push(el("label", {}, t("photo")), photo); }
    if (act === "note") { pub = el("input", { type: "checkbox", id: "act-public" }); fields.push(el("label", {}, pub, " " + t("wo_note_public"))); }
    if (act === "rate") {
      rating = el("select", { id: "act-rating" }, [5, 4, 3, 2, 1].map((n) => el("option", { value: n }, "★".repeat(n))));
      sat = el("select", { id: "act-satisfied" }, el("option", { value: "1" }, t("satisfied")), el("option", { value: "0" }, t("unsatisfied")));
      fields.push(el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("rate")), rating), el("div", {}, el("label", {}, t("wo_satisfied_q")), sat)));
    }
    const err = el("div", { class: "error" });
    const submit = el("button", { type: "submit", id: "act-submit", class: act === "rework" || act === "dispute" || act.startsWith("close") || act === "cancel" ? "danger" : "" }, t("wo_confirm") + " " + N.actName(act));
    f.onsubmit = async (e) => {
      e.preventDefault(); err.textContent = "";
      body.reason = reason.value.trim();
      if (NEEDS_REASON.includes(act) && !body.reason) { err.textContent = t("wo_need_reason"); return; }
      if (catSel) { body.category = catSel.value; body.dept = deptSel.value; body.assist = [...assistSel.selectedOptions].map((x) => x.value).filter((x) => x !== deptSel.value); body.priority = prio.value; }
      if (until && until.value) body.until = new Date(until.value).toISOString();
      if (dup) { if (!dup.value) { err.textContent = t("wo_duplicate_of"); return; } body.duplicate_of = +dup.value; }
      if (pub) body.public = pub.checked;
      if (rating) { body.rating = +rating.value; body.satisfied = sat.value === "1"; }
      submit.disabled = true;
      try {
        if (photo) { const a = await readPhotos(photo); if (a.length) body.attachments = a; }
        await api("POST", "/api/v1/workorders/" + o.id + "/" + act, body);
        toast(N.actName(act) + " ✓"); done();
      } catch (ex) { err.textContent = ex.status === 409 ? t("wo_conflict") + " (" + ex.message + ")" : ex.message; submit.disabled = false; }
    };
    f.append(el("b", {}, N.actName(act)), ...fields, el("label", { for: "act-reason" }, NEEDS_REASON.includes(act) ? t("wo_reason") + " *" : t("wo_reason")), reason,
      el("div", { class: "wo-actions", style: "margin-top:8px" }, submit, el("button", { type: "button", class: "ghost", onclick: () => f.remove() }, t("wo_cancel"))), err);
    return f;
  }

  async function orderPage(view, id) {
    const N = await names();
    const d = await api("GET", "/api/v1/workorders/" + encodeURIComponent(id));
    const o = d.order || d, hist = d.history || [], acts = (d.actions || []).filter((a) => a !== "merge_reporter");
    const rerender = () => CB.render();
    const formBox = el("div");
    const ORDER = ["acknowledge", "start", "feedback", "verify", "rework", "close", "dispatch", "reassign", "dispute", "request_extension", "approve_extension", "refuse_extension", "remind", "escalate", "rate", "reopen", "note", "close_duplicate", "close_not_responsible", "cancel", "need_triage"];
    const sorted = acts.slice().sort((a, b) => (ORDER.indexOf(a) + 99 * (ORDER.indexOf(a) < 0)) - (ORDER.indexOf(b) + 99 * (ORDER.indexOf(b) < 0)));
    const actBox = el("div", { class: "wo-actions", id: "wo-actions" }, sorted.map((a) => el("button", { id: "act-" + a, class: ["dispute", "rework", "cancel", "close_not_responsible", "close_duplicate"].includes(a) ? "ghost" : "",
      onclick: () => { formBox.innerHTML = ""; formBox.append(actionForm(o, a, N, rerender)); formBox.scrollIntoView({ block: "nearest" }); } }, N.actName(a))));
    if (!sorted.length) actBox.append(el("span", { class: "muted" }, t("wo_no_actions")));
    const timeline = el("ol", { class: "wo-timeline", id: "wo-history" }, hist.slice().reverse().map((ev) => el("li", { "data-action": ev.action },
      el("div", {}, el("b", {}, N.actName(ev.action)), ev.from && ev.to && ev.from !== ev.to ? " · " + N.stateName(ev.from) + " → " + N.stateName(ev.to) : ""),
      el("div", { class: "who" }, fmtTime(ev.at) + " · " + [ev.actor_name, ev.actor_dept ? N.deptName(ev.actor_dept) : "", t("role_" + ev.actor_role)].filter(Boolean).join(" · ")),
      ev.reason ? el("div", {}, "“" + ev.reason + "”") : null,
      ev.data && Object.keys(ev.data).length ? el("div", { class: "muted" }, Object.entries(ev.data).filter(([, v]) => v !== "").map(([k, v]) => tf("wo_f_" + k, k) + ": " + (k === "dept" ? N.deptName(v) : k === "category" ? N.catName(v) : k === "source" ? tf("wo_src_" + v, v) : v === "true" ? "✓" : v === "false" ? "✗" : k === "priority" ? prioName(v) : /^\d{4}-\d\d-\d\dT/.test(v) ? fmtTime(v) : v)).join(" · ")) : null,
      ev.attachments && ev.attachments.length ? photos(ev.attachments) : null)));
    const mapNode = o.has_location ? el("div", { style: "height:220px" }) : null;
    view.append(el("div", { class: "toolbar" }, el("a", { class: "wo-link", href: "#/workorders" }, "← " + t("nav_workorders")), el("span", { class: "wo-big", id: "wo-title" }, o.tracking_no),
      el("span", { class: "badge", id: "wo-state" }, N.stateName(o.state)), flags(o)),
      el("div", { class: "wo-detail" },
        el("div", {},
          el("div", { class: "panel" }, el("h3", {}, t("actions")), actBox, formBox),
          el("div", { class: "panel", style: "margin-top:10px" }, el("h3", {}, N.catName(o.category) + (o.subcategory ? " / " + N.catName(o.subcategory) : "")),
            el("p", { id: "wo-description" }, o.description), o.media && o.media.length ? photos(o.media) : null,
            kv([[t("priority"), prioName(o.priority)], [t("dept"), N.deptName(o.lead_dept)], [t("wo_assist"), (o.assist_depts || []).map(N.deptName).join("、")],
              [t("street"), [N.streetName(o.street), o.community, o.grid].filter(Boolean).join(" · ")], [t("address"), o.address], [t("wo_coords"), o.has_location ? o.lon + ", " + o.lat : ""],
              [t("wo_source"), t("wo_src_" + o.source)], [t("created"), fmtTime(o.created_at)], [t("deadline"), o.deadline ? fmtTime(o.deadline) + " (" + dueText(o) + ")" : ""], [t("wo_sla"), o.sla_name],
              [t("wo_ext_pending"), o.extension_pending ? fmtTime(o.extension_until) : ""], [t("wo_resolution"), o.resolution ? tf("wo_res_" + o.resolution, o.resolution) : ""], [t("rate"), o.rating ? "★".repeat(o.rating) + (o.rating_comment ? " “" + o.rating_comment + "”" : "") : ""],
              [t("wo_reporters"), (o.reporters || []).map((r) => [r.name, r.phone, r.email].filter(Boolean).join(" ")).filter(Boolean).join("；")]]), mapNode),
          o.triage_category ? el("div", { class: "panel", style: "margin-top:10px" }, el("h3", {}, t("assist")),
            kv([[t("category"), N.catName(o.triage_category)], [t("dept"), N.deptName(o.triage_dept)], [t("confidence"), Math.round((o.triage_confidence || 0) * 100) + "%"],
              [t("wo_reasons"), el("span", { class: "wo-chips" }, (o.triage_reasons || []).map((x) => el("span", {}, x)))]])) : null),
        el("div", { class: "panel" }, el("h3", {}, t("history") + " (" + hist.length + ")"), timeline)));
    if (mapNode) {
      const c = chart(mapNode);
      if (c) try {
        const gj = JSON.parse(JSON.stringify(await streetLayer())); gj.features.forEach((f) => (f.properties.name = f.properties.code));
        echarts.registerMap("wo-streets", gj);
        c.setOption({ backgroundColor: "transparent", geo: { map: "wo-streets", roam: true, center: [o.lon, o.lat], zoom: 3, itemStyle: { areaColor: "#15335a", borderColor: "#4b8bd6" }, label: { show: false } },
          series: [{ type: "scatter", coordinateSystem: "geo", symbol: "pin", symbolSize: 30, itemStyle: { color: "#ff4d4f" }, data: [[o.lon, o.lat]] }] });
      } catch (e) {}
    }
    // Live: re-render when this order changes elsewhere.
    if (CB.startLive && S.me && S.me.role !== "citizen") {
      CB.startLive();
      S.pageCleanup = CB.onLive((typ, m) => { if (typ === "workorder" && m && (m.id === o.id || (m.order && m.order.id === o.id)) && !formBox.children.length) rerender(); });
    }
  }
})();
