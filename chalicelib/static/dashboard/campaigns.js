/* Alcance dashboard, campaigns: the table, the SMS composer (live counter, the plan's
   profit curve, preview, send / schedule) and a campaign's page (the live funnel, lift
   against the control group, prediction vs reality). Loaded after app.js, whose
   helpers it uses ($, t, el, api, showError, upsertChart, fmt*). Every value from the
   API is written with textContent, never as HTML. */
"use strict";

Object.assign(I18N.es, {
  composer: "Nueva campaña SMS", c_audience: "Audiencia", c_name: "Nombre",
  c_states: "Estados", c_ladas: "LADAs", c_copy_filters: "Usar los filtros de la tabla de leads",
  c_audience_from: "Destinatarios: la audiencia del constructor de audiencias",
  c_amount: "Cantidad de mensajes", order_random: "Al azar", c_price: "Precio por segmento (MXN)",
  c_message: "Mensaje", chars_one: "carácter", chars_other: "caracteres",
  segments_one: "segmento", segments_other: "segmentos", c_no_text: "Escriba el mensaje",
  c_placeholders: "variables",
  c_ucs2_warning:
    "Estos caracteres no están en GSM-7 y hacen que el mensaje vaya en UCS-2 (70 caracteres por segmento en vez de 160):",
  c_gsm_replace: "Reemplazar acentos para quedar en GSM-7", c_before: "Antes", c_after: "Después",
  c_saved: "Segmentos ahorrados por mensaje:", c_opt_out: "Línea de baja (obligatoria)",
  c_window_start: "Desde (hora local)", c_window_end: "Hasta (hora local)",
  c_valid_hours: "Vigencia (horas)", c_require_consent: "Solo con consentimiento registrado",
  c_preview: "Vista previa", c_creating: "Creando la campaña…",
  c_building: "Construyendo la audiencia…", c_previewing: "Calculando la vista previa…",
  c_build_failed: "No se pudo construir la audiencia", c_build_slow: "La audiencia sigue en construcción; vuelva a intentar en unos minutos",
  c_stale_form: "El formulario cambió: vuelva a pedir la vista previa antes de enviar.",
  c_recipients: "Destinatarios", c_targeted: "Seleccionados", c_open_now: "En horario ahora",
  c_segments_per_message: "Segmentos por mensaje", c_price_per_segment: "Precio por segmento",
  c_estimated_cost: "Costo estimado", c_estimated_note: "Cifras estimadas con una muestra de la audiencia.",
  c_repep_stale: "La copia de la lista REPEP está vencida o no se ha importado: el envío será rechazado.",
  c_skipped: "Omitidos por motivo", reason: "Motivo", count: "Cantidad", c_samples: "Mensajes de ejemplo",
  c_send_now: "Enviar ahora", c_send_at: "Fecha y hora", c_schedule: "Programar",
  c_pick_time: "Elija la fecha y hora del envío", c_sending: "Enviando…",
  c_override_reason: "Motivo (admin) para enviar con la lista REPEP vencida",
  c_override: "Enviar de todos modos", c_override_short: "Escriba un motivo de al menos 5 caracteres",
  c_required: "Complete el nombre, el mensaje, la cantidad y el precio",
  c_invalid: "Revise el formulario", c_send_failed: "No se envió", cp_action_failed: "No se pudo aplicar",
  skip_opt_out: "dado de baja", skip_repep: "inscrito en REPEP", skip_window_expired: "fuera de vigencia",
  skip_invalid: "número inválido", skip_no_consent: "sin consentimiento", skip_cancelled: "cancelado",
  ss_draft: "borrador", ss_scheduled: "programada", ss_sending: "enviando", ss_paused: "pausada",
  ss_cancelled: "cancelada", ss_completed: "completada", ss_refused: "rechazada",
  st_building: "construyendo audiencia", st_ready: "lista",
  cp_live: "actualizando en vivo", cp_pause: "Pausar", cp_resume: "Reanudar", cp_cancel: "Cancelar envío",
  cp_confirm_cancel: "¿Cancelar el envío? Los destinatarios pendientes no recibirán el mensaje.",
  cp_sent: "Enviados", cp_delivered: "Entregados", cp_failed: "Fallidos", cp_replied: "Respuestas",
  cp_opted_out: "Bajas", cp_clicked: "Clics", cp_converted: "Ventas", cp_skipped: "Omitidos",
  cp_unknown: "Sin confirmar", cp_pending: "Pendientes", cp_in_flight: "En curso",
  cp_awaiting: "Esperando acuse", cp_segments: "Segmentos",
  cp_deliveries: "Entregas por minuto", cp_reasons: "Fallas y omisiones por motivo",
  cp_by_state: "Por estado", stage: "Etapa", stage_send: "envío", stage_delivery: "entrega",
  stage_skip: "omitido", cp_send_at: "Programada para", cp_started: "Inicio", cp_until: "Vigente hasta",
  cp_failed_split: "envío {send} · entrega {delivery}",
  cp_repep_override: "Enviada con la lista REPEP vencida. Motivo:",
  c_plan: "Planear: ¿a cuántos enviar?", c_value: "Valor por conversión (MXN)",
  c_min_roi: "ROI mínimo (opcional, 1 = 100%)", c_control: "Grupo de control (10% sin mensaje, para medir el efecto)",
  c_plan_run: "Calcular la curva", c_plan_use: "Usar el tamaño óptimo", c_planning: "Calculando la curva…",
  c_plan_task: "Audiencia grande: calculando en segundo plano…", c_plan_failed: "No se pudo calcular la curva",
  c_plan_need_value: "Indique el valor por conversión y escriba el mensaje",
  c_plan_uncalibrated: "Algunas probabilidades son la estimación inicial (sin modelo entrenado): las cifras son una aproximación.",
  c_plan_profit: "Ganancia esperada (MXN)", c_plan_size: "Tamaño de la audiencia (mejores contactos primero)",
  c_plan_optimum: "Óptimo", c_plan_min_roi_point: "ROI mínimo",
  c_plan_text: "Enviar a los mejores {size} de {contacts}: {conv} conversiones esperadas ({low}–{high}), costo {cost}, ingreso esperado {revenue}, ganancia {profit}, ROI {roi}.",
  c_plan_everyone: "Enviar a todos costaría {cost} más y traería {conv} conversiones más (ganancia {lost} menor).",
  c_plan_min_roi_text: "El mayor tamaño con ROI de al menos {roi}: {size}.",
  c_plan_min_roi_none: "Ningún tamaño alcanza un ROI de {roi}.",
  c_pilot: "Piloto (opcional): planear el resto con sus resultados", c_pilot_none: "Sin piloto",
  c_plan_pilot: "Con el piloto: {conv} conversiones de {n} contactos (el modelo esperaba {pred}); las probabilidades se ajustaron a ese nivel y los contactos del piloto quedan fuera.",
  cp_lift: "Efecto contra el grupo de control", cp_group: "Grupo", cp_contacts: "Contactos", cp_rate: "Tasa",
  cp_treatment: "Con mensaje", cp_control_group: "Control (sin mensaje)",
  cp_too_small: "Muestra demasiado pequeña para saber si la campaña tuvo efecto.",
  cp_lift_text: "Conversiones incrementales: {inc} (IC 95%: {lo} a {hi}); diferencia de tasas {diff} puntos (IC 95%: {dlo} a {dhi}).",
  cp_lift_none: "Aún no hay contactos suficientes en ambos grupos.",
  v_positive: "La campaña aumentó las conversiones.", v_negative: "La campaña redujo las conversiones.",
  v_no_detectable_effect: "Sin efecto detectable.", v_too_small_to_tell: "Muestra demasiado pequeña.",
  cp_predictions: "Predicción vs realidad", cp_decile: "Decil", cp_expected: "Esperadas (95%)", cp_actual: "Reales",
  cp_pred_text: "Conversiones esperadas {exp} ({low}–{high}), reales {act}; error relativo {rel}; error de calibración (ECE) {ece}; AUC de la campaña {auc}.",
  cp_pred_pilot: "Planeada con un piloto: al nivel que midió, esperadas {exp} ({low}–{high}), reales {act}; ECE {ece}.",
  cp_recalibrate: "Reajustar las probabilidades del modelo con esta campaña",
  cp_recal_running: "Reajustando el modelo y recalificando los contactos…",
  cp_recal_done: "Modelo {version}: mapa {method} ajustado con {rows} contactos ({conv} conversiones); error de calibración en ellos {before} → {after}; {sent} contactos enviados a recalificar.",
  cp_recal_failed: "No se pudo reajustar el modelo",
});

