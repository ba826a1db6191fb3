/* Alcance dashboard: plain JS + Chart.js (served locally from /dashboard/assets/).
   Every value from the API is written with textContent, never as HTML.
   campaigns.js (loaded after this file) holds the campaigns: the table, the composer
   and a campaign's page; it uses the helpers defined here. */
"use strict";

// Platforms and statuses come from the server (chalicelib/domain/platforms.py).
const DEFINITIONS = JSON.parse(document.getElementById("definitions").textContent);
const PLATFORMS = DEFINITIONS.platforms.map((p) => p.id);
const PLATFORM_NAMES = Object.fromEntries(DEFINITIONS.platforms.map((p) => [p.id, p.name]));
const STATUSES = DEFINITIONS.statuses;
const pname = (p) => PLATFORM_NAMES[p] || p;
const STATUS_COLORS = {
  valid: "#2e7d32", business: "#1565c0", premium: "#6a1b9a", invalid: "#c62828", unknown: "#9e9e9e",
};
const KEY_STORE = "alcance.apiKey";
const LANG_STORE = "alcance.lang";
const POLL_MS = 3000;

const I18N = {
  es: {
    title: "Tablero de leads", api_key: "Clave API", key_prompt: "Escriba su clave API", save: "Guardar",
    card_total: "Leads totales", card_high: "Leads de alta calidad (score > 70)",
    card_avg: "Score promedio", card_validated: "Validados", reach: "Alcance por plataforma",
    dist: "Distribución de score", dist_buckets: "5 rangos", dist_deciles: "Deciles",
    validation: "Validación por plataforma", validation_report: "Reporte de validación",
    leads: "Leads", f_state: "Estado", f_lada: "LADA", f_platform: "Plataforma",
    f_municipality: "Municipio", col_municipality: "Municipio", line_type: "Tipo de línea",
    lt_mobile: "móvil", lt_fixed: "fija",
    f_min: "Score mín.", f_max: "Score máx.", f_sort: "Orden", sort_desc: "Score mayor primero",
    sort_asc: "Score menor primero", apply: "Aplicar", clear: "Limpiar",
    order_unscored: "Leads sin score: van después de los que tienen score, sin orden entre ellos.",
    col_phone: "Teléfono", col_state: "Estado", col_lada: "LADA", col_score: "Score",
    col_platforms: "Plataformas", prev: "Anterior", next: "Siguiente", detail: "Detalle del lead",
    close: "Cerrar", model: "Versión del modelo", factors: "Factores del score",
    statuses: "Estatus por plataforma", history: "Historial", platform: "Plataforma",
    status: "Estatus", checked_at: "Verificado", source: "Fuente", uploads: "Cargas",
    file: "Archivo", progress: "Progreso", accepted: "Aceptados", rejected: "Rechazados",
    reports: "Reportes", campaigns: "Campañas", campaign: "Campaña", targeted: "Contactados",
    cost: "Costo", revenue: "Ingreso", no_data: "Sin datos", any: "Cualquiera",
    leads_count: "Leads", reachable: "alcanzables", of_total: "del total", total: "Total",
    not_scored: "sin score", error: "No se pudo cargar", unauthorized: "Clave API inválida o faltante",
    valid: "válido", invalid: "inválido", business: "negocio", premium: "premium",
    unknown: "desconocido", checked: "verificados",
    st_completed: "completada", st_processing: "procesando", st_failed: "fallida",
    st_awaiting_upload: "esperando archivo", st_retrying: "reintentando", st_partial: "parcial",
  },
  en: {
    title: "Lead dashboard", api_key: "API key", key_prompt: "Enter your API key", save: "Save",
    card_total: "Total leads", card_high: "High-quality leads (score > 70)",
    card_avg: "Average score", card_validated: "Validated", reach: "Reach per platform",
    dist: "Score distribution", dist_buckets: "5 buckets", dist_deciles: "Deciles",
    validation: "Validation per platform", validation_report: "Validation report",
    leads: "Leads", f_state: "State", f_lada: "LADA", f_platform: "Platform",
    f_municipality: "Municipality", col_municipality: "Municipality", line_type: "Line type",
    lt_mobile: "mobile", lt_fixed: "fixed",
    f_min: "Min score", f_max: "Max score", f_sort: "Sort", sort_desc: "Highest score first",
    sort_asc: "Lowest score first", apply: "Apply", clear: "Clear",
    order_unscored: "Leads without a score: listed after the scored ones, in no particular order.",
    col_phone: "Phone", col_state: "State", col_lada: "LADA", col_score: "Score",
    col_platforms: "Platforms", prev: "Previous", next: "Next", detail: "Lead detail",
    close: "Close", model: "Model version", factors: "Score factors",
    statuses: "Platform statuses", history: "History", platform: "Platform",
    status: "Status", checked_at: "Checked", source: "Source", uploads: "Uploads",
    file: "File", progress: "Progress", accepted: "Accepted", rejected: "Rejected",
    reports: "Reports", campaigns: "Campaigns", campaign: "Campaign", targeted: "Targeted",
    cost: "Cost", revenue: "Revenue", no_data: "No data", any: "Any",
    leads_count: "Leads", reachable: "reachable", of_total: "of total", total: "Total",
    not_scored: "not scored", error: "Could not load", unauthorized: "Missing or invalid API key",
    valid: "valid", invalid: "invalid", business: "business", premium: "premium",
    unknown: "unknown", checked: "checked",
    st_completed: "completed", st_processing: "processing", st_failed: "failed",
    st_awaiting_upload: "awaiting file", st_retrying: "retrying", st_partial: "partial",
  },
};

