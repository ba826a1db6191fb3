/* Alcance dashboard, map of Mexico: a choropleth of the 32 states (outlines from the npm
   package @svg-maps/mexico, CC BY 4.0, served from /dashboard/assets/mexico.svg) over
   the stored per-state counters of the summary. A state is a button: clicking it (or
   Enter / Space) filters the leads table by that state. Loaded after app.js. */
"use strict";

Object.assign(I18N.es, {
  m_title: "Leads por estado", m_metric: "Medida", m_leads: "Leads", m_share: "Porcentaje del total",
  m_no_state: "Sin estado único (LADA de varios estados):", m_hint: "Clic en un estado para filtrar la tabla de leads.",
  m_credit: "Mapa: @svg-maps/mexico (CC BY 4.0)",
});
Object.assign(I18N.en, {
  m_title: "Leads by state", m_metric: "Measure", m_leads: "Leads", m_share: "Share of all leads",
  m_no_state: "No single state (LADA across states):", m_hint: "Click a state to filter the leads table.",
  m_credit: "Map: @svg-maps/mexico (CC BY 4.0)",
});

// The package's ids (ISO 3166-2:MX without "MX-") -> our state codes (chalicelib/data).
const MAP_STATE_CODES = {
  agu: "AGS", bcn: "BC", bcs: "BCS", cam: "CAMP", chp: "CHIS", chh: "CHIH", coa: "COAH",
  col: "COL", dur: "DGO", gua: "GTO", gro: "GRO", hid: "HGO", jal: "JAL", cmx: "CDMX",
  mex: "MEX", mic: "MICH", mor: "MOR", nay: "NAY", nle: "NL", oax: "OAX", pue: "PUE",
  que: "QRO", roo: "QROO", slp: "SLP", sin: "SIN", son: "SON", tab: "TAB", tam: "TAMS",
  tla: "TLAX", ver: "VER", yuc: "YUC", zac: "ZAC",
};
const MAP_COLORS = ["#eef4fb", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
const mapState = { svg: null, metric: "leads" };
window.dashboardMap = mapState; // for the browser tests

async function loadMap() {
  const resp = await fetch("/dashboard/assets/mexico.svg");
  if (!resp.ok) throw new Error(`mexico.svg: HTTP ${resp.status}`);
  const doc = new DOMParser().parseFromString(await resp.text(), "image/svg+xml");
  const svg = document.importNode(doc.documentElement, true);
  svg.setAttribute("role", "group");
  svg.setAttribute("aria-labelledby", "map-title");
  svg.removeAttribute("aria-label");
  for (const path of svg.querySelectorAll("path")) {
    const code = MAP_STATE_CODES[path.id];
    if (!code) continue;
    path.dataset.state = code;
    path.dataset.name = path.getAttribute("aria-label") || code;
    path.id = `map-${code}`;
    path.setAttribute("role", "button");
    path.setAttribute("tabindex", "0");
    path.addEventListener("click", () => filterByState(code));
    path.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        filterByState(code);
      }
    });
  }
  $("map").replaceChildren(svg);
  mapState.svg = svg;
  renderMap();
}

function filterByState(code) {
  $("f-state").value = code;
  $("filters").requestSubmit();
  $("leads-table").scrollIntoView({ block: "nearest" });
}

function renderMap() {
  const svg = mapState.svg;
  if (!svg || !state.summary) return;
  const byState = state.summary.by_state || {};
  const total = state.summary.cards.total_leads || 0;
  const value = (code) => {
    const n = byState[code] || 0;
    return mapState.metric === "share" ? (total ? n / total : 0) : n;
  };
  const text = (code) => (mapState.metric === "share" ? fmtPct(value(code)) : fmtInt(value(code)));
  const codes = Object.values(MAP_STATE_CODES);
  const max = Math.max(0, ...codes.map(value));
  for (const path of svg.querySelectorAll("path[data-state]")) {
    const code = path.dataset.state;
    const v = value(code);
    const bin = max > 0 && v > 0 ? 1 + Math.min(4, Math.floor((v / max) * 5 - 1e-9)) : 0;
    path.setAttribute("fill", MAP_COLORS[bin]);
    path.dataset.value = String(byState[code] || 0);
    const label = `${path.dataset.name} (${code}): ${text(code)}`;
    path.setAttribute("aria-label", label);
    let title = path.querySelector("title");
    if (!title) {
      title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      path.appendChild(title);
    }
    title.textContent = label;
  }
  const legend = $("map-legend");
  legend.replaceChildren();
  for (let i = 1; i < MAP_COLORS.length; i++) {
    const item = el("span", null, "legend-item");
    const sw = el("span", null, "swatch");
    sw.style.background = MAP_COLORS[i];
    item.appendChild(sw);
    const lo = (max * (i - 1)) / 5;
    const hi = (max * i) / 5;
    const fmt = (x) => (mapState.metric === "share" ? fmtPct(x) : fmtInt(Math.round(x)));
    item.appendChild(el("span", `${fmt(lo)}–${fmt(hi)}`));
    legend.appendChild(item);
  }
  if (!performance.getEntriesByName("map-ready").length) performance.mark("map-ready");
  const unknown = byState["??"] || 0; // aggregates.UNKNOWN
  $("map-unknown").hidden = !unknown;
  $("map-unknown-n").textContent = fmtInt(unknown);
}

function wireMap() {
  $("map-metric").addEventListener("change", (ev) => {
    mapState.metric = ev.target.value;
    renderMap();
  });
  document.addEventListener("langchange", renderMap);
  document.addEventListener("summary", renderMap);
  loadMap().catch((err) => showError(err));
}

document.addEventListener("DOMContentLoaded", wireMap);