Object.assign(I18N.en, {
  composer: "New SMS campaign", c_audience: "Audience", c_name: "Name",
  c_states: "States", c_ladas: "LADAs", c_copy_filters: "Use the leads table's filters",
  c_audience_from: "Recipients: the audience builder's audience",
  c_amount: "Number of messages", order_random: "Random", c_price: "Price per segment (MXN)",
  c_message: "Message", chars_one: "character", chars_other: "characters",
  segments_one: "segment", segments_other: "segments", c_no_text: "Write the message",
  c_placeholders: "placeholders",
  c_ucs2_warning:
    "These characters are not in GSM-7 and make the message go as UCS-2 (70 characters per segment instead of 160):",
  c_gsm_replace: "Replace accents to stay in GSM-7", c_before: "Before", c_after: "After",
  c_saved: "Segments saved per message:", c_opt_out: "Opt-out line (mandatory)",
  c_window_start: "From (local time)", c_window_end: "Until (local time)",
  c_valid_hours: "Valid for (hours)", c_require_consent: "Only numbers with a recorded consent",
  c_preview: "Preview", c_creating: "Creating the campaign…",
  c_building: "Building the audience…", c_previewing: "Computing the preview…",
  c_build_failed: "The audience could not be built", c_build_slow: "The audience is still being built; try again in a few minutes",
  c_stale_form: "The form changed: ask for the preview again before sending.",
  c_recipients: "Recipients", c_targeted: "Selected", c_open_now: "Within hours now",
  c_segments_per_message: "Segments per message", c_price_per_segment: "Price per segment",
  c_estimated_cost: "Estimated cost", c_estimated_note: "Figures estimated from a sample of the audience.",
  c_repep_stale: "The REPEP list copy is stale or was never imported: the send will be refused.",
  c_skipped: "Skipped by reason", reason: "Reason", count: "Count", c_samples: "Sample messages",
  c_send_now: "Send now", c_send_at: "Date and time", c_schedule: "Schedule",
  c_pick_time: "Pick the send's date and time", c_sending: "Sending…",
  c_override_reason: "Reason (admin) to send with a stale REPEP list",
  c_override: "Send anyway", c_override_short: "Write a reason of at least 5 characters",
  c_required: "Fill in the name, the message, the amount and the price",
  c_invalid: "Check the form", c_send_failed: "Not sent", cp_action_failed: "Could not apply",
  skip_opt_out: "opted out", skip_repep: "on REPEP", skip_window_expired: "validity expired",
  skip_invalid: "invalid number", skip_no_consent: "no consent", skip_cancelled: "cancelled",
  ss_draft: "draft", ss_scheduled: "scheduled", ss_sending: "sending", ss_paused: "paused",
  ss_cancelled: "cancelled", ss_completed: "completed", ss_refused: "refused",
  st_building: "building audience", st_ready: "ready",
  cp_live: "updating live", cp_pause: "Pause", cp_resume: "Resume", cp_cancel: "Cancel send",
  cp_confirm_cancel: "Cancel the send? Pending recipients will not get the message.",
  cp_sent: "Sent", cp_delivered: "Delivered", cp_failed: "Failed", cp_replied: "Replies",
  cp_opted_out: "Opted out", cp_clicked: "Clicks", cp_converted: "Conversions", cp_skipped: "Skipped",
  cp_unknown: "Unknown", cp_pending: "Pending", cp_in_flight: "In flight",
  cp_awaiting: "Awaiting receipt", cp_segments: "Segments",
  cp_deliveries: "Deliveries per minute", cp_reasons: "Failures and skips by reason",
  cp_by_state: "By state", stage: "Stage", stage_send: "send", stage_delivery: "delivery",
  stage_skip: "skipped", cp_send_at: "Scheduled for", cp_started: "Started", cp_until: "Valid until",
  cp_failed_split: "send {send} · delivery {delivery}",
  cp_repep_override: "Sent with a stale REPEP list. Reason:",
  c_plan: "Plan: how many to send to?", c_value: "Value per conversion (MXN)",
  c_min_roi: "Minimum ROI (optional, 1 = 100%)", c_control: "Control group (10% not messaged, to measure the effect)",
  c_plan_run: "Compute the curve", c_plan_use: "Use the optimal size", c_planning: "Computing the curve…",
  c_plan_task: "Large audience: computing in the background…", c_plan_failed: "The curve could not be computed",
  c_plan_need_value: "Give the value per conversion and write the message",
  c_plan_uncalibrated: "Some probabilities are the prior's guess (no trained model): the figures are approximate.",
  c_plan_profit: "Expected profit (MXN)", c_plan_size: "Audience size (best contacts first)",
  c_plan_optimum: "Optimum", c_plan_min_roi_point: "Minimum ROI",
  c_plan_text: "Send to the best {size} of {contacts}: {conv} expected conversions ({low}–{high}), cost {cost}, expected revenue {revenue}, profit {profit}, ROI {roi}.",
  c_plan_everyone: "Sending to everyone would cost {cost} more and bring {conv} more conversions ({lost} less profit).",
  c_plan_min_roi_text: "The largest size with an ROI of at least {roi}: {size}.",
  c_plan_min_roi_none: "No size reaches an ROI of {roi}.",
  c_pilot: "Pilot (optional): plan the rest with its outcomes", c_pilot_none: "No pilot",
  c_plan_pilot: "With the pilot: {conv} conversions of {n} contacts (the model expected {pred}); probabilities were moved to that level and the pilot's contacts are left out.",
  cp_lift: "Effect against the control group", cp_group: "Group", cp_contacts: "Contacts", cp_rate: "Rate",
  cp_treatment: "Messaged", cp_control_group: "Control (not messaged)",
  cp_too_small: "Sample too small to tell whether the campaign had an effect.",
  cp_lift_text: "Incremental conversions: {inc} (95% CI: {lo} to {hi}); rate difference {diff} points (95% CI: {dlo} to {dhi}).",
  cp_lift_none: "Not enough contacts in both groups yet.",
  v_positive: "The campaign increased conversions.", v_negative: "The campaign reduced conversions.",
  v_no_detectable_effect: "No detectable effect.", v_too_small_to_tell: "Sample too small.",
  cp_predictions: "Prediction vs reality", cp_decile: "Decile", cp_expected: "Expected (95%)", cp_actual: "Actual",
  cp_pred_text: "Expected conversions {exp} ({low}–{high}), actual {act}; relative error {rel}; calibration error (ECE) {ece}; the campaign's AUC {auc}.",
  cp_pred_pilot: "Planned with a pilot: at the level it measured, expected {exp} ({low}–{high}), actual {act}; ECE {ece}.",
  cp_recalibrate: "Refit the model's probabilities on this campaign",
  cp_recal_running: "Refitting the model and rescoring the contacts…",
  cp_recal_done: "Model {version}: {method} map fitted on {rows} contacts ({conv} conversions); calibration error on them {before} → {after}; {sent} contacts sent to rescore.",
  cp_recal_failed: "Could not refit the model",
});