const state = {
  lang: localStorage.getItem(LANG_STORE) || "es",
  summary: null,
  distMode: "buckets",
  charts: {},
  tokens: [null], // page tokens: tokens[i] opens page i
  page: 0,
  nextToken: null,
  rows: [],
  uploads: [],
  campaigns: null,
  detail: null,
  pollTimer: null,
};
window.dashboardState = state; // for the browser tests and the bench
window.dashboardCharts = state.charts;

const $ = (id) => document.getElementById(id);
const t = (key) => (I18N[state.lang] && I18N[state.lang][key]) || I18N.es[key] || key;
const locale = () => (state.lang === "es" ? "es-MX" : "en-US");
const fmtInt = (n) => new Intl.NumberFormat(locale()).format(n);
const fmtPct = (x) =>
  x === null || x === undefined ? "–" : new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(x);
const fmtMoney = (x) =>
  x === null || x === undefined ? "–" : new Intl.NumberFormat(locale(), { style: "currency", currency: "MXN" }).format(x);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// --- API ---------------------------------------------------------------------------

class Unauthorized extends Error {}

// The message of an error answer, with the fields a 422 names.
function failureText(status, body) {
  const msg = (body && body[state.lang === "es" ? "message_es" : "message_en"]) || `HTTP ${status}`;
  const fields = Array.isArray(body && body.details) ? body.details.filter((d) => d && d.field) : [];
  return fields.length ? `${msg} (${fields.map((d) => `${d.field}: ${d.problem}`).join("; ")})` : msg;
}

// An API error answer (chalicelib/core/errors.py): code, both messages, details.
class ApiFailure extends Error {
  constructor(status, body) {
    super(failureText(status, body));
    this.status = status;
    this.code = body && body.error;
    this.body = body || {};
  }
}

// `body`: sent as JSON; `raw`: a Blob sent as it is (method POST unless given).
async function api(path, { method, body, raw } = {}) {
  const headers = { Accept: "application/json" };
  const key = sessionStorage.getItem(KEY_STORE);
  // The API's authorizer reads `Authorization: Bearer alc_...` (chalicelib/security).
  if (key) headers.Authorization = `Bearer ${key}`;
  const sends = body !== undefined || raw !== undefined;
  const init = { method: method || (sends ? "POST" : "GET"), headers };
  if (raw !== undefined) {
    headers["Content-Type"] = "application/octet-stream";
    init.body = raw;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (resp.status === 401 || resp.status === 403) throw new Unauthorized(path);
  // A gateway or proxy may answer an error without JSON.
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new ApiFailure(resp.status, data);
  return data;
}

function askKey() {
  const dlg = $("key-dialog");
  if (!dlg.open) dlg.showModal();
}

// `box`: where the message goes (the page's banner unless a section has its own);
// `what`: the i18n key of what failed ("could not load" unless said).
function showError(err, box = $("error"), what = "error") {
  box.hidden = false;
  if (err instanceof Unauthorized) {
    box.textContent = t("unauthorized");
    askKey();
  } else {
    box.textContent = `${t(what)}: ${err.message || err}`;
  }
  if (box !== $("error")) box.scrollIntoView({ block: "nearest" });
}

// --- language ------------------------------------------------------------------------

function applyLang() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const b of document.querySelectorAll(".lang button")) b.classList.toggle("active", b.dataset.lang === state.lang);
  fillPlatformFilter();
  if (state.summary) renderSummary();
  renderLeads();
  renderUploads();
  if (state.detail) renderDetail();
  document.dispatchEvent(new CustomEvent("langchange"));
}

