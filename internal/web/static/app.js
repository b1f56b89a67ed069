// citybrain command-center UI: a small single-page app with no framework and no CDN.
(function () {
  "use strict";
  const S = { lang: localStorage.getItem("lang") || "zh", me: null, csrf: sessionStorage.getItem("csrf") || "", live: null, charts: [] };
  const $ = (sel, root) => (root || document).querySelector(sel);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k.nodeType ? k : document.createTextNode(String(k)));
    return e;
  };
  const t = (k, vars) => { let s = (I18N[S.lang] && I18N[S.lang][k]) || I18N.zh[k] || k; for (const [a, b] of Object.entries(vars || {})) s = s.replace("{" + a + "}", b); return s; };
  const fmtTime = (v) => { if (!v) return ""; const d = new Date(typeof v === "number" ? v : Date.parse(v)); if (isNaN(d)) return String(v); return d.toLocaleString(S.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false }); };
  const toast = (msg) => { const e = $("#toast"); e.textContent = msg; e.style.display = "block"; clearTimeout(toast.h); toast.h = setTimeout(() => (e.style.display = "none"), 4000); };
  window.citybrain = S;

  async function api(method, path, body, opts) {
    const headers = {};
    if (body !== undefined && !(body instanceof FormData)) headers["Content-Type"] = "application/json";
    if (S.csrf && method !== "GET") headers["X-CSRF-Token"] = S.csrf;
    const resp = await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body) });
    if (resp.status === 401 && !(opts && opts.noRedirect)) { S.me = null; go("#/login"); throw new Error("unauthorized"); }
    const ct = resp.headers.get("Content-Type") || "";
    const data = ct.includes("json") ? await resp.json() : await resp.text();
    if (!resp.ok) { const m = (data && data.error && data.error.message) || resp.statusText; const e = new Error(m); e.status = resp.status; e.body = data; throw e; }
    return data;
  }
  S.api = api;
  const items = (r) => (Array.isArray(r) ? r : (r && (r.items || r.features)) || []);

  // ---- routing ----
  const routes = {};
  function go(h) { if (location.hash !== h) location.hash = h; else render(); }
  const NAV = [
    ["#/dashboard", "nav_dashboard", ["admin", "operator", "dept", "worker", "auditor"]],
    ["#/alerts", "nav_alerts", ["admin", "operator", "dept", "worker"]],
    ["#/devices", "nav_devices", ["admin", "operator", "dept", "worker"]],
    ["#/rules", "nav_rules", ["admin", "operator"]],
    ["#/workorders", "nav_workorders", ["admin", "operator", "dept", "worker"]],
    ["#/governance", "nav_governance", ["admin", "dept", "operator", "worker", "auditor"]],
    ["#/audit", "nav_audit", ["admin", "auditor"]],
    ["#/assess", "nav_assess", ["admin", "operator", "dept", "auditor"]],
    ["#/report", "nav_report", null],
    ["#/track", "nav_track", null],
  ];
  function drawChrome() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((e) => (e.textContent = t(e.dataset.i18n)));
    $("#lang").textContent = S.lang === "zh" ? "EN" : "中文";
    const nav = $("#nav"); nav.innerHTML = "";
    const role = S.me && S.me.role;
    for (const [h, k, roles] of NAV) {
      if (roles && !(role && roles.includes(role))) continue;
      if (!roles && role && role !== "citizen" && k === "nav_track") continue;
      nav.append(el("a", { href: h, class: location.hash.startsWith(h) ? "active" : "" }, t(k)));
    }
    $("#who").textContent = S.me ? (S.me.username + " · " + S.me.role) : "";
    $("#logout").hidden = !S.me;
  }
  async function render() {
    S.charts.forEach((c) => c.dispose && c.dispose()); S.charts = [];
    if (S.pageCleanup) { S.pageCleanup(); S.pageCleanup = null; }
    const hash = location.hash || "#/dashboard";
    const [path, query] = hash.slice(1).split("?");
    const parts = path.split("/").filter(Boolean);
    const name = parts[0] || "dashboard";
    const publicPages = ["login", "report", "track"];
    if (!S.me && !publicPages.includes(name)) {
      try { S.me = await api("GET", "/api/v1/me", undefined, { noRedirect: true }); } catch (e) { S.me = null; }
      if (!S.me) { location.hash = "#/login"; return; }
    }
    drawChrome();
    const view = $("#view"); view.innerHTML = "";
    const page = routes[name] || routes.dashboard;
    const gen = (S.renderGen = (S.renderGen || 0) + 1); // a page still loading when the user moved on must not write into the new one
    try { await page(view, parts.slice(1), new URLSearchParams(query || "")); }
    catch (e) { if (e.message !== "unauthorized" && gen === S.renderGen) view.append(el("div", { class: "panel error" }, e.status === 404 || e.status === 503 ? t("unavailable") + " (" + e.message + ")" : e.message)); }
  }
  window.addEventListener("hashchange", render);
  $("#lang").addEventListener("click", () => { S.lang = S.lang === "zh" ? "en" : "zh"; localStorage.setItem("lang", S.lang); render(); });
  $("#logout").addEventListener("click", async () => { try { await api("POST", "/api/v1/auth/logout", {}); } catch (e) {} S.me = null; S.csrf = ""; sessionStorage.removeItem("csrf"); go("#/login"); });

  // ---- live push ----
  const liveHandlers = new Set();
  function startLive() {
    if (S.live || !window.EventSource) return;
    const es = new EventSource("/api/v1/live");
    S.live = es;
    for (const typ of ["alert", "status", "kpi", "workorder", "reset"]) {
      es.addEventListener(typ, (ev) => { let d = null; try { d = JSON.parse(ev.data); } catch (e) {} liveHandlers.forEach((h) => h(typ, d)); });
    }
    es.onerror = () => { const w = $("#who"); if (w && S.me) w.textContent = S.me.username + " · " + t("reconnecting"); };
    es.onopen = () => { const w = $("#who"); if (w && S.me) w.textContent = S.me.username + " · " + S.me.role; };
  }
  function onLive(fn) { liveHandlers.add(fn); return () => liveHandlers.delete(fn); }

  function chart(node) { if (!window.echarts) { node.append(el("div", { class: "muted" }, t("charts_missing"))); return null; } const c = echarts.init(node, "dark", { renderer: "canvas" }); S.charts.push(c); return c; }
  window.addEventListener("resize", () => S.charts.forEach((c) => c.resize()));

  // ---- login ----
  routes.login = async (view) => {
    const err = el("div", { class: "error" });
    const u = el("input", { id: "username", autocomplete: "username" }), p = el("input", { id: "password", type: "password", autocomplete: "current-password" });
    const form = el("form", { class: "panel login", onsubmit: async (e) => {
      e.preventDefault(); err.textContent = "";
      try {
        const r = await api("POST", "/api/v1/auth/login", { username: u.value, password: p.value }, { noRedirect: true });
        S.csrf = r.csrf_token; sessionStorage.setItem("csrf", S.csrf);
        S.me = await api("GET", "/api/v1/me");
        go(S.me.role === "citizen" ? "#/track" : "#/dashboard");
      } catch (ex) { err.textContent = ex.message; }
    } }, el("h3", {}, t("login")), el("label", { for: "username" }, t("username")), u, el("label", { for: "password" }, t("password")), p,
      el("p", {}, el("button", { type: "submit", id: "signin" }, t("signin"))), err);
    view.append(form); u.focus();
  };

  // ---- dashboard ----
  const SEV = ["critical", "warning", "info"];
  routes.dashboard = async (view) => {
    startLive();
    const kpiBox = el("div", { class: "kpis", id: "kpis" });
    const mapBox = el("div", { id: "map", style: "flex:1 1 0" });
    const crumbs = el("div", { class: "crumbs muted" });
    const feed = el("div", { class: "feed", id: "alert-feed", style: "flex:1 1 0;min-height:0" });
    const trend1 = el("div", { class: "chart", id: "trend-pm25", style: "height:calc(100% - 30px);min-height:240px" }), trend2 = el("div", { class: "chart", id: "trend-water" });
    view.append(el("div", { class: "grid-dash" }, kpiBox,
      el("div", { class: "panel", style: "min-height:0" }, el("h3", {}, t("trend_pm25")), trend1),
      // min-height:0 lets the middle row keep the screen's height: the feed scrolls instead of stretching the map
      el("div", { class: "panel", style: "min-height:0;display:flex;flex-direction:column" }, el("h3", {}, t("district_map"), " ", crumbs), mapBox),
      el("div", { class: "panel", style: "min-height:0;display:flex;flex-direction:column" }, el("h3", {}, t("alert_feed")), feed),
      el("div", { class: "panel", style: "grid-column:1 / 4" }, el("h3", {}, t("trend_water")), trend2)));
    const drawKPI = (k) => {
      kpiBox.innerHTML = "";
      const rate = k.devices_total ? (100 * k.devices_online / k.devices_total).toFixed(1) + "%" : "–";
      const tiles = [["kpi_devices", (k.devices_online ?? "–") + " / " + (k.devices_total ?? "–"), "ok", "kpi-devices"], ["kpi_online_rate", rate, "ok", "kpi-rate"],
        ["kpi_critical", k.alerts_critical ?? 0, "crit", "kpi-critical"], ["kpi_warning", k.alerts_warning ?? 0, "warn", "kpi-warning"],
        ["kpi_open_orders", k.workorders_open ?? "–", "", "kpi-open"], ["kpi_overdue", k.workorders_overdue ?? "–", "crit", "kpi-overdue"]];
      for (const [l, v, cls, id] of tiles) kpiBox.append(el("div", { class: "kpi " + cls, id }, el("div", { class: "v" }, v), el("div", { class: "l" }, t(l))));
    };
    drawKPI({});
    api("GET", "/api/v1/dashboard/kpi").then(drawKPI).catch(() => {});
    // Alert feed.
    const alertsById = new Map();
    const drawFeed = () => {
      feed.innerHTML = "";
      const list = [...alertsById.values()].filter((a) => a.status !== "resolved").sort((a, b) => (SEV.indexOf(a.severity) - SEV.indexOf(b.severity)) || (Date.parse(b.updated_at || b.started_at || 0) - Date.parse(a.updated_at || a.started_at || 0)));
      if (!list.length) feed.append(el("div", { class: "muted" }, t("no_alerts")));
      for (const a of list.slice(0, 100)) {
        const item = el("div", { class: "item " + (a.severity || "") + (a._new ? " new" : ""), "data-alert": a.id },
          el("div", {}, el("span", { class: "badge " + a.severity }, t(a.severity)), " ", el("b", {}, a.rule_name || a.name || a.rule || ""), " ", el("span", { class: "badge " + a.status }, t(a.status))),
          el("div", { class: "muted" }, (a.device_id || a.device || "") + " · " + (a.area_name || a.area || "") + " · " + fmtTime(a.fired_at || a.starts_at || a.started_at)),
          a.summary || a.message ? el("div", {}, a.summary || a.message) : null,
          a.status === "firing" || a.status === "pending" ? el("button", { class: "ghost ack", onclick: async () => { try { await api("POST", "/api/v1/alerts/" + a.id + "/ack", { note: "" }); toast(t("ack") + " ✓"); } catch (e) { toast(e.message); } } }, t("ack")) : null);
        a._new = false;
        feed.append(item);
      }
    };
    try { for (const a of items(await api("GET", "/api/v1/alerts?status=firing&limit=200"))) alertsById.set(a.id, a); } catch (e) {}
    try { for (const a of items(await api("GET", "/api/v1/alerts?status=acknowledged&limit=100"))) alertsById.set(a.id, a); } catch (e) {}
    drawFeed();
    // Map.
    const mc = chart(mapBox);
    let level = "street", parent = "";
    let alertPoints = [];
    const drawMap = async () => {
      if (!mc) return;
      let gj;
      try { gj = await api("GET", "/api/v1/areas/geojson?level=" + level + (parent ? "&parent=" + encodeURIComponent(parent) : "")); } catch (e) { mapBox.append(el("div", { class: "muted" }, t("unavailable"))); return; }
      const mapName = "district-" + level + "-" + parent;
      gj.features.forEach((f) => { f.properties.name = f.properties.code; });
      echarts.registerMap(mapName, gj);
      const names = {}; gj.features.forEach((f) => (names[f.properties.code] = S.lang === "zh" ? f.properties.name_zh : f.properties.name_en));
      let points = [];
      try { points = items(await api("GET", "/api/v1/map/devices?level=" + (level === "street" ? "community" : "grid") + (parent ? "&parent=" + encodeURIComponent(parent) : ""))); } catch (e) {}
      mc.setOption({
        backgroundColor: "transparent",
        tooltip: { trigger: "item", formatter: (p) => p.seriesType === "map" ? (names[p.name] || p.name) : (p.data.label + "<br>" + t("online") + " " + p.data.online + "/" + p.data.total + (p.data.alerting ? "<br>⚠ " + p.data.alerting : "")) },
        geo: { map: mapName, roam: true, layoutCenter: ["50%", "50%"], layoutSize: "98%", nameProperty: "name", itemStyle: { areaColor: "#15335a", borderColor: "#4b8bd6" }, emphasis: { itemStyle: { areaColor: "#1f4f86" }, label: { show: false } },
          label: { show: level === "street", color: "#9cc2ee", fontSize: 11, formatter: (p) => names[p.name] || "" } },
        series: [
          { type: "map", geoIndex: 0, data: gj.features.map((f) => ({ name: f.properties.code })) },
          { type: "scatter", coordinateSystem: "geo", symbolSize: (v, p) => Math.min(18, 4 + Math.sqrt(p.data.total || 1)), data: points.map((p) => ({ value: [p.lon, p.lat], label: p.name || p.code, online: p.online, total: p.total, alerting: p.alerting })),
            itemStyle: { color: (p) => (p.data.alerting ? "#ff4d4f" : p.data.online < p.data.total ? "#faad14" : "#52c41a") } },
          { type: "effectScatter", coordinateSystem: "geo", id: "alerts", symbolSize: 14, rippleEffect: { scale: 4 }, itemStyle: { color: "#ff4d4f" }, data: alertPoints },
        ],
      }, true);
      crumbs.innerHTML = "";
      if (parent) crumbs.append(el("a", { id: "map-back", onclick: () => { level = "street"; parent = ""; drawMap(); } }, "← " + t("back_to_district")));
    };
    if (mc) {
      mc.on("click", (p) => { if (p.componentType === "geo" || p.seriesType === "map") { if (level === "street") { level = "community"; parent = p.name; drawMap(); } } });
      await drawMap();
    }
    const devPos = new Map(); // alerts carry no position: place them at their device's (fetched once)
    const refreshAlertPoints = () => {
      const firing = [...alertsById.values()].filter((a) => a.status === "firing");
      for (const a of firing) if (!(a.lon && a.lat) && a.device_id && !devPos.has(a.device_id)) { devPos.set(a.device_id, null); api("GET", "/api/v1/devices/" + encodeURIComponent(a.device_id)).then((d) => { if (d.lon && d.lat) { devPos.set(a.device_id, [d.lon, d.lat]); refreshAlertPoints(); } }).catch(() => {}); }
      alertPoints = firing.map((a) => ({ value: a.lon && a.lat ? [a.lon, a.lat] : devPos.get(a.device_id), name: a.rule_name || "" })).filter((p) => p.value);
      if (mc) mc.setOption({ series: [{ id: "alerts", data: alertPoints }] });
    };
    refreshAlertPoints();
    // Trends.
    const now = Date.now(), from = new Date(now - 24 * 3600e3).toISOString(), to = new Date(now).toISOString();
    const trend = async (node, q, unit) => {
      const c = chart(node); if (!c) return;
      try {
        const r = await api("GET", "/api/v1/telemetry/aggregate?" + q + "&from=" + encodeURIComponent(from) + "&to=" + encodeURIComponent(to) + "&step=1h&agg=avg");
        // groups: [{key, name, devices, points: [{ts, value}]}]; show the 10 highest groups
        const peak = (g) => Math.max(...g.points.map((p) => p.value));
        const groups = (Array.isArray(r.groups) ? r.groups : []).filter((g) => g.points && g.points.length).sort((a, b) => peak(b) - peak(a));
        if (!groups.length) { node.append(el("div", { class: "muted" }, t("empty"))); return; }
        const series = groups.slice(0, 10).map((g) => ({ name: g.name || g.key, type: "line", showSymbol: false, data: g.points.map((p) => [p.ts, p.value]) }));
        c.setOption({ backgroundColor: "transparent", tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0, textStyle: { color: "#8aa3c0" } }, grid: { left: 40, right: 10, top: 48, bottom: 24 },
          xAxis: { type: "time" }, yAxis: { type: "value", name: unit }, series });
      } catch (e) { node.append(el("div", { class: "muted" }, t("empty"))); }
    };
    trend(trend1, "profile=air_quality&measurement=pm25&group=street", "μg/m³");
    trend(trend2, "profile=drain_level&measurement=level_cm&group=community", "cm");
    S.pageCleanup = onLive((typ, d) => {
      if (typ === "alert" && d) { const a = d.alert || d; a._new = true; alertsById.set(a.id, a); drawFeed(); refreshAlertPoints(); api("GET", "/api/v1/dashboard/kpi").then(drawKPI).catch(() => {}); }
      else if (typ === "kpi" && d) drawKPI(d);
      else if (typ === "reset") render();
    });
  };

  // ---- alerts ----
  routes.alerts = async (view, parts) => {
    if (parts[0]) return alertDetail(view, parts[0]);
    const status = el("select", { id: "alert-status" }, ["firing", "pending", "acknowledged", "resolved", ""].map((s) => el("option", { value: s }, s ? t(s) : t("all"))));
    const sev = el("select", {}, ["", ...SEV].map((s) => el("option", { value: s }, s ? t(s) : t("all"))));
    const tbody = el("tbody");
    const load = async () => {
      tbody.innerHTML = "";
      const r = await api("GET", "/api/v1/alerts?limit=200" + (status.value ? "&status=" + status.value : "") + (sev.value ? "&severity=" + sev.value : ""));
      for (const a of items(r)) tbody.append(el("tr", {}, el("td", {}, el("a", { href: "#/alerts/" + a.id }, a.rule_name || a.id)), el("td", {}, el("span", { class: "badge " + a.severity }, t(a.severity))),
        el("td", {}, el("span", { class: "badge " + a.status }, t(a.status))), el("td", {}, a.device_id || ""), el("td", {}, a.area_name || a.area || ""), el("td", {}, fmtTime(a.started_at || a.created_at)),
        el("td", {}, a.status !== "resolved" && a.status !== "acknowledged" ? el("button", { class: "ghost", onclick: async () => { await api("POST", "/api/v1/alerts/" + a.id + "/ack", { note: "" }); load(); } }, t("ack")) : null,
          a.status !== "resolved" ? el("button", { class: "ghost", onclick: async () => { const note = prompt(t("note")) || ""; await api("POST", "/api/v1/alerts/" + a.id + "/resolve", { note }); load(); } }, t("resolve")) : null)));
      if (!tbody.children.length) tbody.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, t("empty"))));
    };
    status.onchange = load; sev.onchange = load;
    view.append(el("div", { class: "toolbar" }, t("status"), status, t("severity"), sev),
      el("div", { class: "panel" }, el("table", {}, el("thead", {}, el("tr", {}, [t("rule"), t("severity"), t("status"), t("device"), t("area"), t("time"), t("actions")].map((h) => el("th", {}, h)))), tbody)));
    await load();
  };
  async function alertDetail(view, id) {
    const a = await api("GET", "/api/v1/alerts/" + encodeURIComponent(id));
    view.append(el("div", { class: "panel" }, el("h3", {}, (a.rule_name || "") + " ", el("span", { class: "badge " + a.severity }, t(a.severity)), " ", el("span", { class: "badge " + a.status }, t(a.status))),
      el("pre", {}, JSON.stringify(a, null, 2))));
  }

  // ---- devices ----
  routes.devices = async (view, parts) => {
    if (parts[0]) return deviceDetail(view, decodeURIComponent(parts[0]));
    const profile = el("input", { placeholder: t("profile") }), status = el("select", {}, ["", "online", "offline", "silent"].map((s) => el("option", { value: s }, s ? t(s) : t("all"))));
    const tbody = el("tbody"); let cursor = "";
    const more = el("button", { class: "ghost" }, t("load_more"));
    const load = async (reset) => {
      if (reset) { tbody.innerHTML = ""; cursor = ""; }
      const r = await api("GET", "/api/v1/devices?limit=100" + (profile.value ? "&profile=" + encodeURIComponent(profile.value) : "") + (status.value ? "&status=" + status.value : "") + (cursor ? "&cursor=" + cursor : ""));
      for (const d of items(r)) tbody.append(el("tr", {}, el("td", {}, el("a", { href: "#/devices/" + encodeURIComponent(d.id) }, d.id)), el("td", {}, d.name || ""), el("td", {}, d.profile),
        el("td", {}, d.area_name || d.area || ""), el("td", {}, el("span", { class: "badge " + (d.status || (d.online ? "online" : "offline")) }, t(d.status || (d.online ? "online" : "offline")))), el("td", {}, fmtTime(d.last_seen))));
      cursor = r.next_cursor || ""; more.hidden = !cursor;
    };
    more.onclick = () => load(false);
    view.append(el("div", { class: "toolbar" }, profile, status, el("button", { onclick: () => load(true) }, t("filter"))),
      el("div", { class: "panel" }, el("table", {}, el("thead", {}, el("tr", {}, [t("device"), t("name"), t("profile"), t("area"), t("status"), t("last_seen")].map((h) => el("th", {}, h)))), tbody), more));
    await load(true);
  };
  async function deviceDetail(view, id) {
    const d = await api("GET", "/api/v1/devices/" + encodeURIComponent(id));
    let latest = {}; try { latest = await api("GET", "/api/v1/devices/" + encodeURIComponent(id) + "/telemetry/latest"); } catch (e) {}
    const box = el("div", { class: "cols2" });
    view.append(el("div", { class: "panel" }, el("h3", {}, id + " · " + (d.name || d.profile)), el("pre", {}, JSON.stringify(d, null, 2))), box);
    const lat = latest.measurements || latest;
    const to = new Date(), from = new Date(to - 24 * 3600e3);
    for (const m of Object.keys(lat || {})) {
      const node = el("div", { class: "chart" });
      box.append(el("div", { class: "panel" }, el("h3", {}, m), node));
      const c = chart(node); if (!c) continue;
      try {
        const r = await api("GET", "/api/v1/devices/" + encodeURIComponent(id) + "/telemetry/" + encodeURIComponent(m) + "?from=" + from.toISOString() + "&to=" + to.toISOString() + "&step=5m&agg=avg");
        const pts = items(r.points ? r.points : r);
        c.setOption({ backgroundColor: "transparent", tooltip: { trigger: "axis" }, grid: { left: 40, right: 10, top: 10, bottom: 24 }, xAxis: { type: "time" }, yAxis: { type: "value" },
          series: [{ type: "line", showSymbol: false, data: pts.map((p) => [p.ts || p.t, p.value ?? p.v]) }] });
      } catch (e) {}
    }
  }

  // ---- rules ----
  routes.rules = async (view) => {
    const tbody = el("tbody");
    const load = async () => {
      tbody.innerHTML = "";
      for (const r of items(await api("GET", "/api/v1/rules?limit=500"))) tbody.append(el("tr", {}, el("td", {}, r.name), el("td", {}, r.profile), el("td", {}, el("code", {}, r.condition || r.kind)), el("td", {}, r.for || ""),
        el("td", {}, el("span", { class: "badge " + r.severity }, t(r.severity))), el("td", {}, r.enabled === false ? "✗" : "✓"),
        el("td", {}, el("button", { class: "ghost", onclick: async () => { try { const d = await api("POST", "/api/v1/rules/" + r.id + "/dry-run", {}); toast(t("would_fire", { n: d.fired ?? d.count ?? (d.firings || []).length })); } catch (e) { toast(e.message); } } }, t("dry_run")))));
    };
    const f = { name: el("input", { id: "rule-name" }), profile: el("input", { id: "rule-profile", value: "drain_level" }), condition: el("input", { id: "rule-condition", value: "level_cm > 30", style: "width:100%" }),
      for: el("input", { id: "rule-for", value: "2m" }), severity: el("select", { id: "rule-severity" }, SEV.map((s) => el("option", { value: s }, t(s)))), description: el("input", { style: "width:100%" }) };
    const err = el("pre", { class: "error", id: "rule-error" });
    const form = el("form", { class: "panel", onsubmit: async (e) => {
      e.preventDefault(); err.textContent = "";
      try { await api("POST", "/api/v1/rules", { name: f.name.value, profile: f.profile.value, condition: f.condition.value, for: f.for.value, severity: f.severity.value, description: f.description.value, enabled: true }); toast(t("created")); load(); }
      catch (ex) { err.textContent = ex.message; }
    } }, el("h3", {}, t("new_rule")), el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("name")), f.name), el("div", {}, el("label", {}, t("profile")), f.profile)),
      el("label", {}, t("condition")), f.condition, el("div", { class: "form-row" }, el("div", {}, el("label", {}, t("for")), f.for), el("div", {}, el("label", {}, t("severity")), f.severity)),
      el("label", {}, t("description")), f.description, el("p", {}, el("button", { type: "submit" }, t("save"))), err);
    view.append(form, el("div", { class: "panel", style: "margin-top:10px" }, el("table", {}, el("thead", {}, el("tr", {}, [t("name"), t("profile"), t("condition"), t("for"), t("severity"), t("enabled"), t("actions")].map((h) => el("th", {}, h)))), tbody)));
    await load();
  };

  // ---- work orders ----
  routes.workorders = async (view, parts) => {
    if (parts[0]) return orderDetail(view, parts[0]);
    const state = el("input", { placeholder: t("state") });
    const tbody = el("tbody");
    const load = async () => {
      tbody.innerHTML = "";
      const r = await api("GET", "/api/v1/workorders?limit=200" + (state.value ? "&state=" + encodeURIComponent(state.value) : ""));
      for (const o of items(r)) tbody.append(el("tr", {}, el("td", {}, el("a", { href: "#/workorders/" + o.id }, o.tracking_no || o.id)), el("td", {}, o.category_name || o.category),
        el("td", {}, o.state_name || o.state), el("td", {}, o.department_name || o.department || o.lead_department || ""), el("td", {}, o.street_name || o.street || ""), el("td", {}, fmtTime(o.deadline || o.due_at)),
        el("td", {}, (o.description || "").slice(0, 40))));
    };
    view.append(el("div", { class: "toolbar" }, state, el("button", { onclick: load }, t("filter"))),
      el("div", { class: "panel" }, el("table", {}, el("thead", {}, el("tr", {}, [t("tracking"), t("category"), t("state"), t("dept"), t("street"), t("deadline"), t("description")].map((h) => el("th", {}, h)))), tbody)));
    await load();
  };
  async function orderDetail(view, id) {
    const o = await api("GET", "/api/v1/workorders/" + encodeURIComponent(id));
    view.append(el("div", { class: "panel" }, el("h3", {}, (o.tracking_no || o.id) + " · " + (o.category_name || o.category) + " · " + (o.state_name || o.state)), el("pre", {}, JSON.stringify(o, null, 2))));
  }

  // ---- citizen report (public) ----
  routes.report = async (view) => {
    let cats = [];
    try { const r = await fetch("/open311/v2/services.json"); if (r.ok) cats = await r.json(); } catch (e) {}
    const cat = el("select", { id: "report-category" }, el("option", { value: "" }, "—"), cats.map((c) => el("option", { value: c.service_code }, c.service_name)));
    const desc = el("textarea", { id: "report-description", placeholder: t("description_ph"), maxlength: 4000 });
    const addr = el("input", { id: "report-address", style: "width:100%" }), contact = el("input", { id: "report-contact" });
    const photo = el("input", { type: "file", accept: "image/*", id: "report-photo" });
    const mapNode = el("div", { id: "report-map", style: "height:300px" });
    const out = el("div", { id: "report-result" });
    let pin = null;
    const form = el("form", { class: "panel", onsubmit: async (e) => {
      e.preventDefault(); out.textContent = "";
      const fd = new FormData();
      fd.set("description", desc.value); if (cat.value) fd.set("category", cat.value); fd.set("address", addr.value); fd.set("contact", contact.value);
      if (pin) { fd.set("lon", pin[0]); fd.set("lat", pin[1]); }
      if (photo.files[0]) fd.set("photo", photo.files[0]);
      try { const r = await api("POST", "/api/v1/reports", fd, { noRedirect: true }); out.append(el("div", { class: "panel" }, t("report_ok"), el("h3", { id: "tracking-no" }, t("tracking") + ": " + r.tracking_no), el("div", { id: "tracking-token" }, t("track_token") + ": " + r.token))); }
      catch (ex) { out.append(el("div", { class: "error" }, ex.message)); }
    } }, el("h3", {}, t("nav_report")), el("label", {}, t("category")), cat, el("label", {}, t("description")), desc, el("label", {}, t("pin_hint")), mapNode,
      el("label", {}, t("address")), addr, el("label", {}, t("contact")), contact, el("label", {}, t("photo")), photo, el("p", {}, el("button", { type: "submit", id: "report-submit" }, t("submit"))), out);
    view.append(form);
    const c = chart(mapNode);
    if (c) {
      try {
        const gj = await (await fetch("/api/v1/areas/geojson?level=street")).json();
        gj.features.forEach((f) => (f.properties.name = f.properties.code));
        echarts.registerMap("report", gj);
        const draw = () => c.setOption({ geo: { map: "report", roam: true, itemStyle: { areaColor: "#15335a", borderColor: "#4b8bd6" } }, series: [{ type: "scatter", coordinateSystem: "geo", symbolSize: 16, itemStyle: { color: "#ff4d4f" }, data: pin ? [pin] : [] }] });
        draw();
        c.getZr().on("click", (ev) => { const p = c.convertFromPixel({ geoIndex: 0 }, [ev.offsetX, ev.offsetY]); if (p) { pin = [+p[0].toFixed(6), +p[1].toFixed(6)]; draw(); } });
      } catch (e) {}
    }
  };
  routes.track = async (view, parts, q) => {
    const no = el("input", { id: "track-no", value: q.get("no") || "" }), tok = el("input", { id: "track-token", value: q.get("token") || "" });
    const out = el("div");
    const look = async () => {
      out.innerHTML = "";
      try {
        const o = await api("GET", "/api/v1/reports/" + encodeURIComponent(no.value) + "?token=" + encodeURIComponent(tok.value), undefined, { noRedirect: true });
        out.append(el("div", { class: "panel" }, el("h3", { id: "track-state" }, (o.state_name || o.state)), el("pre", {}, JSON.stringify(o, null, 2))));
        out.append(el("div", { class: "toolbar" }, t("rate"), ...[["satisfied", 5], ["basic", 3], ["unsatisfied", 1]].map(([k, v]) => el("button", { class: "ghost rate-" + k, onclick: async () => {
          try { await api("POST", "/api/v1/reports/" + encodeURIComponent(no.value) + "/rate?token=" + encodeURIComponent(tok.value), { score: v, comment: "" }, { noRedirect: true }); toast(t("saved")); look(); } catch (e) { toast(e.message); } } }, t(k)))));
      } catch (e) { out.append(el("div", { class: "error" }, e.message)); }
    };
    view.append(el("div", { class: "panel" }, el("h3", {}, t("nav_track")), el("label", {}, t("tracking")), no, el("label", {}, t("track_token")), tok, el("p", {}, el("button", { onclick: look, id: "track-go" }, t("query")))), out);
    if (no.value && tok.value) look();
  };

  // ---- governance, audit, assessment ----
  routes.governance = async (view) => {
    const r = await api("GET", "/api/v1/catalog");
    const tbody = el("tbody");
    for (const d of items(r.datasets || r)) tbody.append(el("tr", {}, el("td", {}, d.name), el("td", {}, d.owner || ""), el("td", {}, d.grade_name || d.grade || ""), el("td", {}, d.sharing || ""), el("td", {}, (d.columns || []).length)));
    view.append(el("div", { class: "panel" }, el("h3", {}, t("catalog")), el("table", {}, el("thead", {}, el("tr", {}, [t("name"), t("dept"), t("grade"), t("sharing"), "#"].map((h) => el("th", {}, h)))), tbody)));
  };
  routes.audit = async (view) => {
    const r = await api("GET", "/api/v1/audit/entries?limit=200");
    const tbody = el("tbody");
    for (const e of items(r)) tbody.append(el("tr", {}, el("td", {}, e.seq ?? e.index), el("td", {}, fmtTime(e.time)), el("td", {}, (e.actor && (e.actor.username || e.actor)) || ""), el("td", {}, e.action), el("td", {}, JSON.stringify(e.object || "")), el("td", {}, e.decision || "")));
    view.append(el("div", { class: "panel" }, el("h3", {}, t("audit_log")), el("table", {}, el("thead", {}, el("tr", {}, ["#", t("time"), t("username"), t("actions"), "object", "decision"].map((h) => el("th", {}, h)))), tbody)));
  };
  routes.assess = async (view, parts, q) => {
    if (!window.CB_ASSESS) await new Promise((ok, fail) => document.head.append(el("script", { src: "/pages-assess.js", onload: ok, onerror: fail })));
    return window.CB_ASSESS(view, parts, q);
  };

  // Page modules (pages-*.js, loaded after this file) add or replace routes through window.CB.
  window.CB = { routes, api, el, t, fmtTime, toast, chart, items, go, onLive, startLive, render, S, SEV };
  window.addEventListener("DOMContentLoaded", render);
})();
