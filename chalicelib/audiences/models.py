"""Messages of the audiences capability, shared by their producer and their consumer."""

from __future__ import annotations

from pydantic import BaseModel, Field

# ex_: an extraction (or a campaign's snapshot); oc_: a campaign's outcome file;
# rp_: a REPEP list import (chalicelib/compliance).
TASK_ID_PATTERN = r"^(ex|oc|rp|pl)_[0-9a-f]{8,40}$"


class ExtractMessage(BaseModel):
    """Body of an `extract` message: one task to run (an extraction or an outcome file)."""

    task_id: str = Field(pattern=TASK_ID_PATTERN)
