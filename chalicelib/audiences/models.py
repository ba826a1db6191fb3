"""Messages of the audiences capability, shared by their producer and their consumer."""

from __future__ import annotations

from pydantic import BaseModel, Field

TASK_ID_PATTERN = r"^ex_[0-9a-f]{8,40}$"


class ExtractMessage(BaseModel):
    """Body of an `extract` message: one large extraction task to run."""

    task_id: str = Field(pattern=TASK_ID_PATTERN)