const COMPOSE_DEBOUNCE_MS = 300;
const BUILD_POLL_MS = 1000;
const BUILD_WAIT_MS = 10 * 60 * 1000;
const FUNNEL_POLL_MS = 3000;
// After a send completes, delivery receipts keep arriving for a while: the page keeps
// polling until none is awaited, for at most this long.
const RECEIPTS_WAIT_MS = 10 * 60 * 1000;
const LIVE_SEND_STATUSES = ["sending", "scheduled"];
const SKIP_REASONS = ["opt_out", "repep", "window_expired", "invalid", "no_consent", "cancelled"];

const composer = {
  analysis: null, // the last /v2/messages/compose answer
  seq: 0, // answers to older keystrokes are dropped
  timer: null,
  draft: null, // {campaign_id, request: the JSON it was created from}
  preview: null,
  busy: false,
  plan: null, // the last /v2/campaigns/plan answer (or its task's result)
};
const campaignPage = { id: null, report: null, funnel: null, predictions: null, timer: null, completedAt: null };
const PLAN_POLL_MS = 1000;
const PLAN_WAIT_MS = 15 * 60 * 1000;
state.composer = composer; // for the browser tests
state.campaignPage = campaignPage;

const tn = (key, n) => t(`${key}_${new Intl.PluralRules(locale()).select(n) === "one" ? "one" : "other"}`);
const tf = (key, vars) => t(key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k]));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fmtNum = (x) => (x === null || x === undefined ? "–" : fmtInt(x));
const fmtTime = (iso) => {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString(locale());
};
const campaignPath = (id, action = "") => `/v2/campaigns/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;

// --- campaigns table ---------------------------------------------------------------------

async function loadCampaigns() {
  state.campaigns = await api("/v2/dashboard/campaigns");
  renderCampaigns();
}

function campaignStatusText(c) {
  if (c.send_status) return t(`ss_${c.send_status}`);
  return c.status ? t(`st_${c.status}`) : "–";
}

function renderCampaigns() {
  const body = $("campaigns-table").tBodies[0];
  body.replaceChildren();
  const items = state.campaigns ? state.campaigns.items : [];
  for (const c of items) {
    const tr = el("tr", null, "campaign-row");
    tr.dataset.campaignId = c.campaign_id;
    const name = el("td");
    const link = el("a", c.name || c.campaign_id, "campaign-link");
    link.href = `#campaign=${encodeURIComponent(c.campaign_id)}`;
    link.addEventListener("click", (ev) => {
      ev.preventDefault();
      openCampaign(c.campaign_id);
    });
    name.appendChild(link);
    tr.appendChild(name);
    tr.appendChild(el("td", campaignStatusText(c)));
    tr.appendChild(el("td", fmtNum(c.targeted)));
    tr.appendChild(el("td", fmtMoney(c.cost)));
    tr.appendChild(el("td", fmtMoney(c.revenue)));
    tr.appendChild(el("td", fmtPct(c.roi)));
    body.appendChild(tr);
  }
  $("campaigns-empty").hidden = items.length > 0;
  renderPilotOptions(items);
}

// A pilot is any campaign whose audience is built; the API refuses one with no outcome.
function renderPilotOptions(items) {
  const select = $("c-pilot");
  const chosen = select.value;
  const none = el("option", t("c_pilot_none"));
  none.value = "";
  none.dataset.i18n = "c_pilot_none";
  select.replaceChildren(none);
  for (const c of items) {
    if (c.status !== "ready") continue;
    const o = el("option", c.name ? `${c.name} (${c.campaign_id})` : c.campaign_id);
    o.value = c.campaign_id;
    select.appendChild(o);
  }
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
}

// The plan and the campaign name the pilot: the API leaves its contacts out (they had
// their message) and moves the probabilities to the level it measured.
function pilotCampaigns() {
  const pilot = $("c-pilot").value;
  return pilot ? [pilot] : [];
}

// --- composer: the live counter ------------------------------------------------------------

