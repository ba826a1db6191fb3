"""Every error code the API answers with, and its message in Spanish and English: one
place to read, review and translate them. A raise site names the code and the
template's parameters (`ApiError(404, "not_found", {"id": ...}, what_es=..., what_en=...)`);
chalicelib/core/errors.py builds the one error shape from this table.

The templates are `str.format` templates: parameters in braces, a literal brace
doubled. tests/unit/test_error_catalogue.py fails on a code raised anywhere in
chalicelib/ that is not here, and on an entry whose two templates differ in their
parameters."""

from __future__ import annotations

from collections.abc import Mapping

# Kinds of id a path carries (`check_id`): each answers `invalid_<kind>_id`.
ID_KINDS = ("campaign", "import", "key", "task", "upload")

# Why a file cannot be read as a contact table (chalicelib/ingest/readers.py): answered
# by the upload, preview, opt-out and outcome endpoints, and kept on a failed upload.
FILE_ERRORS: Mapping[str, tuple[str, str]] = {
    "unsupported_format": (
        "Formato de archivo no compatible. Sube un archivo CSV, TXT o XLSX.",
        "Unsupported file format. Upload a CSV, TXT or XLSX file.",
    ),
    "legacy_xls": (
        "Los archivos .xls (Excel 97-2003) no son compatibles. Guárdalo como .xlsx o CSV.",
        "Legacy .xls (Excel 97-2003) files are not supported. Save it as .xlsx or CSV.",
    ),
    "empty_file": ("El archivo está vacío: no tiene números.", "The file is empty: no numbers."),
    "xlsx_too_large": (
        "El archivo de Excel es demasiado grande. Expórtalo como CSV.",
        "The Excel file is too large. Export it as CSV instead.",
    ),
    "corrupt_xlsx": (
        "El archivo de Excel está dañado o no se puede leer.",
        "The Excel file is damaged or cannot be read.",
    ),
    "line_too_long": (
        "El archivo tiene una línea demasiado larga; no parece un archivo de contactos.",
        "The file has an overly long line; it does not look like a contact file.",
    ),
    "malformed_csv": (
        "El archivo CSV está mal formado (¿comillas sin cerrar?).",
        "The CSV file is malformed (unclosed quotes?).",
    ),
    "time_limit": (
        "El archivo tardó demasiado en leerse; se guardaron las filas leídas hasta ahí.",
        "The file took too long to read; the rows read until then were stored.",
    ),
    "xlsx_too_many_rows": (
        "La hoja de Excel declara más filas de las que Excel permite (1,048,576).",
        "The Excel sheet declares more rows than Excel allows (1,048,576).",
    ),
    "xlsx_too_many_cells": (
        "La hoja de Excel tiene demasiadas celdas. Expórtala como CSV.",
        "The Excel sheet has too many cells. Export it as CSV instead.",
    ),
    "xml_entities": (
        "El archivo de Excel declara entidades XML (DTD); no se lee por seguridad.",
        "The Excel file declares XML entities (DTD); it is not read, for safety.",
    ),
}

