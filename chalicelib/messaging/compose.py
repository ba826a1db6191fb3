"""The campaign's message through the domain's composer (chalicelib/domain/
message_template.py, sms_encoding.py): parsed once per text, rendered per recipient,
and the JSON the composer's live counter and the preview show."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from chalicelib.domain.message_template import (
    Composed,
    Template,
    compose,
    find_urls,
    opt_out_line,
)
from chalicelib.domain.sms_encoding import Analysis, replacement_preview
from chalicelib.messaging.models import MessageSpec


@lru_cache(maxsize=64)
def template(text: str) -> Template:
    return Template.parse(text)


def render(
    spec: MessageSpec, attributes: Mapping[str, object], link_for: Callable[[str], str]
) -> Composed:
    """The body one recipient gets: placeholders, short links, opt-out line, GSM-7."""
    return compose(
        template(spec.text),
        attributes,
        opt_out=spec.opt_out_line,
        gsm_replace=spec.gsm_replace,
        link_for=link_for,
    )


def _analysis_json(a: Analysis) -> dict[str, Any]:
    return {
        "encoding": a.encoding.value,
        "units": a.units,
        "segments": a.segments,
        "remaining": a.remaining,
        "forcing_ucs2": list(a.forcing_ucs2),
    }


def preview_render(
    spec: MessageSpec, attributes: Mapping[str, object], sample_link: str
) -> dict[str, Any]:
    """One recipient's message as the preview shows it: links as a sample short link
    (`sample_link`, as long as the real ones), so the segments are the ones billed."""
    c = compose(
        template(spec.text),
        attributes,
        opt_out=spec.opt_out_line,
        gsm_replace=spec.gsm_replace,
        link_for=lambda _url: sample_link,
    )
    return {"body": c.body, "missing": list(c.missing), **_analysis_json(c.analysis)}


def analysis(text: str, opt_out: str, gsm_replace: bool, sample_link: str) -> dict[str, Any]:
    """The composer's counter: the message with its opt-out line (placeholders as
    written, links at short-link length), and what replacing accents would save.
    Raises TemplateError (bilingual) for a template or opt-out line that cannot work."""
    t = template(text)
    as_written = compose(
        t, {}, opt_out=opt_out, gsm_replace=False, link_for=lambda _url: sample_link
    )
    replaced = replacement_preview(as_written.body)
    chosen = replaced.after_analysis if gsm_replace else replaced.before_analysis
    return {
        **_analysis_json(chosen),
        "placeholders": list(t.placeholders),
        "links": find_urls(text),
        "opt_out_line": opt_out_line(opt_out),
        "replacement": {
            "before": replaced.before,
            "after": replaced.after,
            "changed": replaced.changed,
            "segments_before": replaced.before_analysis.segments,
            "segments_after": replaced.after_analysis.segments,
            "segments_saved": replaced.segments_saved,
            "encoding_after": replaced.after_analysis.encoding.value,
        },
    }