function messageFields() {
  return {
    text: $("c-text").value,
    opt_out_line: $("c-opt-out").value.trim(),
    gsm_replace: $("c-gsm-replace").checked,
  };
}

// The compose answer's fields (chalicelib/messaging/compose.py `analysis`): the message
// with its opt-out line as it will be billed, and what replacing accents would save.
function analysisView(a) {
  const r = a && a.replacement && typeof a.replacement === "object" ? a.replacement : null;
  const chars = (a && a.forcing_ucs2) || [];
  return {
    encoding: a && a.encoding,
    segments: a && a.segments,
    characters: a && a.units,
    nonGsm: (typeof chars === "string" ? [...chars] : chars).map(String),
    placeholders: (a && a.placeholders) || [],
    replacement: r && {
      before: r.before,
      after: r.after,
      changed: r.changed === undefined ? r.after !== r.before : Boolean(r.changed),
      saved: r.segments_saved,
    },
  };
}

function scheduleCompose() {
  clearTimeout(composer.timer);
  markPreviewStale();
  const fields = messageFields();
  if (!fields.text.trim()) {
    composer.seq += 1;
    composer.analysis = null;
    renderCounter();
    return;
  }
  $("c-counter").dataset.pending = "1";
  composer.timer = setTimeout(() => compose(fields), COMPOSE_DEBOUNCE_MS);
}

async function compose(fields) {
  const seq = ++composer.seq;
  try {
    const body = { text: fields.text, gsm_replace: fields.gsm_replace };
    if (fields.opt_out_line) body.opt_out_line = fields.opt_out_line;
    const answer = await api("/v2/messages/compose", { body });
    if (seq !== composer.seq) return;
    composer.analysis = answer;
    $("c-error").hidden = true;
  } catch (err) {
    if (seq !== composer.seq) return;
    composer.analysis = null;
    showError(err, $("c-error"));
  }
  renderCounter();
}

function renderCounter() {
  const counter = $("c-counter");
  delete counter.dataset.pending;
  const a = composer.analysis ? analysisView(composer.analysis) : null;
  counter.dataset.encoding = (a && a.encoding) || "";
  counter.dataset.segments = a && a.segments !== undefined ? String(a.segments) : "";
  if (!a) {
    counter.textContent = $("c-text").value.trim() ? "–" : t("c_no_text");
  } else {
    const parts = [];
    if (a.characters !== undefined) parts.push(`${fmtInt(a.characters)} ${tn("chars", a.characters)}`);
    if (a.segments !== undefined) parts.push(`${fmtInt(a.segments)} ${tn("segments", a.segments)}`);
    if (a.encoding) parts.push(a.encoding);
    if (a.placeholders.length) parts.push(`${t("c_placeholders")}: ${a.placeholders.map((p) => `{${p}}`).join(" ")}`);
    counter.textContent = parts.join(" · ");
  }
  const ucs2 = Boolean(a && a.encoding && a.encoding !== "GSM-7");
  $("c-encoding-warning").hidden = !ucs2;
  $("c-non-gsm").textContent = a ? a.nonGsm.join(" ") : "";
  const r = a && a.replacement;
  const shown = Boolean(r && r.changed && r.after !== undefined);
  $("c-replace-preview").hidden = !shown;
  if (shown) {
    $("c-before").textContent = r.before === undefined ? "–" : String(r.before);
    $("c-after").textContent = String(r.after);
    $("c-saved").textContent = r.saved === undefined ? "–" : fmtInt(r.saved);
  }
}

// --- composer: the campaign request ----------------------------------------------------------

function campaignRequest() {
  const fields = messageFields();
  return {
    name: $("c-name").value.trim(),
    audience: audienceFilters(),
    calibrate_from_campaigns: pilotCampaigns(),
    amount: Number($("c-amount").value),
    order: $("c-order").value,
    cost_per_message: Number($("c-price").value),
    ...($("c-control").checked ? { control: true, control_share: 0.1 } : {}),
    message: {
      text: fields.text,
      opt_out_line: fields.opt_out_line,
      gsm_replace: fields.gsm_replace,
      window_start: $("c-window-start").value,
      window_end: $("c-window-end").value,
      valid_hours: Number($("c-valid-hours").value || 48),
      require_consent: $("c-require-consent").checked,
    },
  };
}

function markPreviewStale() {
  if (!composer.draft) return;
  const stale = JSON.stringify(campaignRequest()) !== JSON.stringify(composer.draft.request);
  $("c-stale").hidden = !stale;
  for (const id of ["c-send-now", "c-schedule", "c-override-send"]) $(id).disabled = stale || composer.busy;
}

function setBusy(busy, note = "") {
  composer.busy = busy;
  $("c-progress").textContent = note;
  $("c-preview").disabled = busy;
  for (const id of ["c-send-now", "c-schedule", "c-override-send"]) $(id).disabled = busy;
  if (!busy) markPreviewStale();
}

// --- composer: preview -----------------------------------------------------------------------

async function waitUntilBuilt(id) {
  const deadline = Date.now() + BUILD_WAIT_MS;
  for (;;) {
    const c = await api(campaignPath(id));
    if (c.status !== "building") {
      if (c.status === "failed") throw new Error(t("c_build_failed"));
      return c;
    }
    const pct = typeof c.progress === "number" ? ` ${Math.round(c.progress * 100)}%` : "";
    $("c-progress").textContent = `${t("c_building")}${pct}`;
    if (Date.now() > deadline) throw new Error(t("c_build_slow"));
    await sleep(BUILD_POLL_MS);
  }
}

async function runPreview() {
  const request = campaignRequest();
  if (!request.name || !request.message.text.trim() || !(request.amount >= 1) || $("c-price").value === "") {
    showError(new Error(t("c_required")), $("c-error"), "c_invalid");
    return;
  }
  $("c-error").hidden = true;
  setBusy(true, t("c_creating"));
  try {
    let draft = composer.draft;
    if (!draft || JSON.stringify(draft.request) !== JSON.stringify(request)) {
      const created = await api("/v2/campaigns", { body: request });
      const old = draft;
      draft = { campaign_id: created.campaign_id, request };
      composer.draft = draft;
      // The draft the form no longer describes would never be sent: say so.
      if (old) api(campaignPath(old.campaign_id, "cancel"), { body: {} }).catch(() => {});
      if (created.status === "building") await waitUntilBuilt(draft.campaign_id);
    }
    $("c-progress").textContent = t("c_previewing");
    composer.preview = await api(campaignPath(draft.campaign_id, "preview"), { body: {} });
    renderPreview();
    $("c-preview-box").hidden = false;
    $("c-override").hidden = true;
    $("c-send-error").hidden = true;
    $("c-preview-box").scrollIntoView({ block: "nearest" });
    loadCampaigns().catch(showError);
  } catch (err) {
    showError(err, $("c-error"));
  } finally {
    setBusy(false);
  }
}

