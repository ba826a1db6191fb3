/* Alcance dashboard, audience builder: the one filter form of the page. It shows a live
   count as the filters change (POST /v2/contacts/count: bounded, debounced, stale
   answers dropped), exports the audience to CSV (POST /v2/contacts/extract: at once, or
   a task followed to its download link) and hands its filters to the campaign composer
   (campaigns.js reads `audienceFilters()`). Loaded after app.js, whose helpers it uses. */
"use strict";

Object.assign(I18N.es, {
  a_title: "Constructor de audiencias", a_attribute: "Atributo (nombre=valor)",
  a_exclude: "Excluir campañas", a_not_contacted: "No contactados en (días)",
  a_count: "Contactos en la audiencia:", a_export: "Exportar CSV", a_use: "Usar para una campaña",
  a_download: "Descargar CSV", a_exporting: "Exportando…", a_exported: "Exportados:",
  a_export_failed: "No se pudo exportar", a_count_failed: "No se pudo contar",
  a_nothing: "La audiencia está vacía", a_at_least: "al menos", a_counting: "contando…",
  a_method_counters: "(exacto, de los contadores)", a_method_bounded_count: "(contado leyendo los contactos)",
  a_bad_attribute: "Escriba el atributo como nombre=valor",
  a_before_dnc: "(antes de quitar la lista de no contactar)",
});

Object.assign(I18N.en, {
  a_title: "Audience builder", a_attribute: "Attribute (name=value)",
  a_exclude: "Exclude campaigns", a_not_contacted: "Not contacted within (days)",
  a_count: "Contacts in the audience:", a_export: "Export CSV", a_use: "Use for a campaign",
  a_download: "Download CSV", a_exporting: "Exporting…", a_exported: "Exported:",
  a_export_failed: "Could not export", a_count_failed: "Could not count",
  a_nothing: "The audience is empty", a_at_least: "at least", a_counting: "counting…",
  a_method_counters: "(exact, from the counters)", a_method_bounded_count: "(counted by reading the contacts)",
  a_bad_attribute: "Write the attribute as name=value",
  a_before_dnc: "(before the do-not-contact list is removed)",
});

const COUNT_DEBOUNCE_MS = 300;
const TASK_POLL_MS = 1000;
const MAX_EXPORT = 1000000;

const audience = { count: null, capped: false, beforeDnc: false, method: null, seq: 0, counted: null, timer: null, exportTask: null };
window.dashboardAudience = audience; // for the browser tests

const splitList = (v, sep = /[,;\s]+/) => v.split(sep).map((x) => x.trim()).filter(Boolean);

class FormProblem extends Error {}

// The filters as the API takes them (chalicelib/audiences/filters.py AudienceFilters).
function audienceFilters() {
  const f = {};
  const states = splitList($("a-states").value.toUpperCase());
  const ladas = splitList($("a-ladas").value);
  const municipalities = splitList($("a-municipalities").value, /[,;]+/);
  if (states.length) f.states = states;
  if (ladas.length) f.ladas = ladas;
  if (municipalities.length) f.municipalities = municipalities;
  if ($("a-line-type").value) f.line_types = [$("a-line-type").value];
  const platform = $("a-platform").value;
  if (platform) {
    const [p, s] = platform.split(":");
    f.platforms = { [p]: [s] };
  }
  if ($("a-min").value !== "") f.min_score = Number($("a-min").value);
  if ($("a-max").value !== "") f.max_score = Number($("a-max").value);
  const attr = $("a-attribute").value.trim();
  if (attr) {
    const at = attr.indexOf("=");
    if (at < 1) throw new FormProblem(t("a_bad_attribute"));
    f.attributes = { [attr.slice(0, at).trim()]: { equals: attr.slice(at + 1).trim() } };
  }
  const exclude = splitList($("a-exclude").value);
  if (exclude.length) f.exclude_campaigns = exclude;
  if ($("a-not-contacted").value !== "") f.not_contacted_within_days = Number($("a-not-contacted").value);
  return f;
}

function audienceError(text) {
  $("a-error").textContent = text;
  $("a-error").hidden = !text;
}

function countText() {
  if (audience.count === null) return "–";
  const n = fmtInt(audience.count);
  const shown = audience.capped ? `${t("a_at_least")} ${n}` : n;
  return audience.beforeDnc ? `${shown} ${t("a_before_dnc")}` : shown;
}

function renderCount() {
  const node = $("a-count");
  node.textContent = countText();
  node.dataset.value = audience.count === null ? "" : String(audience.count);
  node.dataset.capped = audience.capped ? "1" : "";
  // How the server counted (POST /v2/contacts/count's `method`): counters or reading.
  node.dataset.method = audience.method || "";
  $("a-count-method").textContent = audience.method ? t(`a_method_${audience.method}`) : "";
  $("c-audience-summary").textContent = countText();
}

