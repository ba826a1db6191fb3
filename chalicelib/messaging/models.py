"""What the messaging capability takes and queues: the message of a campaign, the send /
schedule request, and the two kinds of `send` queue message."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.core.bounds import Bounded
from chalicelib.core.schemas import Strict
from chalicelib.domain.message_template import DEFAULT_OPT_OUT, Template, opt_out_line

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# Recipients' states in a campaign: every targeted number ends in exactly one.
State = Literal["sending", "sent", "failed", "skipped", "unknown"]
FINAL_STATES: tuple[str, ...] = ("sent", "failed", "skipped", "unknown")
SkipReason = Literal["opt_out", "repep", "window_expired", "invalid", "no_consent", "cancelled"]
SKIP_REASONS: tuple[str, ...] = (
    "opt_out",
    "repep",
    "window_expired",
    "invalid",
    "no_consent",
    "cancelled",
)
SendStatus = Literal["draft", "scheduled", "sending", "paused", "cancelled", "completed", "refused"]


class ComposeIn(BaseModel):
    """A message as written: the template and its opt-out line (the composer's live
    counter takes just this)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1600)
    opt_out_line: str = Field(default=DEFAULT_OPT_OUT, min_length=1, max_length=200)
    # Replace á í ó ú (and look-alike quotes, dashes) so the message stays GSM-7. On by
    # default: one "á" (the default opt-out line's "más") makes every segment 70
    # characters instead of 160; the preview shows the text before and after.
    gsm_replace: bool = True

    @field_validator("text")
    @classmethod
    def _template(cls, v: str) -> str:
        Template.parse(v)  # TemplateError (a ValueError) says where and why, es/en
        return v

    @field_validator("opt_out_line")
    @classmethod
    def _opt_out(cls, v: str) -> str:
        return opt_out_line(v)


class MessageSpec(ComposeIn):
    """The campaign's message: a template with {placeholders}, the opt-out line every
    message ends with, and when recipients may receive it (their own local hours)."""

    window_start: str = "09:00"
    window_end: str = "21:00"
    # Recipients not reached within this many hours of the send's start are skipped
    # (`window_expired`): a promotion is not sent days late.
    valid_hours: Annotated[int, Bounded(1, 14 * 24)] = 48
    # Only numbers with a recorded consent (else `no_consent`); REPEP numbers always
    # need one.
    require_consent: bool = False

    @field_validator("window_start", "window_end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("use HH:MM, 24 h")
        return v

    @model_validator(mode="after")
    def _window(self) -> MessageSpec:
        if self.start_time >= self.end_time:
            raise ValueError("window_start must be before window_end (same day)")
        return self

    @property
    def start_time(self) -> time:
        return time.fromisoformat(self.window_start)

    @property
    def end_time(self) -> time:
        return time.fromisoformat(self.window_end)


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None: now. Else the earliest moment the campaign may start (recipients still wait
    # for their own window).
    at: datetime | None = None
    # An admin may send while the REPEP copy is older than its validity; the reason is
    # kept with the campaign.
    override_stale_repep: str | None = Field(default=None, min_length=5, max_length=300)


class ConversionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=6, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    revenue: Annotated[float, Bounded(0, 1e9)] = 0.0


class FanoutMessage(BaseModel):
    """Write the campaign's audience to the queue as recipients messages. `run` tells a
    resumed campaign's fan-out from an older one still in the queue."""

    kind: Literal["fanout"] = "fanout"
    campaign_id: str
    run: int = 0


class RecipientsMessage(BaseModel):
    kind: Literal["recipients"] = "recipients"
    campaign_id: str
    run: int = 0
    numbers: list[str] = Field(max_length=100)
    # Provider refusals so far (throttling, 5xx) for these numbers.
    attempt: int = 0
    # Numbers whose claim was found in flight: to be settled, never sent.
    settle: bool = False


class SendQueueMessage(BaseModel):
    body: FanoutMessage | RecipientsMessage = Field(discriminator="kind")


# -- answers (published in the OpenAPI document; chalicelib/core/routes.py checks every
# dict answer against its model) ---------------------------------------------------------


class Analysis(Strict):
    encoding: str = Field(description="gsm7 or ucs2")
    units: int
    segments: int
    remaining: int = Field(description="Units left in the last segment")
    forcing_ucs2: list[str] = Field(description="Characters outside GSM-7")


class Replacement(Strict):
    before: str
    after: str
    changed: bool
    segments_before: int
    segments_after: int
    segments_saved: int
    encoding_after: str


class ComposeOut(Analysis):
    placeholders: list[str]
    links: list[str]
    opt_out_line: str
    replacement: Replacement


class SampleMessage(Analysis):
    body: str
    missing: list[str] = Field(description="Placeholders the contact has no value for")


class RepepInForce(Strict):
    downloaded_at: str | None
    valid_until: str | None
    stale: bool
    count: int


class SendPreview(Strict):
    campaign_id: str
    targeted: int
    estimated: bool = Field(description="Counted on a sample of the audience, scaled")
    recipients: int
    open_now: int = Field(description="Recipients inside their allowed hours now")
    skipped: dict[str, int]
    message: ComposeOut
    segments_per_message: float
    price_per_segment: float
    estimated_cost: float
    samples: list[SampleMessage]
    repep: RepepInForce
    plan: dict[str, Any] | None = Field(description="With value_per_conversion: the plan")


class SendOut(Strict):
    campaign_id: str
    send_status: SendStatus
    send_at: str
    status_url: str


class SendControlOut(Strict):
    campaign_id: str
    send_status: SendStatus


class FunnelOut(Strict):
    send_status: str
    targeted: int
    pending: int
    in_flight: int
    sent: int
    failed: int
    skipped: int
    unknown: int
    skipped_by_reason: dict[str, int]
    failed_by_reason: dict[str, int]
    delivered: int
    delivery_failed: int
    delivery_failed_by_reason: dict[str, int]
    delivery_unknown: int
    replied: int
    opted_out: int
    clicked: int
    converted: int
    segments: int
    cost: float
    revenue: float
    profit: float
    roi: float | None
    deliveries_over_time: list[dict[str, Any]] = Field(description="{minute, delivered}")
    by_state: list[dict[str, Any]]
    send_at: str | None
    send_started_at: str | None
    send_until: str | None
    repep_override: dict[str, Any] | None


class ConversionOut(Strict):
    campaign_id: str
    converted: bool
    revenue: float


class DeliveryRecorded(Strict):
    recorded: bool = Field(description="False: the callback named no message of ours")