function renderPreview() {
  const p = composer.preview;
  if (!p) return;
  const box = $("c-preview-box");
  box.dataset.campaignId = composer.draft ? composer.draft.campaign_id : "";
  const setVal = (id, text, value) => {
    $(id).textContent = text;
    $(id).dataset.value = value === undefined || value === null ? "" : String(value);
  };
  setVal("c-recipients", fmtNum(p.recipients), p.recipients);
  setVal("c-targeted", fmtNum(p.targeted), p.targeted);
  setVal("c-open-now", fmtNum(p.open_now), p.open_now);
  setVal("c-segments", p.segments_per_message === undefined ? "–" : String(p.segments_per_message), p.segments_per_message);
  setVal("c-price-per-segment", fmtMoney(p.price_per_segment), p.price_per_segment);
  setVal("c-cost", fmtMoney(p.estimated_cost), p.estimated_cost);
  $("c-estimated").hidden = !p.estimated;
  $("c-repep").hidden = !(p.repep && p.repep.stale);

  const skipped = $("c-skipped").tBodies[0];
  skipped.replaceChildren();
  const counts = p.skipped || {};
  const reasons = [...SKIP_REASONS.filter((r) => r in counts), ...Object.keys(counts).filter((r) => !SKIP_REASONS.includes(r))];
  for (const r of reasons) {
    const tr = el("tr");
    tr.dataset.reason = r;
    tr.appendChild(el("td", t(`skip_${r}`)));
    tr.appendChild(el("td", fmtNum(counts[r])));
    skipped.appendChild(tr);
  }

  const samples = $("c-samples");
  samples.replaceChildren();
  for (const s of p.samples || []) {
    // compose.py `preview_render`: the body, its encoding and segments, and the
    // placeholders this recipient has no attribute for.
    const text = typeof s === "string" ? s : s.body || s.text || JSON.stringify(s);
    const li = el("li", text, "msg");
    if (s && s.segments !== undefined) {
      li.appendChild(el("span", ` (${s.encoding || ""} · ${fmtInt(s.segments)} ${tn("segments", s.segments)})`, "sub"));
    }
    if (s && Array.isArray(s.missing) && s.missing.length) {
      li.appendChild(el("span", ` ${t("c_missing")}: ${s.missing.join(", ")}`, "sub"));
    }
    samples.appendChild(li);
  }
}

// --- composer: the plan (profit curve over audience size) -----------------------------------

const fmtDec = (x, digits = 1) =>
  x === null || x === undefined ? "–" : new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(x);
const fmtRoi = (x) => (x === null || x === undefined ? "–" : `${fmtDec(x, 2)}×`);

function planRequest() {
  const fields = messageFields();
  const minRoi = $("c-min-roi").value;
  return {
    audience: audienceFilters(),
    calibrate_from_campaigns: pilotCampaigns(),
    message: { text: fields.text, opt_out_line: fields.opt_out_line, gsm_replace: fields.gsm_replace },
    price_per_segment: Number($("c-price").value),
    value_per_conversion: Number($("c-value").value),
    min_roi: minRoi === "" ? null : Number(minRoi),
  };
}

// A task (202) until it ends: its last status (completed or failed), or null once
// PLAN_WAIT_MS pass. `onProgress(" 42%")` while it runs.
async function finishedTask(task, onProgress) {
  const deadline = Date.now() + PLAN_WAIT_MS;
  for (;;) {
    const status = await api(`/v2/tasks/${encodeURIComponent(task.task_id)}`);
    if (status.status === "completed" || status.status === "failed") return status;
    onProgress(typeof status.progress === "number" ? ` ${Math.round(status.progress * 100)}%` : "");
    if (Date.now() > deadline) return null;
    await sleep(PLAN_POLL_MS);
  }
}

// A failed task's reason in the reader's language (a refusal names it in both).
const taskFailure = (s) => (state.lang === "en" ? s.detail : s.detail_es || s.detail) || s.error || "";

async function waitForPlanTask(task) {
  // A large audience is planned as a task (202): its result is the plan.
  const done = await finishedTask(task, (pct) => { $("c-progress").textContent = `${t("c_plan_task")}${pct}`; });
  if (!done) throw new Error(t("c_plan_failed"));
  if (done.status === "failed") throw new Error(`${t("c_plan_failed")}: ${taskFailure(done)}`);
  return done.result;
}

async function runPlan() {
  const request = planRequest();
  $("c-plan-error").hidden = true;
  if (!request.message.text.trim() || $("c-value").value === "" || $("c-price").value === "") {
    showError(new Error(t("c_plan_need_value")), $("c-plan-error"), "c_invalid");
    return;
  }
  $("c-plan-run").disabled = true;
  $("c-progress").textContent = t("c_planning");
  try {
    let out = await api("/v2/campaigns/plan", { body: request });
    if (out && out.task_id) out = await waitForPlanTask(out);
    composer.plan = out;
    renderPlan();
  } catch (err) {
    showError(err, $("c-plan-error"), "c_plan_failed");
  } finally {
    $("c-plan-run").disabled = false;
    $("c-progress").textContent = "";
  }
}

function planSummary(p) {
  const o = p.optimum;
  const lines = [
    tf("c_plan_text", {
      size: fmtInt(o.size), contacts: fmtInt(p.contacts), conv: fmtDec(o.expected_conversions),
      low: fmtDec(o.low, 0), high: fmtDec(o.high, 0), cost: fmtMoney(o.cost), revenue: fmtMoney(o.revenue),
      profit: fmtMoney(o.profit), roi: fmtRoi(o.roi),
    }),
  ];
  const e = p.everyone_vs_optimum;
  if (e && p.everyone.size > o.size) {
    lines.push(tf("c_plan_everyone", { cost: fmtMoney(e.extra_cost), conv: fmtDec(e.extra_conversions), lost: fmtMoney(e.profit_lost) }));
  }
  if (p.min_roi) {
    lines.push(p.min_roi.size === null
      ? tf("c_plan_min_roi_none", { roi: fmtRoi(p.min_roi.min_roi) })
      : tf("c_plan_min_roi_text", { roi: fmtRoi(p.min_roi.min_roi), size: fmtInt(p.min_roi.size) }));
  }
  if (p.pilot) {
    lines.push(tf("c_plan_pilot", { conv: fmtInt(p.pilot.conversions), n: fmtInt(p.pilot.contacts), pred: fmtDec(p.pilot.predicted_conversions) }));
  }
  return lines.join(" ");
}