CATALOGUE: Mapping[str, tuple[str, str]] = {
    **FILE_ERRORS,
    # -- any endpoint ----------------------------------------------------------------
    "bad_json": ("El cuerpo no es JSON válido", "The body is not valid JSON"),
    "invalid_request": (
        "La solicitud tiene campos inválidos",
        "The request has invalid fields",
    ),
    "body_too_large": (
        "El cuerpo excede {max_bytes} bytes; envíe menos (divida el archivo)",
        "The body exceeds {max_bytes} bytes; send less (split the file)",
    ),
    "not_found": ("{what_es} no encontrado", "{what_en} not found"),
    "bad_state": ("Código de estado no válido", "Invalid state code"),
    **{
        f"invalid_{kind}_id": ("Identificador de {what_es} inválido", "Invalid {what_en} id")
        for kind in ID_KINDS
    },
    "invalid_phone": ("Número inválido: {reason_es}", "Invalid phone number: {reason_en}"),
    "internal_error": ("Error interno; intente de nuevo", "Internal error; please retry"),
    # -- keys, scopes, limits (chalicelib/security) --------------------------------------
    "unauthorized": (
        "Falta una API key válida (Authorization: Bearer alc_...)",
        "A valid API key is required (Authorization: Bearer alc_...)",
    ),
    "forbidden": (
        "La API key no tiene el permiso '{required}'",
        "The API key lacks the '{required}' scope",
    ),
    "rate_limited": (
        "Demasiadas solicitudes con esta API key; reintente en {retry_after_s} s",
        "Too many requests with this API key; retry in {retry_after_s} s",
    ),
    "already_revoked": ("La key ya estaba revocada", "The key was already revoked"),
    # -- health, validation --------------------------------------------------------------
    "storage_unavailable": (
        "El almacenamiento (DynamoDB) no responde",
        "Storage (DynamoDB) is not answering",
    ),
    "busy": (
        "Demasiadas verificaciones en curso; reintente en {retry_after_s} s",
        "Too many checks in flight; retry in {retry_after_s} s",
    ),
    # -- files: a phone column (chalicelib/ingest/columns.py) ----------------------------
    "phone_column_not_found": (
        "No se encontró una columna de teléfonos. Renombra la columna (p. ej. «Teléfono») "
        "o indícala al subir el archivo. Columnas encontradas: {columns_es}.",
        "No phone-number column was found. Rename the column (e.g. “Phone”) or choose it "
        "when uploading. Columns found: {columns_en}.",
    ),
    "phone_column_override_not_found": (
        'La columna indicada "{override}" no existe en el archivo. '
        "Columnas encontradas: {columns_es}.",
        'The requested column "{override}" does not exist in the file. '
        "Columns found: {columns_en}.",
    ),
    "bad_csv": (
        "El CSV necesita una columna 'phone' (o teléfono/celular)",
        "The CSV needs a 'phone' column (or telefono/celular)",
    ),
    # -- audiences, dashboard ------------------------------------------------------------
    "invalid_page_token": ("Token de página inválido", "Invalid page token"),
    "municipality_ambiguous": (
        "Hay un municipio con ese nombre en varios estados: indique el estado",
        "Several states have a municipality of that name: give the state",
    ),
    "asset_missing": (
        "Falta un recurso del tablero; ejecute scripts/bootstrap.sh",
        "A dashboard asset is missing; run scripts/bootstrap.sh",
    ),
    # -- campaigns, sending --------------------------------------------------------------
    "no_revenue": (
        "Esas campañas no tienen conversiones con ingreso: indique value_per_conversion",
        "Those campaigns have no converted outcome with revenue: give value_per_conversion",
    ),
    "not_ready": ("La audiencia aún se está armando", "The audience is still being built"),
    "pilot_not_found": (
        "No existe la campaña piloto {campaign_id}",
        "There is no pilot campaign {campaign_id}",
    ),
    "pilot_not_ready": (
        "La audiencia de la campaña piloto {campaign_id} aún se está armando",
        "The audience of pilot campaign {campaign_id} is still being built",
    ),
    "too_many_exclusions": (
        "Entre exclude_campaigns y las campañas piloto hay más de {limit} campañas",
        "exclude_campaigns and the pilot campaigns add up to more than {limit} campaigns",
    ),
    "pilot_without_outcomes": (
        "Las campañas piloto aún no tienen resultados de contactos que recibieron el "
        "mensaje y tienen puntuación: regístrelos antes de planear con ellas",
        "The pilot campaigns have no outcome yet for a messaged, scored contact: record "
        "their outcomes before planning with them",
    ),
    # -- recalibrating the model's probabilities (chalicelib/scoring/recalibration.py) --
    "no_trained_model": (
        "No hay un modelo entrenado promovido: el modelo inicial no tiene mapa de "
        "probabilidades que reajustar",
        "No trained model is promoted: the prior has no probability map to refit",
    ),
    "recalibration_campaign_not_found": (
        "No existe la campaña {campaign_id}",
        "There is no campaign {campaign_id}",
    ),
    "recalibration_campaign_not_ready": (
        "La audiencia de la campaña {campaign_id} aún se está armando",
        "The audience of campaign {campaign_id} is still being built",
    ),
    "too_few_outcomes_to_recalibrate": (
        "{rows} contactos que recibieron el mensaje con puntuación del modelo {trees} y "
        "{conversions} conversiones ({other} con puntuación de otro modelo): el mapa necesita "
        "al menos {min_rows} contactos y {min_each} de cada resultado",
        "{rows} messaged contacts scored by model {trees} with {conversions} conversions "
        "({other} scored by another model): a map needs at least {min_rows} rows and "
        "{min_each} of each outcome",
    ),
    "no_message": ("La campaña no tiene mensaje", "The campaign has no message"),
    "channel": ("Solo se envían campañas por SMS", "Only SMS campaigns can be sent"),
    "admin_required": (
        "Solo un administrador puede enviar con el REPEP vencido",
        "Only an admin may send with an out-of-date REPEP",
    ),
    "already_sent": (
        "La campaña ya se envió o se programó",
        "The campaign was already sent or scheduled",
    ),
    "not_sending": ("La campaña no se está enviando", "The campaign is not sending"),
    "not_paused": ("La campaña no está en pausa", "The campaign is not paused"),
    "not_cancellable": ("La campaña ya terminó", "The campaign has already ended"),
    "link_not_found": ("Enlace no encontrado o vencido", "Link not found or expired"),
    "bad_signature": ("Firma de Twilio inválida", "Invalid Twilio signature"),
    # -- compliance (REPEP, consent) -----------------------------------------------------
    "empty_list": (
        "El archivo no tiene ningún número válido; la lista REPEP vigente no cambió",
        "The file has no valid number; the REPEP list in force is unchanged",
    ),
    "repep_import_in_progress": (
        "Ya hay una importación de la lista REPEP en curso; espere a que termine",
        "A REPEP import is already running; wait for it to finish",
    ),
    "repep_missing": (
        "No se ha importado la lista REPEP de PROFECO; un administrador puede autorizar "
        "el envío indicando el motivo",
        "PROFECO's REPEP list was never imported; an admin may authorize the send stating a reason",
    ),
    "repep_stale": (
        "La lista REPEP (descargada el {downloaded_at}) venció el {valid_until}; descargue "
        "una nueva de PROFECO e impórtela, o un administrador puede autorizar el envío "
        "indicando el motivo",
        "The REPEP list (downloaded {downloaded_at}) expired on {valid_until}; download a "
        "new one from PROFECO and import it, or an admin may authorize the send stating a "
        "reason",
    ),
    "future_date": (
        "La fecha de descarga de la lista REPEP no puede ser futura",
        "The REPEP download date cannot be in the future",
    ),
    "file_not_uploaded": (
        "El archivo aún no se ha subido a la URL de carga",
        "The file has not been uploaded to the upload URL yet",
    ),
}


def messages(code: str, **params: object) -> tuple[str, str]:
    """(Spanish, English) for `code` with its parameters. KeyError for a code that is not
    in the catalogue: a programming error the catalogue test catches first."""
    es, en = CATALOGUE[code]
    return es.format(**params), en.format(**params)
