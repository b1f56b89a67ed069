// pages-assess: the assessment page (评估考核, issue 7), loaded on demand by routes.assess in
// app.js. A leader picks an indicator system and a period and sees the ranking table (grade,
// rank or 不排名 with the reason, ▲▼ against the previous period), the district map shaded
// by score, a radar of the selected unit's indicators against the district average, its
// trend over past periods, and the drill-down: every indicator with its metric value, and the
// records behind the chosen one (overdue work orders, silent devices, late alerts...), which
// the server filters through the governance Guard. Exports: CSV, XLSX, printable report.
(function () {
  "use strict";
  const { api, el, t, fmtTime, toast, chart, S } = window.CB;

  document.head.append(el("style", {}, `
.as-bar { display:flex; gap:8px; align-items:center; flex-wrap:wrap; margin-bottom:10px; }
.as-bar select { min-width:160px; }
.as-grid { display:grid; grid-template-columns: minmax(420px, 1.2fr) 1fr; gap:10px; }
.as-grid .chart { height:300px; }
.as-table tr.sel td { background:var(--panel2); }
.as-table tbody tr { cursor:pointer; }
.as-grade { display:inline-block; min-width:22px; text-align:center; border-radius:10px; padding:1px 6px; font-weight:700; color:#111; }
.as-grade.A { background:#4caf50; } .as-grade.B { background:#9ccc65; } .as-grade.C { background:#ffd54f; } .as-grade.D { background:#ffa726; } .as-grade.E { background:#ef5350; }
.as-up { color:#4caf50; white-space:nowrap; } .as-down { color:#ef5350; white-space:nowrap; } .as-nr { color:var(--muted); font-size:12px; }
.as-ind { cursor:pointer; } .as-ind.sel td { background:var(--panel2); } .as-ind.child td:first-child { padding-left:20px; }
.as-why { color:#ffcc80; }
#as-records a { color:var(--accent); }
`));

  const lang = () => S.lang === "zh";
  const nm = (o) => (lang() ? o.name_zh || o.name_en : o.name_en || o.name_zh) || o.code || o.unit || o.id;
  const num = (v) => (v === undefined || v === null ? "–" : Number(v).toFixed(2));
  const gradeBadge = (g) => el("span", { class: "as-grade " + g }, g);
  const delta = (d) => (d === undefined || d === null ? el("span", { class: "muted" }, "–") : d > 0 ? el("span", { class: "as-up" }, "▲ " + d.toFixed(2)) : d < 0 ? el("span", { class: "as-down" }, "▼ " + (-d).toFixed(2)) : el("span", {}, "—"));
  const kindOf = (p) => (p.includes("-Q") ? "quarter" : /^\d{4}-\d{2}$/.test(p) ? "month" : /^\d{4}$/.test(p) ? "year" : "range");

  async function page(view, parts, q) {
    const canCompute = S.me && (S.me.role === "admin" || S.me.role === "operator");
    const systems = (await api("GET", "/api/v1/assess/systems")).filter((s) => s.latest);
    let sys = q.get("system") || "wo-street";
    if (!systems.some((s) => s.id === sys) && systems.length) sys = systems[0].id;
    const sysSel = el("select", { id: "as-system" }, systems.map((s) => el("option", { value: s.id, selected: s.id === sys }, nm(s) + " (v" + s.version + ")")));
    const perSel = el("select", { id: "as-period" });
    const newPeriod = el("input", { id: "as-new-period", placeholder: "2026-Q3 / 2026-09", size: 12 });
    const bar = el("div", { class: "as-bar panel" }, el("b", {}, t("as_system")), sysSel, el("b", {}, t("period")), perSel,
      canCompute ? [newPeriod, el("button", { id: "as-recompute", onclick: () => recompute(newPeriod.value.trim() || perSel.value) }, t("as_recompute"))] : null,
      el("span", { style: "flex:1" }),
      el("button", { class: "ghost", id: "as-csv", onclick: () => dl("csv") }, "CSV"),
      el("button", { class: "ghost", id: "as-xlsx", onclick: () => dl("xlsx") }, "XLSX"),
      el("button", { class: "ghost", id: "as-print", onclick: () => window.open(url("/api/v1/assess/report"), "_blank") }, t("as_print")));
    const head = el("div", { class: "muted", id: "as-head" });
    const tablePanel = el("div", { class: "panel", id: "as-ranking" });
    const mapNode = el("div", { class: "chart", id: "as-map" }), radarNode = el("div", { class: "chart", id: "as-radar" }), trendNode = el("div", { class: "chart", id: "as-trend" });
    const drillPanel = el("div", { class: "panel", id: "as-drill", style: "margin-top:10px" });
    const unitTitle = el("span", { id: "as-unit-title" });
    view.append(bar, head, el("div", { class: "as-grid" },
      el("div", {}, tablePanel),
      el("div", {}, el("div", { class: "panel" }, el("h3", {}, t("as_map")), mapNode),
        el("div", { class: "panel", style: "margin-top:10px" }, el("h3", {}, t("as_radar"), " ", unitTitle), radarNode),
        el("div", { class: "panel", style: "margin-top:10px" }, el("h3", {}, t("as_trend")), trendNode))), drillPanel);

    let rep = null, selected = null, mapChart = null, radarChart = null, trendChart = null, geoLoaded = false;
    const url = (p, extra) => p + "?system=" + encodeURIComponent(sys) + "&period=" + encodeURIComponent(perSel.value) + (extra || "");
    function dl(fmt) { window.location.href = url("/api/v1/assess/export", "&format=" + fmt); }

    async function loadPeriods(prefer) {
      const runs = await api("GET", "/api/v1/assess/periods?system=" + encodeURIComponent(sys));
      perSel.innerHTML = "";
      const names = runs.map((r) => r.period).reverse();
      let pick = prefer && names.includes(prefer) ? prefer : names.find((p) => kindOf(p) === "quarter") || names[0];
      for (const p of names) perSel.append(el("option", { value: p, selected: p === pick }, p));
      return pick;
    }
    async function recompute(p) {
      if (!p) { toast(t("as_need_period")); return; }
      try {
        await api("POST", "/api/v1/assess/recompute", { system: sys, period: p });
        toast(t("as_recomputed", { p }));
        await loadPeriods(p); await loadResults();
      } catch (e) { toast(e.message); }
    }
    sysSel.addEventListener("change", async () => { sys = sysSel.value; selected = null; const p = await loadPeriods(); if (p) await loadResults(); else showEmpty(); });
    perSel.addEventListener("change", () => loadResults());

    function showEmpty() {
      tablePanel.innerHTML = ""; tablePanel.append(el("h3", {}, t("ranking")), el("div", { class: "muted" }, t("as_none")));
      head.textContent = ""; drillPanel.innerHTML = "";
    }

    async function loadResults() {
      if (!perSel.value) { showEmpty(); return; }
      rep = await api("GET", url("/api/v1/assess/results"));
      const r = rep.run;
      head.textContent = t("as_head", { sys: nm(rep.system), v: r.version, p: r.period, at: fmtTime(r.computed_at), prev: rep.previous_period, min: rep.min_cases });
      const top = rep.indicators.filter((i) => !i.parent);
      const tbody = el("tbody");
      rep.results.forEach((res, i) => {
        const tr = el("tr", { "data-unit": res.unit, id: "as-row-" + i, onclick: () => select(res.unit) },
          el("td", {}, res.ranked ? String(res.rank) : el("span", { class: "as-nr", title: res.reason }, t("as_not_ranked"))),
          el("td", {}, nm(res), res.ranked ? null : el("div", { class: "as-nr" }, res.reason)),
          el("td", {}, num(res.total)), el("td", {}, gradeBadge(res.grade)), el("td", {}, String(res.cases)), el("td", {}, delta(res.delta)),
          top.map((ind) => { const s = (res.indicators || []).find((x) => x.id === ind.id); return el("td", { class: "muted" }, s && !s.no_data ? num(s.score) : "–"); }));
        tbody.append(tr);
      });
      tablePanel.innerHTML = "";
      tablePanel.append(el("h3", {}, t("ranking"), " · ", r.period),
        el("table", { class: "as-table", id: "as-table" }, el("thead", {}, el("tr", {}, [t("rank"), t("as_unit"), t("score"), t("grade_letter"), t("as_cases"), t("as_delta")].map((h) => el("th", {}, h)),
          top.map((i) => el("th", { title: i.name_en }, nm(i))))), tbody),
        el("p", { class: "muted" }, t("as_fair", { n: rep.min_cases })));
      await drawMap();
      const keep = selected && rep.results.some((x) => x.unit === selected) ? selected : rep.results.length ? rep.results[0].unit : null;
      if (keep) await select(keep, true); else drillPanel.innerHTML = "";
    }

    async function drawMap() {
      if (rep.system.unit_kind !== "street") { mapNode.innerHTML = ""; mapNode.append(el("div", { class: "muted" }, t("as_map_streets"))); mapChart = null; return; }
      if (!window.echarts) { mapNode.innerHTML = ""; chart(mapNode); return; }
      if (!geoLoaded) {
        try { const gj = await api("GET", "/api/v1/areas/geojson?level=street"); echarts.registerMap("assess-streets", gj); geoLoaded = true; }
        catch (e) { mapNode.append(el("div", { class: "muted" }, t("unavailable"))); return; }
      }
      if (!mapChart) mapChart = chart(mapNode);
      if (!mapChart) return;
      const byCode = {}; rep.results.forEach((r) => (byCode[r.unit] = r));
      mapChart.setOption({
        backgroundColor: "transparent",
        tooltip: { trigger: "item", formatter: (p) => { const r = byCode[p.name]; return r ? nm(r) + "<br>" + t("score") + " " + num(r.total) + " · " + r.grade + (r.ranked ? " · " + t("rank") + " " + r.rank : " · " + t("as_not_ranked")) : p.name; } },
        visualMap: { min: 0, max: 100, left: 10, bottom: 10, calculable: false, text: ["100", "0"], inRange: { color: ["#ef5350", "#ffa726", "#ffd54f", "#9ccc65", "#4caf50"] }, textStyle: { color: "#ccc" } },
        series: [{ type: "map", map: "assess-streets", nameProperty: "code", roam: true, selectedMode: "single", label: { show: false },
          emphasis: { label: { show: true, color: "#fff", formatter: (p) => (byCode[p.name] ? nm(byCode[p.name]) : p.name) } },
          data: rep.results.map((r) => ({ name: r.unit, value: r.total })) }],
      }, true);
      mapChart.off("click"); mapChart.on("click", (p) => { if (byCode[p.name]) select(p.name); });
    }

    async function select(unit, quiet) {
      selected = unit;
      tablePanel.querySelectorAll("tbody tr").forEach((tr) => tr.classList.toggle("sel", tr.dataset.unit === unit));
      const res = rep.results.find((r) => r.unit === unit);
      unitTitle.textContent = res ? nm(res) : unit;
      drawRadar(res);
      drawTrend(unit);
      // Open the drill-down at the weakest leaf indicator: the one that pulled the unit down most.
      let weakest = null;
      const leaves = rep.indicators.filter((i) => !rep.indicators.some((c) => c.parent === i.id));
      for (const ind of leaves) {
        const s = (res.indicators || []).find((x) => x.id === ind.id);
        if (!s || s.no_data) continue;
        const loss = (100 - s.score) * ind.weight;
        if (!weakest || loss > weakest.loss) weakest = { id: ind.id, loss };
      }
      await drill(unit, weakest ? weakest.id : "");
      if (!quiet) drillPanel.scrollIntoView({ behavior: "smooth", block: "start" });
    }

    function drawRadar(res) {
      if (!radarChart) radarChart = chart(radarNode);
      if (!radarChart || !res) return;
      const top = rep.indicators.filter((i) => !i.parent);
      const avg = top.map((ind) => { const v = rep.results.map((r) => (r.indicators || []).find((x) => x.id === ind.id)).filter((s) => s && !s.no_data); return v.length ? +(v.reduce((a, s) => a + s.score, 0) / v.length).toFixed(2) : 0; });
      const mine = top.map((ind) => { const s = (res.indicators || []).find((x) => x.id === ind.id); return s && !s.no_data ? s.score : 0; });
      radarChart.setOption({
        backgroundColor: "transparent", tooltip: {}, legend: { data: [nm(res), t("as_avg")], bottom: 0, textStyle: { color: "#ccc" } },
        radar: { indicator: top.map((i) => ({ name: nm(i), max: 100 })), radius: "62%" },
        series: [{ type: "radar", data: [{ value: mine, name: nm(res), areaStyle: { opacity: 0.25 } }, { value: avg, name: t("as_avg"), lineStyle: { type: "dashed" } }] }],
      }, true);
    }

    async function drawTrend(unit) {
      if (!trendChart) trendChart = chart(trendNode);
      if (!trendChart) return;
      let pts = [];
      try { pts = await api("GET", "/api/v1/assess/results/" + encodeURIComponent(unit) + "/trend?system=" + encodeURIComponent(sys)); } catch (e) { return; }
      const k = kindOf(perSel.value || "");
      pts = pts.filter((p) => kindOf(p.period) === k);
      trendChart.setOption({
        backgroundColor: "transparent", tooltip: { trigger: "axis" }, grid: { left: 40, right: 20, top: 20, bottom: 30 },
        xAxis: { type: "category", data: pts.map((p) => p.period) }, yAxis: { type: "value", min: 0, max: 100 },
        series: [{ type: "line", name: t("score"), data: pts.map((p) => p.total), label: { show: true, formatter: (p) => pts[p.dataIndex].grade }, markLine: { silent: true, data: (rep.grades || []).filter((g) => g.min > 0).map((g) => ({ yAxis: g.min, name: g.grade })), lineStyle: { type: "dotted", color: "#555" }, label: { formatter: "{b}" } } }],
      }, true);
    }

    async function drill(unit, indicator) {
      let d;
      try { d = await api("GET", url("/api/v1/assess/drill", "&unit=" + encodeURIComponent(unit) + (indicator ? "&indicator=" + encodeURIComponent(indicator) : ""))); }
      catch (e) { drillPanel.innerHTML = ""; drillPanel.append(el("div", { class: "error" }, e.message)); return; }
      const res = d.result;
      drillPanel.innerHTML = "";
      const indBody = el("tbody");
      for (const ind of d.indicators) {
        const mi = ind.metric_info;
        const value = ind.manual ? t("as_manual") : mi ? num(res.metrics && res.metrics[ind.metric]) + " " + (mi.unit || "") : "";
        indBody.append(el("tr", { class: "as-ind" + (ind.parent ? " child" : "") + (ind.id === d.selected ? " sel" : ""), "data-ind": ind.id, onclick: () => drill(unit, ind.id) },
          el("td", {}, nm(ind)), el("td", {}, String(ind.weight)), el("td", {}, mi ? nm(mi) : ind.children ? t("as_composite") : ""), el("td", {}, value),
          el("td", {}, ind.no_data ? el("span", { class: "muted" }, t("as_no_data")) : num(ind.score))));
      }
      const recs = d.records || [];
      const recTable = recs.length ? el("table", { id: "as-records" }, el("thead", {}, el("tr", {}, [t("as_record"), t("category"), t("state"), t("as_when"), t("deadline"), t("as_why")].map((h) => el("th", {}, h)))),
        el("tbody", {}, recs.map((r) => el("tr", { class: "as-rec", "data-kind": r.kind },
          el("td", {}, r.kind === "workorder" ? el("a", { href: "#/workorders/" + r.id }, r.tracking_no || r.id) : r.kind === "device" ? el("a", { href: "#/devices/" + encodeURIComponent(r.id) }, r.name || r.id, " (" + r.id + ")") : (r.name || r.id)),
          el("td", {}, r.category || ""), el("td", {}, r.kind === "device" ? el("span", { class: "badge " + r.state }, t(r.state)) : (r.state || "")),
          el("td", {}, fmtTime(r.created_at || r.last_seen)), el("td", {}, fmtTime(r.deadline)), el("td", { class: "as-why" }, r.why || ""))))) : null;
      const manual = (d.manual || []).map((m) => el("div", { class: "panel" }, el("b", {}, num(m.value)), " · ", m.evidence, m.evidence_url ? [" · ", el("a", { href: m.evidence_url, target: "_blank", rel: "noopener" }, t("as_evidence"))] : null,
        el("div", { class: "muted" }, (m.entered_by || "") + " · " + fmtTime(m.entered_at))));
      drillPanel.append(el("h3", {}, t("drill"), " · ", nm(d.unit), " · ", num(res.total), " ", gradeBadge(res.grade)));
      drillPanel.append(el("table", { id: "as-indicators" }, el("thead", {}, el("tr", {}, [t("as_indicator"), t("as_weight"), t("as_metric"), t("as_value"), t("score")].map((h) => el("th", {}, h)))), indBody));
      if (d.selected) {
        const selInd = d.indicators.find((i) => i.id === d.selected) || { id: d.selected };
        drillPanel.append(el("h3", { style: "margin-top:12px" }, t("as_records_for", { ind: nm(selInd) }), " ", el("span", { class: "muted", id: "as-total" }, t("as_total", { n: d.total }))));
      }
      if (d.note) drillPanel.append(el("div", { class: "muted" }, d.note));
      if (recTable) drillPanel.append(recTable);
      for (const m of manual) drillPanel.append(m);
      if (d.selected && d.evidence === "manual" && S.me && S.me.role === "admin") drillPanel.append(manualForm(unit, d.selected));
    }

    function manualForm(unit, indicator) {
      const v = el("input", { type: "number", min: 0, max: 100, step: "0.1", size: 6 }), ev = el("input", { size: 40, placeholder: t("as_evidence_ph") }), link = el("input", { size: 30, placeholder: "https://…" });
      return el("form", { class: "as-bar", onsubmit: async (e) => {
        e.preventDefault();
        try { await api("POST", "/api/v1/assess/manual", { system: sys, period: perSel.value, unit, indicator, value: Number(v.value), evidence: ev.value, evidence_url: link.value }); toast(t("as_manual_saved")); }
        catch (ex) { toast(ex.message); }
      } }, el("b", {}, t("as_enter")), v, ev, link, el("button", { type: "submit" }, t("save")));
    }

    // Administrators edit the system as JSON (or paste YAML) and import it as a new version.
    if (S.me && S.me.role === "admin") {
      const area = el("textarea", { id: "as-editor", rows: 16, style: "width:100%;font-family:monospace;font-size:12px" });
      const msg = el("div", { class: "muted", id: "as-editor-msg" });
      const box = el("details", { class: "panel", style: "margin-top:10px" }, el("summary", {}, t("as_edit")),
        el("p", { class: "muted" }, t("as_edit_intro")), area, msg,
        el("button", { id: "as-import", onclick: async () => {
          msg.textContent = "";
          const resp = await fetch("/api/v1/assess/systems", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "text/plain", "X-CSRF-Token": S.csrf }, body: area.value });
          const body = await resp.json().catch(() => ({}));
          if (!resp.ok) { msg.textContent = (body.error && body.error.message) || resp.statusText; msg.className = "error"; return; }
          msg.className = "muted"; msg.textContent = body.created ? t("as_imported", { v: body.system.version }) : t("as_unchanged");
        } }, t("as_import")));
      box.addEventListener("toggle", async () => { if (box.open && !area.value) area.value = JSON.stringify(await api("GET", "/api/v1/assess/systems/" + encodeURIComponent(sys)), null, 2); });
      sysSel.addEventListener("change", () => { area.value = ""; box.open = false; });
      view.append(box);
    }

    const p = await loadPeriods(q.get("period"));
    if (p) await loadResults(); else showEmpty();
  }

  window.CB_ASSESS = page;
})();