function renderPlan() {
  const p = composer.plan;
  const box = $("c-plan-box");
  if (!p) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.dataset.optimumSize = String(p.optimum.size);
  box.dataset.minRoiSize = p.min_roi && p.min_roi.size !== null ? String(p.min_roi.size) : "";
  // The numbers in text: what the chart shows, for screen readers and for anyone.
  $("c-plan-summary").textContent = planSummary(p);
  $("c-plan-uncalibrated").hidden = p.calibrated;
  const datasets = [
    {
      label: t("c_plan_profit"), data: p.curve.map((c) => ({ x: c.size, y: c.profit })),
      borderColor: "#1976d2", backgroundColor: "#1976d2", pointRadius: 0, borderWidth: 2, order: 3,
    },
    {
      label: `${t("c_plan_optimum")}: ${fmtInt(p.optimum.size)}`, type: "scatter",
      data: [{ x: p.optimum.size, y: p.optimum.profit }],
      backgroundColor: "#2e7d32", borderColor: "#1b5e20", pointRadius: 7, pointStyle: "rectRot", order: 1,
    },
  ];
  if (p.min_roi && p.min_roi.point) {
    datasets.push({
      label: `${t("c_plan_min_roi_point")}: ${fmtInt(p.min_roi.size)}`, type: "scatter",
      data: [{ x: p.min_roi.point.size, y: p.min_roi.point.profit }],
      backgroundColor: "#ef6c00", borderColor: "#e65100", pointRadius: 6, pointStyle: "triangle", order: 2,
    });
  }
  $("c-plan-chart").setAttribute("aria-label", t("c_plan"));
  upsertChart("plan", "c-plan-chart", {
    type: "line",
    data: { datasets },
    options: {
      animation: false, responsive: true, aspectRatio: 2.5, parsing: true,
      scales: {
        x: { type: "linear", beginAtZero: true, title: { display: true, text: t("c_plan_size") }, ticks: { precision: 0 } },
        y: { title: { display: true, text: t("c_plan_profit") } },
      },
      plugins: { legend: { display: true } },
    },
  });
}

function useOptimum() {
  if (!composer.plan) return;
  $("c-amount").value = String(Math.max(1, composer.plan.optimum.size));
  markPreviewStale();
}

// --- composer: send / schedule ---------------------------------------------------------------

async function send(extra) {
  if (!composer.draft) return;
  const id = composer.draft.campaign_id;
  $("c-send-error").hidden = true;
  setBusy(true, t("c_sending"));
  try {
    await api(campaignPath(id, "send"), { body: extra });
    composer.draft = null;
    composer.preview = null;
    $("c-preview-box").hidden = true;
    $("c-stale").hidden = true;
    loadCampaigns().catch(showError);
    openCampaign(id);
  } catch (err) {
    showError(err, $("c-send-error"), "c_send_failed");
    // An admin may send anyway while the REPEP copy is stale; the reason is recorded.
    if (err instanceof ApiFailure && err.code === "repep_stale") $("c-override").hidden = false;
  } finally {
    setBusy(false);
  }
}

function sendAt() {
  const value = $("c-send-at").value;
  const at = value ? new Date(value) : null;
  if (!at || Number.isNaN(at.getTime())) {
    showError(new Error(t("c_pick_time")), $("c-send-error"), "c_invalid");
    return;
  }
  send({ at: at.toISOString() });
}

function sendOverride() {
  const reason = $("c-override-reason").value.trim();
  if (reason.length < 5) {
    showError(new Error(t("c_override_short")), $("c-send-error"), "c_invalid");
    return;
  }
  const value = $("c-send-at").value;
  send(value ? { at: new Date(value).toISOString(), override_stale_repep: reason } : { override_stale_repep: reason });
}

// --- a campaign's page: the live funnel ------------------------------------------------------

function openCampaign(id) {
  clearTimeout(campaignPage.timer);
  Object.assign(campaignPage, { id, report: null, funnel: null, predictions: null, completedAt: null });
  $("cp-recal-status").textContent = "";
  delete $("cp-recal-status").dataset.version;
  history.replaceState(null, "", `#campaign=${encodeURIComponent(id)}`);
  $("cp-error").hidden = true;
  $("campaign-page").hidden = false;
  $("campaign-page").dataset.campaignId = id;
  renderCampaignPage();
  $("campaign-page").scrollIntoView({ block: "start" });
  api(campaignPath(id))
    .then((report) => {
      if (campaignPage.id !== id) return;
      campaignPage.report = report;
      renderCampaignPage();
      if (report.status !== "ready") return null;
      return api(campaignPath(id, "predictions")).then((pred) => {
        if (campaignPage.id !== id) return;
        campaignPage.predictions = pred;
        renderCampaignPage();
      });
    })
    .catch((err) => showError(err, $("cp-error")));
  refreshFunnel(id);
}

function closeCampaign() {
  clearTimeout(campaignPage.timer);
  campaignPage.id = null;
  $("campaign-page").hidden = true;
  history.replaceState(null, "", location.pathname + location.search);
}

// Deliveries not reported yet (neither delivered, failed nor given up on).
const awaitingReceipts = (f) => Math.max(0, (f.sent || 0) - (f.delivered || 0) - (f.delivery_failed || 0) - (f.delivery_unknown || 0));

function keepPolling(f) {
  if (!f) return true; // no answer yet (or an error): try again
  if (LIVE_SEND_STATUSES.includes(f.send_status)) return true;
  if (f.send_status !== "completed" || !awaitingReceipts(f)) return false;
  campaignPage.completedAt = campaignPage.completedAt || Date.now();
  return Date.now() - campaignPage.completedAt < RECEIPTS_WAIT_MS;
}

async function refreshFunnel(id) {
  clearTimeout(campaignPage.timer);
  try {
    const f = await api(campaignPath(id, "funnel"));
    if (campaignPage.id !== id) return;
    const before = campaignPage.funnel && campaignPage.funnel.send_status;
    campaignPage.funnel = f;
    // The campaigns table shows the send status too (completed, paused...).
    if (before && before !== f.send_status) loadCampaigns().catch(showError);
    $("cp-error").hidden = true;
    renderCampaignPage();
  } catch (err) {
    if (campaignPage.id !== id) return;
    showError(err, $("cp-error"));
    if (err instanceof Unauthorized) return;
  }
  const live = keepPolling(campaignPage.funnel);
  $("cp-live").hidden = !live;
  $("campaign-page").dataset.live = live ? "1" : "";
  if (live) campaignPage.timer = setTimeout(() => refreshFunnel(id), FUNNEL_POLL_MS);
}