function setLang(lang) {
  state.lang = lang;
  localStorage.setItem(LANG_STORE, lang);
  applyLang();
}

// The platform:status choices of a filter form (the leads table's, the composer's).
function fillPlatformFilter(sel = $("f-platform")) {
  const current = sel.value;
  sel.replaceChildren(el("option", t("any")));
  sel.firstChild.value = "";
  for (const p of PLATFORMS) {
    for (const s of STATUSES) {
      const o = el("option", `${pname(p)}: ${t(s)}`);
      o.value = `${p}:${s}`;
      sel.appendChild(o);
    }
  }
  sel.value = current;
}

// --- summary: cards and charts -------------------------------------------------------

function setCard(id, text, value) {
  const node = $(id);
  node.textContent = text;
  node.dataset.value = value === null || value === undefined ? "" : String(value);
}

function renderSummary() {
  const s = state.summary;
  const c = s.cards;
  setCard("card-total", fmtInt(c.total_leads), c.total_leads);
  setCard("card-high", fmtInt(c.high_quality_leads), c.high_quality_leads);
  setCard("card-avg", c.average_score === null ? t("no_data") : c.average_score.toFixed(1), c.average_score);
  setCard(
    "card-validated",
    c.validated_share === null ? t("no_data") : `${fmtPct(c.validated_share)} (${fmtInt(c.validated_leads)})`,
    c.validated_share,
  );

  const reach = $("reach");
  reach.replaceChildren();
  for (const p of PLATFORMS) {
    const info = s.platforms[p];
    const card = el("div", null, "reach-card");
    card.id = `reach-${p}`;
    card.dataset.value = String(info.reachable);
    card.appendChild(el("h3", pname(p)));
    card.appendChild(el("p", info.checked ? fmtInt(info.reachable) : t("no_data"), "value"));
    card.appendChild(el("p", info.checked ? `${fmtPct(info.reach_share)} ${t("of_total")}` : "", "sub"));
    reach.appendChild(card);
  }
  renderScoreChart();
  renderValidation();
  document.dispatchEvent(new CustomEvent("summary"));
}

function upsertChart(name, canvasId, config) {
  const old = state.charts[name];
  if (old) old.destroy();
  state.charts[name] = new Chart($(canvasId), config);
  return state.charts[name];
}

function renderScoreChart() {
  const dist = state.summary.score_distribution[state.distMode];
  const total = dist.reduce((a, b) => a + b.count, 0);
  $("score-empty").hidden = total > 0;
  upsertChart("score", "score-chart", {
    type: "bar",
    data: {
      labels: dist.map((b) => b.label),
      datasets: [{ label: t("leads_count"), data: dist.map((b) => b.count), backgroundColor: "#1976d2" }],
    },
    options: { animation: false, responsive: true, plugins: { legend: { display: false } } },
  });
}

function renderValidation() {
  const plats = state.summary.platforms;
  const checked = PLATFORMS.reduce((a, p) => a + plats[p].checked, 0);
  $("validation-empty").hidden = checked > 0;
  upsertChart("validation", "validation-chart", {
    type: "bar",
    data: {
      labels: PLATFORMS.map(pname),
      datasets: STATUSES.map((s) => ({
        label: t(s),
        data: PLATFORMS.map((p) => plats[p].by_status[s]),
        backgroundColor: STATUS_COLORS[s],
      })),
    },
    options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: true } } },
  });

  const table = $("validation-table");
  const head = el("tr");
  head.appendChild(el("th", t("platform")));
  for (const s of STATUSES) head.appendChild(el("th", t(s)));
  head.appendChild(el("th", t("checked")));
  head.appendChild(el("th", t("reachable")));
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const p of PLATFORMS) {
    const tr = el("tr");
    tr.appendChild(el("td", pname(p)));
    for (const s of STATUSES) tr.appendChild(el("td", fmtInt(plats[p].by_status[s])));
    tr.appendChild(el("td", fmtInt(plats[p].checked)));
    tr.appendChild(el("td", fmtPct(plats[p].reach_share)));
    body.appendChild(tr);
  }
}

