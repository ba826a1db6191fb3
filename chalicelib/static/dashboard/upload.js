/* Alcance dashboard, upload: pick or drop a contact file, preview its first rows
   (POST /v2/uploads/preview: the server's reader and normalizer, on the file's first
   256 KB), choose the phone column, PUT the file to its presigned URL (straight to S3:
   the browser streams the File from disk, the page does not hold it), follow the job
   and show its summary. Loaded after app.js, whose helpers it uses. */
"use strict";

Object.assign(I18N.es, {
  u_title: "Cargar contactos", u_drop: "Arrastre aquí un archivo CSV, TXT o XLSX, o",
  u_pick: "Elegir archivo", u_phone_column: "Columna de teléfono", u_detected: "detectada",
  u_method_header: "por su encabezado", u_method_content: "por su contenido", u_method_override: "elegida",
  u_no_preview: "Sin vista previa para este archivo (XLSX de más de 5 MB): la columna se detecta al cargar.",
  u_row: "Fila", u_raw: "Valor en el archivo", u_normalized: "Normalizado", u_start: "Cargar",
  u_cancel: "Cancelar", u_sending: "Enviando el archivo…", u_processing: "Procesando…",
  u_summary: "Resumen de la carga", u_rows: "Filas", u_new: "Nuevos", u_duplicates: "Duplicados",
  u_rejected_report: "Descargar filas rechazadas (CSV)", u_failed: "La carga falló",
  u_put_failed: "No se pudo enviar el archivo", u_network: "error de red o el servidor no respondió",
  u_bad_type: "Tipo de archivo no admitido: use CSV, TXT, TSV o XLSX",
  u_preview_failed: "No se pudo leer el archivo",
  rr_empty: "vacío", rr_not_a_number: "no es un número", rr_too_short: "muy corto", rr_too_long: "muy largo",
  rr_invalid_for_region: "no válido en México", rr_invalid_country_code: "código de país inválido",
  rr_excel_precision_lost: "dañado por Excel (notación científica)", rr_line_too_long: "línea demasiado larga",
  rr_field_too_long: "campo demasiado largo", rr_unclosed_quote: "comillas sin cerrar",
  rr_malformed_row: "fila mal formada", rr_too_many_columns: "demasiadas columnas", rr_too_large: "demasiado grande",
});

Object.assign(I18N.en, {
  u_title: "Upload contacts", u_drop: "Drop a CSV, TXT or XLSX file here, or",
  u_pick: "Choose a file", u_phone_column: "Phone column", u_detected: "detected",
  u_method_header: "by its header", u_method_content: "by its content", u_method_override: "chosen",
  u_no_preview: "No preview for this file (XLSX over 5 MB): the column is detected on upload.",
  u_row: "Row", u_raw: "Value in the file", u_normalized: "Normalized", u_start: "Upload",
  u_cancel: "Cancel", u_sending: "Sending the file…", u_processing: "Processing…",
  u_summary: "Upload summary", u_rows: "Rows", u_new: "New", u_duplicates: "Duplicates",
  u_rejected_report: "Download rejected rows (CSV)", u_failed: "The upload failed",
  u_put_failed: "The file could not be sent", u_network: "network error or no answer from the server",
  u_bad_type: "File type not supported: use CSV, TXT, TSV or XLSX",
  u_preview_failed: "The file could not be read",
  rr_empty: "empty", rr_not_a_number: "not a number", rr_too_short: "too short", rr_too_long: "too long",
  rr_invalid_for_region: "not valid in Mexico", rr_invalid_country_code: "invalid country code",
  rr_excel_precision_lost: "damaged by Excel (scientific notation)", rr_line_too_long: "line too long",
  rr_field_too_long: "field too long", rr_unclosed_quote: "unclosed quote",
  rr_malformed_row: "malformed row", rr_too_many_columns: "too many columns", rr_too_large: "too large",
});