async function control(action) {
  const id = campaignPage.id;
  if (!id) return;
  if (action === "cancel" && !window.confirm(t("cp_confirm_cancel"))) return;
  try {
    await api(campaignPath(id, action), { body: {} });
    campaignPage.completedAt = null;
    await refreshFunnel(id);
    loadCampaigns().catch(showError);
  } catch (err) {
    showError(err, $("cp-error"), "cp_action_failed");
  }
}

function setFunnelCard(id, text, value) {
  $(id).textContent = text;
  $(id).dataset.value = value === undefined || value === null ? "" : String(value);
}

function renderCampaignPage() {
  if (!campaignPage.id) return;
  const r = campaignPage.report || {};
  const f = campaignPage.funnel;
  $("cp-name").textContent = r.name || campaignPage.id;
  const status = f ? f.send_status : r.send_status;
  $("cp-status").textContent = status ? t(`ss_${status}`) : r.status ? t(`st_${r.status}`) : "";
  $("cp-status").dataset.status = status || "";
  $("cp-pause").disabled = !["sending", "scheduled"].includes(status);
  $("cp-resume").disabled = status !== "paused";
  $("cp-cancel").disabled = !["draft", "sending", "scheduled", "paused"].includes(status);

  const times = [];
  if (f && f.send_at) times.push(`${t("cp_send_at")}: ${fmtTime(f.send_at)}`);
  if (f && f.send_started_at) times.push(`${t("cp_started")}: ${fmtTime(f.send_started_at)}`);
  if (f && f.send_until) times.push(`${t("cp_until")}: ${fmtTime(f.send_until)}`);
  if (f && f.repep_override) times.push(`${t("cp_repep_override")} ${f.repep_override.reason || ""}`);
  $("cp-times").textContent = times.join(" · ");

  const n = (k) => (f ? f[k] : null);
  setFunnelCard("cp-sent", fmtNum(n("sent")), n("sent"));
  setFunnelCard("cp-delivered", fmtNum(n("delivered")), n("delivered"));
  const failed = f ? (f.failed || 0) + (f.delivery_failed || 0) : null;
  setFunnelCard("cp-failed", fmtNum(failed), failed);
  $("cp-failed").title = f ? tf("cp_failed_split", { send: fmtInt(f.failed || 0), delivery: fmtInt(f.delivery_failed || 0) }) : "";
  setFunnelCard("cp-replied", fmtNum(n("replied")), n("replied"));
  setFunnelCard("cp-opted-out", fmtNum(n("opted_out")), n("opted_out"));
  setFunnelCard("cp-clicked", fmtNum(n("clicked")), n("clicked"));
  setFunnelCard("cp-converted", fmtNum(n("converted")), n("converted"));
  setFunnelCard("cp-cost", fmtMoney(n("cost")), n("cost"));
  setFunnelCard("cp-revenue", fmtMoney(n("revenue")), n("revenue"));
  setFunnelCard("cp-roi", fmtPct(n("roi")), n("roi"));

  $("cp-progress").textContent = f ? [
    `${t("c_targeted")}: ${fmtInt(f.targeted || 0)}`,
    `${t("cp_pending")}: ${fmtInt(f.pending || 0)}`,
    `${t("cp_in_flight")}: ${fmtInt(f.in_flight || 0)}`,
    `${t("cp_skipped")}: ${fmtInt(f.skipped || 0)}`,
    `${t("cp_awaiting")}: ${fmtInt(awaitingReceipts(f))}`,
    `${t("cp_unknown")}: ${fmtInt((f.unknown || 0) + (f.delivery_unknown || 0))}`,
    `${t("cp_segments")}: ${fmtInt(f.segments || 0)}`,
  ].join(" · ") : "";

  renderDeliveries(f);
  renderReasons(f);
  renderStates(f);
  renderLift(r.control);
  renderPredictions(campaignPage.predictions);
}

// --- a campaign's page: what it caused, and how the predictions held -------------------------

const fmtPoints = (x) => (x === null || x === undefined ? "–" : fmtDec(x * 100, 2));

function renderLift(c) {
  const box = $("cp-control");
  box.hidden = !c;
  if (!c) return;
  const l = c.lift;
  box.dataset.verdict = l.verdict;
  const small = l.verdict === "too_small_to_tell";
  $("cp-lift-small").hidden = !small;
  $("cp-lift-summary").textContent = l.difference === null || l.difference === undefined
    ? t("cp_lift_none")
    : `${t(`v_${l.verdict}`)} ${tf("cp_lift_text", {
      inc: fmtDec(l.incremental_conversions), lo: fmtDec(l.incremental_low), hi: fmtDec(l.incremental_high),
      diff: fmtPoints(l.difference), dlo: fmtPoints(l.difference_low), dhi: fmtPoints(l.difference_high),
    })}`;
  const body = $("cp-lift").tBodies[0];
  body.replaceChildren();
  for (const [label, n, k, rate] of [
    ["cp_treatment", l.treatment, l.treatment_converted, l.treatment_rate],
    ["cp_control_group", l.control, l.control_converted, l.control_rate],
  ]) {
    const tr = el("tr");
    tr.appendChild(el("td", t(label)));
    tr.appendChild(el("td", fmtInt(n)));
    tr.appendChild(el("td", fmtInt(k)));
    tr.appendChild(el("td", fmtPct(rate)));
    body.appendChild(tr);
  }
}