async function loadSummary() {
  state.summary = await api("/v2/dashboard/summary");
  renderSummary();
}

// --- leads table ---------------------------------------------------------------------

function filterParams() {
  const form = new FormData($("filters"));
  const params = new URLSearchParams();
  for (const [k, v] of form.entries()) if (String(v).trim() !== "") params.set(k, String(v).trim());
  return params;
}

async function loadLeads() {
  const params = filterParams();
  params.set("limit", "25");
  const token = state.tokens[state.page];
  if (token) params.set("page_token", token);
  const data = await api(`/v2/dashboard/leads?${params}`);
  state.rows = data.items;
  state.nextToken = data.next_page_token;
  state.order = data.order;
  renderLeads();
}

function statusBadges(platforms) {
  const wrap = el("span", null, "badges");
  for (const p of PLATFORMS) {
    const s = platforms[p];
    const b = el("span", p.slice(0, 2).toUpperCase(), `badge ${s || "none"}`);
    b.title = `${pname(p)}: ${s ? t(s) : "–"}`;
    b.dataset.platform = p;
    b.dataset.status = s || "";
    wrap.appendChild(b);
  }
  return wrap;
}

function renderLeads() {
  const body = $("leads-table").tBodies[0];
  body.replaceChildren();
  for (const r of state.rows) {
    const tr = el("tr", null, "lead-row");
    tr.dataset.e164 = r.e164;
    const phone = el("td");
    const link = el("a", r.national || r.e164);
    link.href = "#";
    link.className = "lead-link";
    link.addEventListener("click", (ev) => {
      ev.preventDefault();
      openDetail(r.e164).catch(showError);
    });
    phone.appendChild(link);
    tr.appendChild(phone);
    tr.appendChild(el("td", r.state_code || r.state || "–"));
    tr.appendChild(el("td", r.lada || "–"));
    tr.appendChild(el("td", r.municipality || "–", "municipality"));
    tr.appendChild(el("td", r.score === null || r.score === undefined ? t("not_scored") : r.score, "score"));
    const plats = el("td");
    plats.appendChild(statusBadges(r.platforms));
    tr.appendChild(plats);
    body.appendChild(tr);
  }
  $("leads-empty").hidden = state.rows.length > 0;
  $("page-num").textContent = String(state.page + 1);
  $("page-prev").disabled = state.page === 0;
  $("page-next").disabled = !state.nextToken;
  $("order-note").hidden = state.order !== "unscored";
}

// --- one lead --------------------------------------------------------------------------

async function openDetail(e164) {
  state.detail = await api(`/v2/dashboard/leads/${encodeURIComponent(e164)}`);
  renderDetail();
  $("detail").hidden = false;
  $("detail").scrollIntoView({ block: "nearest" });
}

function statusRow(platform, entry) {
  const tr = el("tr");
  tr.appendChild(el("td", pname(platform)));
  const st = el("td", entry.status ? t(entry.status) : "–");
  st.dataset.status = entry.status || "";
  tr.appendChild(st);
  tr.appendChild(el("td", entry.checked_at || "–"));
  tr.appendChild(el("td", entry.source || "–"));
  return tr;
}