const UPLOAD_TYPES = [".csv", ".txt", ".tsv", ".xlsx"];
const PREVIEW_BYTES = 256 * 1024;
const XLSX_PREVIEW_MAX = 5 * 1024 * 1024;
const UPLOAD_POLL_MS = 1000;
const FINAL = ["completed", "partial", "failed"];

const up = { file: null, preview: null, column: "", job: null, timer: null };
window.dashboardUpload = up; // for the browser tests

const fmtBytes = (n) =>
  n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(0)} KB` : `${n} B`;
const isXlsx = (name) => name.toLowerCase().endsWith(".xlsx");

function uploadError(text) {
  const box = $("u-error");
  box.textContent = text;
  box.hidden = !text;
}

function resetUpload() {
  clearTimeout(up.timer);
  Object.assign(up, { file: null, preview: null, column: "", job: null });
  $("u-file").value = "";
  for (const id of ["u-preview", "u-progress-box", "u-summary"]) $(id).hidden = true;
  uploadError("");
}

async function chooseFile(file) {
  resetUpload();
  if (!UPLOAD_TYPES.some((ext) => file.name.toLowerCase().endsWith(ext))) {
    uploadError(t("u_bad_type"));
    return;
  }
  up.file = file;
  $("u-filename").textContent = file.name;
  $("u-size").textContent = fmtBytes(file.size);
  $("u-preview").hidden = false;
  await loadFilePreview();
}

// The server reads the head of the file as ingest would; an XLSX is a zip and is read
// whole, so only small ones are previewed.
async function loadFilePreview() {
  const file = up.file;
  const xlsx = isXlsx(file.name);
  $("u-no-preview").hidden = !(xlsx && file.size > XLSX_PREVIEW_MAX);
  if (xlsx && file.size > XLSX_PREVIEW_MAX) {
    up.preview = null;
    renderFilePreview();
    return;
  }
  const params = new URLSearchParams({ filename: file.name });
  if (up.column) params.set("phone_column", up.column);
  const head = xlsx ? file : file.slice(0, PREVIEW_BYTES);
  try {
    up.preview = await api(`/v2/uploads/preview?${params}`, { raw: head });
    uploadError("");
  } catch (err) {
    up.preview = null;
    if (err instanceof Unauthorized) return showError(err, $("u-error"), "u_preview_failed");
    uploadError(`${t("u_preview_failed")}: ${err.message || err}`);
  }
  renderFilePreview();
}

function renderFilePreview() {
  const p = up.preview;
  const sel = $("u-column");
  sel.replaceChildren();
  const detected = el("option", p ? `${p.phone_column.name} (${t("u_detected")})` : t("u_detected"));
  detected.value = "";
  sel.appendChild(detected);
  for (const name of (p && p.columns) || []) {
    const o = el("option", name);
    o.value = name;
    sel.appendChild(o);
  }
  sel.value = up.column;
  $("u-method").textContent = p ? t(`u_method_${p.phone_column.method}`) : "";
  const body = $("u-rows").tBodies[0];
  body.replaceChildren();
  for (const r of (p && p.rows) || []) {
    const tr = el("tr", null, r.status === "accepted" ? "accepted" : "rejected");
    tr.appendChild(el("td", r.row));
    tr.appendChild(el("td", r.raw));
    tr.appendChild(el("td", r.e164 || `✗ ${t(`rr_${r.reason}`)}`));
    tr.appendChild(el("td", r.state || "–"));
    body.appendChild(tr);
  }
}

// The PUT goes by XMLHttpRequest for its upload progress events; the File body is read
// from disk as it is sent (a 100 MB file is never in the page's memory).
function putFile(url, headers, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (ev) => ev.lengthComputable && onProgress(ev.loaded / ev.total);
    xhr.onload = () =>
      xhr.status < 300 ? resolve() : reject(new Error(`${t("u_put_failed")} (HTTP ${xhr.status})`));
    xhr.onerror = () => reject(new Error(`${t("u_put_failed")}: ${t("u_network")}`));
    xhr.send(file);
  });
}

function setProgress(stage, fraction) {
  $("u-progress-box").hidden = false;
  $("u-stage").textContent = t(stage);
  $("u-stage").dataset.i18n = stage;
  $("u-progress").value = fraction;
  $("u-percent").textContent = `${Math.round(fraction * 100)}%`;
}

async function startUpload() {
  const file = up.file;
  if (!file) return;
  uploadError("");
  $("u-start").disabled = true;
  try {
    const body = { filename: file.name };
    if (up.column) body.phone_column = up.column;
    const info = await api("/v2/uploads", { body });
    setProgress("u_sending", 0);
    await putFile(info.upload_url, info.upload_headers, file, (f) => setProgress("u_sending", f));
    up.job = { upload_id: info.upload_id, status: "awaiting_upload" };
    setProgress("u_processing", 0);
    loadUploads().catch(showError);
    await followUpload(info.upload_id);
  } catch (err) {
    $("u-progress-box").hidden = true;
    if (err instanceof Unauthorized) showError(err, $("u-error"), "u_failed");
    else uploadError(`${t("u_failed")}: ${err.message || err}`);
  } finally {
    $("u-start").disabled = false;
  }
}

function followUpload(id) {
  return new Promise((resolve, reject) => {
    const tick = async () => {
      try {
        up.job = await api(`/v2/uploads/${encodeURIComponent(id)}`);
      } catch (err) {
        return reject(err);
      }
      setProgress("u_processing", Number(up.job.progress || 0));
      if (FINAL.includes(up.job.status)) {
        renderUploadSummary();
        loadUploads().catch(showError);
        loadSummary().catch(showError);
        return resolve();
      }
      up.timer = setTimeout(tick, UPLOAD_POLL_MS);
    };
    tick();
  });
}

function renderUploadSummary() {
  const job = up.job;
  if (!job || !FINAL.includes(job.status)) return;
  $("u-preview").hidden = true;
  $("u-progress-box").hidden = true;
  const c = job.counts || {};
  $("u-summary").hidden = false;
  $("u-summary").dataset.status = job.status;
  $("u-status").textContent = t(`st_${job.status}`);
  for (const [id, key] of [["rows", "rows"], ["accepted", "accepted"], ["new", "new"], ["duplicates", "duplicates"], ["rejected", "rejected"]]) {
    const node = $(`u-count-${id}`);
    node.textContent = fmtInt(c[key] || 0);
    node.dataset.value = String(c[key] || 0);
  }
  const body = $("u-reasons").tBodies[0];
  body.replaceChildren();
  for (const [reason, n] of Object.entries(c.rejected_by_reason || {})) {
    const tr = el("tr");
    tr.dataset.reason = reason;
    tr.appendChild(el("td", t(`rr_${reason}`)));
    tr.appendChild(el("td", fmtInt(n)));
    body.appendChild(tr);
  }
  const link = $("u-rejected-link");
  const rejected = (job.reports || {}).rejected;
  link.hidden = !rejected;
  if (rejected) link.href = rejected;
  if (job.status === "failed" && job.error) {
    uploadError(`${t("u_failed")}: ${job.error[state.lang === "es" ? "message_es" : "message_en"] || job.error.code}`);
  }
}

function wireUpload() {
  const drop = $("u-drop");
  $("u-file").addEventListener("change", (ev) => {
    const f = ev.target.files && ev.target.files[0];
    if (f) chooseFile(f).catch(showError);
  });
  drop.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    const f = ev.dataTransfer.files && ev.dataTransfer.files[0];
    if (f) chooseFile(f).catch(showError);
  });
  $("u-column").addEventListener("change", (ev) => {
    up.column = ev.target.value;
    loadFilePreview().catch(showError);
  });
  $("u-start").addEventListener("click", () => startUpload());
  $("u-cancel").addEventListener("click", resetUpload);
  document.addEventListener("langchange", () => {
    if (up.preview) renderFilePreview();
    renderUploadSummary();
    const stage = $("u-stage").dataset.i18n;
    if (stage) $("u-stage").textContent = t(stage);
  });
}

document.addEventListener("DOMContentLoaded", wireUpload);