function renderPredictions(p) {
  const box = $("cp-predictions");
  box.hidden = !p;
  if (!p) return;
  box.dataset.assessment = p.assessment;
  const o = p.overall;
  $("cp-pred-summary").textContent = tf("cp_pred_text", {
    exp: fmtDec(o.expected), low: fmtDec(o.low, 0), high: fmtDec(o.high, 0), act: fmtInt(o.actual),
    rel: p.relative_error === null ? "–" : fmtPct(p.relative_error), ece: fmtDec(p.ece, 3),
    auc: p.auc === null ? "–" : fmtDec(p.auc, 3),
  });
  const level = p.at_pilot_level;
  $("cp-pred-pilot").hidden = !level;
  $("cp-pred-pilot").textContent = level
    ? tf("cp_pred_pilot", {
      exp: fmtDec(level.expected), low: fmtDec(level.low, 0), high: fmtDec(level.high, 0),
      act: fmtInt(level.actual), ece: fmtDec(level.ece, 3),
    })
    : "";
  $("cp-pred-advice").textContent = state.lang === "en" ? p.recommendation_en : p.recommendation_es;
  // The advice is to retrain or recalibrate: the second is one click (an admin key).
  $("cp-recal").hidden = p.assessment !== "retrain";
  const body = $("cp-pred-deciles").tBodies[0];
  body.replaceChildren();
  for (const d of p.by_decile) {
    const tr = el("tr");
    tr.dataset.decile = String(d.decile);
    tr.appendChild(el("td", String(d.decile)));
    tr.appendChild(el("td", fmtInt(d.contacts)));
    tr.appendChild(el("td", `${fmtDec(d.expected)} (${fmtDec(d.low, 0)}–${fmtDec(d.high, 0)})`));
    tr.appendChild(el("td", fmtInt(d.actual)));
    body.appendChild(tr);
  }
}

async function recalibrateFromCampaign() {
  const id = campaignPage.id;
  const status = $("cp-recal-status");
  $("cp-recalibrate").disabled = true;
  $("cp-error").hidden = true;
  status.textContent = t("cp_recal_running");
  try {
    const task = await api("/v2/models/recalibrations", { body: { campaign_ids: [id] } });
    const done = await finishedTask(task, (pct) => { status.textContent = `${t("cp_recal_running")}${pct}`; });
    if (!done) throw new Error(t("cp_recal_failed"));
    if (done.status === "failed") throw new Error(taskFailure(done));
    const r = done.result;
    const s = r.recalibration;
    status.textContent = tf("cp_recal_done", {
      version: r.version, method: s.method, rows: fmtInt(s.rows), conv: fmtInt(s.conversions),
      before: fmtDec(s.ece_previous_map, 3), after: fmtDec(s.ece, 3), sent: fmtInt(r.rescore.sent),
    });
    status.dataset.version = r.version;
  } catch (err) {
    status.textContent = "";
    showError(err, $("cp-error"), "cp_recal_failed");
  } finally {
    $("cp-recalibrate").disabled = false;
  }
}

function minuteLabel(minute) {
  // "2025-01-02T15:04" (UTC, from the events' ISO times) -> the reader's local time.
  const d = new Date(`${minute}:00Z`);
  return Number.isNaN(d.getTime()) ? minute : d.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

function renderDeliveries(f) {
  const points = (f && f.deliveries_over_time) || [];
  $("cp-deliveries-empty").hidden = points.length > 0;
  upsertChart("deliveries", "cp-deliveries-chart", {
    type: "bar",
    data: {
      labels: points.map((p) => minuteLabel(p.minute)),
      datasets: [{ label: t("cp_delivered"), data: points.map((p) => p.delivered), backgroundColor: "#2e7d32", maxBarThickness: 48 }],
    },
    options: { animation: false, responsive: true, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function renderReasons(f) {
  const body = $("cp-reasons").tBodies[0];
  body.replaceChildren();
  const rows = [];
  if (f) {
    for (const [r, c] of Object.entries(f.failed_by_reason || {})) rows.push(["stage_send", r, c]);
    for (const [r, c] of Object.entries(f.delivery_failed_by_reason || {})) rows.push(["stage_delivery", r, c]);
    for (const [r, c] of Object.entries(f.skipped_by_reason || {})) rows.push(["stage_skip", r, c, t(`skip_${r}`)]);
  }
  rows.sort((a, b) => b[2] - a[2]);
  for (const [stage, reason, count, label] of rows) {
    const tr = el("tr");
    tr.dataset.stage = stage;
    tr.dataset.reason = reason;
    tr.appendChild(el("td", t(stage)));
    tr.appendChild(el("td", label && label !== `skip_${reason}` ? label : reason));
    tr.appendChild(el("td", fmtInt(count)));
    body.appendChild(tr);
  }
  $("cp-reasons-empty").hidden = rows.length > 0;
}

function renderStates(f) {
  const body = $("cp-states").tBodies[0];
  body.replaceChildren();
  const rows = (f && f.by_state) || [];
  for (const s of rows) {
    const tr = el("tr");
    tr.dataset.state = s.state_code;
    tr.appendChild(el("td", s.state_code === "??" ? "–" : s.state_code));
    for (const k of ["sent", "delivered", "failed", "skipped", "unknown", "converted"]) tr.appendChild(el("td", fmtInt(s[k] || 0)));
    body.appendChild(tr);
  }
  $("cp-states-empty").hidden = rows.length > 0;
}

// --- wiring ----------------------------------------------------------------------------------

function localNowForInput() {
  const d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

function wireCampaigns() {
  for (const id of ["c-text", "c-opt-out"]) $(id).addEventListener("input", scheduleCompose);
  $("c-gsm-replace").addEventListener("change", scheduleCompose);
  $("c-form").addEventListener("input", markPreviewStale);
  $("c-form").addEventListener("change", markPreviewStale);
  $("c-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    runPreview();
  });
  // One filter form: the audience builder's (audience.js); its changes outdate a preview.
  document.addEventListener("audiencechange", markPreviewStale);
  $("c-send-now").addEventListener("click", () => send({}));
  $("c-schedule").addEventListener("click", sendAt);
  $("c-override-send").addEventListener("click", sendOverride);
  $("c-send-at").min = localNowForInput();
  $("cp-pause").addEventListener("click", () => control("pause"));
  $("cp-resume").addEventListener("click", () => control("resume"));
  $("cp-cancel").addEventListener("click", () => control("cancel"));
  $("cp-close").addEventListener("click", closeCampaign);
  $("c-plan-run").addEventListener("click", runPlan);
  $("cp-recalibrate").addEventListener("click", recalibrateFromCampaign);
  $("c-plan-use").addEventListener("click", useOptimum);
  // A campaign opened from a link before the key was given: load it with the key.
  $("key-form").addEventListener("submit", () => {
    if (campaignPage.id) openCampaign(campaignPage.id);
  });
  document.addEventListener("langchange", () => {
    renderCampaigns();
    renderCounter();
    renderPreview();
    renderPlan();
    renderCampaignPage();
  });
  renderCounter();
  const linked = /^#campaign=(cmp_[0-9a-f]+)$/.exec(location.hash);
  if (linked) openCampaign(linked[1]);
}

document.addEventListener("DOMContentLoaded", wireCampaigns);
