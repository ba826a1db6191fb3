/* Alcance dashboard, map of Mexico: a choropleth of the 32 states (outlines from the npm
   package @svg-maps/mexico, CC BY 4.0, served from /dashboard/assets/mexico.svg) over
   the stored per-state counters of the summary (`by_state`, `states`: no scan on page
   load). A state is a button: clicking it (or Enter / Space) filters the leads table by
   that state and lists its municipalities (GET /v2/dashboard/states/{code}/municipalities,
   one counter item); a municipality filters the table by it. Loaded after app.js. */
"use strict";

Object.assign(I18N.es, {
  m_title: "Leads por estado", m_metric: "Medida", m_leads: "Leads", m_share: "Porcentaje del total",
  m_validated: "Porcentaje validado", m_avg_score: "Score promedio", m_conversions: "Conversiones",
  m_def_leads: "Leads: contactos cuyo número (LADA) es del estado.",
  m_def_share: "Porcentaje del total: leads del estado entre todos los leads.",
  m_def_validated: "Porcentaje validado: leads del estado con estado «válido» en al menos una plataforma (SMS, WhatsApp, Instagram, Facebook, Google RCS o Apple iMessage), entre los leads del estado.",
  m_def_avg_score: "Score promedio: media del score (0–100) de los leads del estado que ya tienen score.",
  m_def_conversions: "Conversiones: primera conversión registrada de cada destinatario en cada campaña, por el estado del destinatario.",
  m_no_state: "Sin estado único (LADA de varios estados):", m_hint: "Clic en un estado para filtrar la tabla de leads y ver sus municipios.",
  m_credit: "Mapa: @svg-maps/mexico (CC BY 4.0)",
  m_munis: "Municipios de", m_munis_none: "Sin municipios registrados para este estado.",
  m_muni_filter: "Filtrar leads por",
});
Object.assign(I18N.en, {
  m_title: "Leads by state", m_metric: "Measure", m_leads: "Leads", m_share: "Share of all leads",
  m_validated: "Share validated", m_avg_score: "Average score", m_conversions: "Conversions",
  m_def_leads: "Leads: contacts whose number (LADA) belongs to the state.",
  m_def_share: "Share of all leads: the state's leads over all leads.",
  m_def_validated: "Share validated: the state's leads with a “valid” status on at least one platform (SMS, WhatsApp, Instagram, Facebook, Google RCS or Apple iMessage), over the state's leads.",
  m_def_avg_score: "Average score: the mean score (0–100) of the state's leads that have a score.",
  m_def_conversions: "Conversions: each recipient's first recorded conversion in each campaign, by the recipient's state.",
  m_no_state: "No single state (LADA across states):", m_hint: "Click a state to filter the leads table and see its municipalities.",
  m_credit: "Map: @svg-maps/mexico (CC BY 4.0)",
  m_munis: "Municipalities of", m_munis_none: "No municipalities recorded for this state.",
  m_muni_filter: "Filter leads by",
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
const mapState = { svg: null, metric: "leads", munis: null };
// Measures that are shares (0..1) are shown as percentages.
const MAP_SHARES = new Set(["share", "validated"]);
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
  $("f-municipality").value = "";
  $("filters").requestSubmit();
  $("leads-table").scrollIntoView({ block: "nearest" });
  showMunicipalities(code).catch((err) => showError(err));
}

async function showMunicipalities(code) {
  const r = await api(`/v2/dashboard/states/${encodeURIComponent(code)}/municipalities`);
  mapState.munis = r;
  renderMunicipalities();
}

function renderMunicipalities() {
  const r = mapState.munis;
  if (!r) return;
  const path = mapState.svg && mapState.svg.querySelector(`#map-${r.state}`);
  const name = path ? path.dataset.name : r.state;
  $("munis-title").textContent = `${t("m_munis")} ${name}`;
  const list = $("munis-list");
  list.replaceChildren();
  for (const m of r.municipalities) {
    const li = el("li");
    const b = el("button", `${m.municipality} (${fmtInt(m.leads)})`);
    b.type = "button";
    b.dataset.municipality = m.municipality;
    b.dataset.value = String(m.leads);
    b.setAttribute("aria-label", `${t("m_muni_filter")} ${m.municipality}: ${fmtInt(m.leads)} leads`);
    b.addEventListener("click", () => {
      $("f-state").value = r.state;
      $("f-municipality").value = m.municipality;
      $("filters").requestSubmit();
      $("leads-table").scrollIntoView({ block: "nearest" });
    });
    li.appendChild(b);
    list.appendChild(li);
  }
  $("munis-empty").hidden = r.municipalities.length > 0;
  $("map-munis").hidden = false;
}

// The value of the chosen measure for a state (null: nothing to measure there).
function measure(code) {
  const s = state.summary;
  const n = (s.by_state || {})[code] || 0;
  const m = (s.states || {})[code] || {};
  switch (mapState.metric) {
    case "share": {
      const total = s.cards.total_leads || 0;
      return total ? n / total : 0;
    }
    case "validated": return m.validated_share ?? null;
    case "avg_score": return m.average_score ?? null;
    case "conversions": return m.conversions || 0;
    default: return n;
  }
}

function measureText(x) {
  if (x === null || x === undefined) return "–";
  if (MAP_SHARES.has(mapState.metric)) return fmtPct(x);
  if (mapState.metric === "avg_score") {
    return new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(x);
  }
  return fmtInt(Math.round(x));
}

function renderMap() {
  const svg = mapState.svg;
  if (!svg || !state.summary) return;
  const byState = state.summary.by_state || {};
  const codes = Object.values(MAP_STATE_CODES);
  const max = Math.max(0, ...codes.map((c) => measure(c) || 0));
  for (const path of svg.querySelectorAll("path[data-state]")) {
    const code = path.dataset.state;
    const v = measure(code);
    const bin = max > 0 && v > 0 ? 1 + Math.min(4, Math.floor((v / max) * 5 - 1e-9)) : 0;
    path.setAttribute("fill", MAP_COLORS[bin]);
    path.dataset.value = String(byState[code] || 0);
    path.dataset.measure = v === null ? "" : String(v);
    const label = `${path.dataset.name} (${code}): ${measureText(v)}`;
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
  if (max <= 0) legend.appendChild(el("span", t("no_data"), "legend-item"));
  for (let i = 1; max > 0 && i < MAP_COLORS.length; i++) {
    const item = el("span", null, "legend-item");
    const sw = el("span", null, "swatch");
    sw.style.background = MAP_COLORS[i];
    item.appendChild(sw);
    item.appendChild(el("span", `${measureText((max * (i - 1)) / 5)}–${measureText((max * i) / 5)}`));
    legend.appendChild(item);
  }
  $("map-definition").textContent = t(`m_def_${mapState.metric}`);
  if (!performance.getEntriesByName("map-ready").length) performance.mark("map-ready");
  const unknown = byState["??"] || 0; // aggregates.UNKNOWN
  $("map-unknown").hidden = !unknown;
  $("map-unknown-n").textContent = fmtInt(unknown);
  renderMunicipalities();
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