async function refreshCount() {
  const seq = ++audience.seq;
  let filters;
  try {
    filters = audienceFilters();
  } catch (err) {
    audienceError(err.message);
    return;
  }
  // No filter: everybody, from the summary's counters. Counting it would Scan the
  // table on every page load (measured at 100,000 contacts: later loads slowed to ~10 s).
  if (!Object.keys(filters).length && state.summary) {
    Object.assign(audience, {
      count: state.summary.cards.total_leads, capped: false, beforeDnc: true, method: "counters",
      counted: JSON.stringify(filters),
    });
    audienceError("");
    renderCount();
    return;
  }
  $("a-count").dataset.pending = "1";
  try {
    const r = await api("/v2/contacts/count", { body: filters });
    if (seq !== audience.seq) return; // a newer change is being counted
    Object.assign(audience, {
      // Capped, or reading stopped at the request's time budget: "at least" either way.
      count: r.count, capped: r.capped || Boolean(r.timed_out), beforeDnc: Boolean(r.before_do_not_contact), method: r.method,
      counted: JSON.stringify(filters),
    });
    audienceError("");
  } catch (err) {
    if (seq !== audience.seq) return;
    audience.count = null;
    if (err instanceof Unauthorized) showError(err, $("a-error"), "a_count_failed");
    else audienceError(`${t("a_count_failed")}: ${err.message || err}`);
  } finally {
    if (seq === audience.seq) delete $("a-count").dataset.pending;
  }
  renderCount();
}

function audienceChanged() {
  clearTimeout(audience.timer);
  $("a-download").hidden = true;
  $("a-export-status").textContent = "";
  audience.timer = setTimeout(() => refreshCount(), COUNT_DEBOUNCE_MS);
  document.dispatchEvent(new CustomEvent("audiencechange"));
}

// Set from elsewhere on the page (the map, the leads table's filters).
function setAudienceFilter(fields) {
  for (const [id, value] of Object.entries(fields)) $(id).value = value;
  audienceChanged();
}

function copyLeadFilters() {
  const form = new FormData($("filters"));
  const get = (k) => String(form.get(k) || "").trim();
  setAudienceFilter({
    "a-states": get("state"), "a-ladas": get("lada"), "a-municipalities": get("municipality"),
    "a-platform": get("platform"), "a-min": get("min_score"), "a-max": get("max_score"),
  });
}

async function exportAudience() {
  audienceError("");
  const status = $("a-export-status");
  $("a-download").hidden = true;
  try {
    const filters = audienceFilters();
    const r = await api("/v2/contacts/count", { body: filters });
    if (!r.count) return audienceError(t("a_nothing"));
    const amount = r.capped ? MAX_EXPORT : r.count;
    status.textContent = t("a_exporting");
    let done = await api("/v2/contacts/extract", { body: { ...filters, amount, format: "csv" } });
    while (done.status !== "completed") {
      if (done.status === "failed") throw new Error((done.error && done.error.code) || "failed");
      audience.exportTask = done.task_id;
      const pct = Math.round(Number(done.progress || 0) * 100);
      status.textContent = `${t("a_exporting")} ${pct}%`;
      await new Promise((ok) => setTimeout(ok, TASK_POLL_MS));
      done = await api(`/v2/tasks/${encodeURIComponent(done.task_id)}`);
    }
    const written = done.count !== undefined ? done.count : done.written;
    status.textContent = `${t("a_exported")} ${fmtInt(written || 0)}`;
    const link = $("a-download");
    link.href = done.download_url;
    link.dataset.count = String(written || 0);
    link.hidden = false;
  } catch (err) {
    status.textContent = "";
    if (err instanceof Unauthorized) showError(err, $("a-error"), "a_export_failed");
    else audienceError(`${t("a_export_failed")}: ${err.message || err}`);
  }
}

function useForCampaign() {
  renderCount();
  $("composer").scrollIntoView({ block: "start" });
  $("c-name").focus();
}

function wireAudience() {
  fillPlatformFilter($("a-platform"));
  $("a-form").addEventListener("input", audienceChanged);
  $("a-form").addEventListener("change", audienceChanged);
  $("a-form").addEventListener("submit", (ev) => ev.preventDefault());
  $("a-copy-filters").addEventListener("click", copyLeadFilters);
  $("a-export").addEventListener("click", () => exportAudience());
  $("a-use").addEventListener("click", useForCampaign);
  document.addEventListener("langchange", () => {
    fillPlatformFilter($("a-platform"));
    renderCount();
  });
  // The first count once the page has its key (loadAll marks the body ready).
  new MutationObserver((_, obs) => {
    if (document.body.dataset.ready === "1") {
      obs.disconnect();
      refreshCount();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ["data-ready"] });
}

document.addEventListener("DOMContentLoaded", wireAudience);