function renderDetail() {
  const d = state.detail;
  $("d-phone").textContent = d.national || d.e164;
  $("d-score").textContent = d.score === null || d.score === undefined ? t("not_scored") : String(d.score);
  $("d-model").textContent = d.score_model_version || "–";
  $("d-state").textContent = d.state || d.state_code || "–";
  $("d-lada").textContent = d.lada || "–";
  $("d-municipality").textContent = d.municipality || "–";
  $("d-line-type").textContent = d.line_type ? t(`lt_${d.line_type}`) : "–";
  const statuses = $("d-statuses").tBodies[0];
  statuses.replaceChildren();
  for (const [p, entry] of Object.entries(d.platforms)) statuses.appendChild(statusRow(p, entry));
  const history = $("d-history").tBodies[0];
  history.replaceChildren();
  for (const h of d.history) history.appendChild(statusRow(h.platform || "–", h));
  $("history-empty").hidden = d.history.length > 0;
  const factors = Object.entries(d.score_factors || {});
  $("factors-empty").hidden = factors.length > 0;
  upsertChart("factors", "factors-chart", {
    type: "bar",
    data: {
      labels: factors.map(([k]) => k),
      datasets: [{
        label: t("factors"),
        data: factors.map(([, v]) => Number(v)),
        backgroundColor: factors.map(([, v]) => (Number(v) >= 0 ? "#2e7d32" : "#c62828")),
      }],
    },
    options: { animation: false, indexAxis: "y", responsive: true, aspectRatio: 3, plugins: { legend: { display: false } } },
  });
}

// --- uploads (live) ------------------------------------------------------

async function loadUploads() {
  state.uploads = (await api("/v2/dashboard/uploads")).items;
  renderUploads();
  const active = state.uploads.some((u) => ["processing", "awaiting_upload", "retrying"].includes(u.status));
  clearTimeout(state.pollTimer);
  if (active) state.pollTimer = setTimeout(() => loadUploads().catch(showError), POLL_MS);
}

function renderUploads() {
  const body = $("uploads-table").tBodies[0];
  body.replaceChildren();
  for (const u of state.uploads) {
    const tr = el("tr", null, "upload-row");
    tr.dataset.uploadId = u.upload_id;
    tr.appendChild(el("td", u.filename || u.upload_id));
    tr.appendChild(el("td", t(`st_${u.status}`)));
    const prog = el("td");
    const bar = el("progress");
    bar.max = 1;
    bar.value = Number(u.progress || 0);
    prog.appendChild(bar);
    prog.appendChild(el("span", ` ${Math.round(Number(u.progress || 0) * 100)}%`));
    tr.appendChild(prog);
    tr.appendChild(el("td", fmtInt(u.counts.accepted || 0)));
    tr.appendChild(el("td", fmtInt(u.counts.rejected || 0)));
    const links = el("td");
    for (const [name, url] of Object.entries(u.reports || {})) {
      const a = el("a", name);
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener";
      links.appendChild(a);
      links.appendChild(document.createTextNode(" "));
    }
    tr.appendChild(links);
    body.appendChild(tr);
  }
  $("uploads-empty").hidden = state.uploads.length > 0;
}

// --- start -----------------------------------------------------------------------------

async function loadAll() {
  $("error").hidden = true;
  // The cards, charts and table come in parallel; "ready" is marked when all are drawn.
  await Promise.all([loadSummary(), loadLeads(), loadUploads(), loadCampaigns()]);
  performance.mark("dashboard-ready");
  document.body.dataset.ready = "1";
}

function wire() {
  // At phone width a table scrolls in its box: keyboard users must reach it to scroll.
  for (const table of document.querySelectorAll("main table")) table.tabIndex = 0;
  for (const b of document.querySelectorAll(".lang button")) b.addEventListener("click", () => setLang(b.dataset.lang));
  $("btn-key").addEventListener("click", askKey);
  $("key-form").addEventListener("submit", () => {
    sessionStorage.setItem(KEY_STORE, $("key-input").value.trim());
    loadAll().catch(showError);
  });
  $("dist-mode").addEventListener("change", (ev) => {
    state.distMode = ev.target.value;
    if (state.summary) renderScoreChart();
  });
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.tokens = [null];
    state.page = 0;
    loadLeads().catch(showError);
  });
  $("filters").addEventListener("reset", () => {
    setTimeout(() => {
      state.tokens = [null];
      state.page = 0;
      loadLeads().catch(showError);
    });
  });
  $("page-next").addEventListener("click", () => {
    if (!state.nextToken) return;
    state.tokens[state.page + 1] = state.nextToken;
    state.page += 1;
    loadLeads().catch(showError);
  });
  $("page-prev").addEventListener("click", () => {
    if (state.page === 0) return;
    state.page -= 1;
    loadLeads().catch(showError);
  });
  $("d-close").addEventListener("click", () => {
    $("detail").hidden = true;
    state.detail = null;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wire();
  applyLang();
  loadAll().catch(showError);
});
