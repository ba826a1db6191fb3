"""SMS sender adapters behind one contract (base.py); config.py picks one per stage."""

from chalicelib.messaging.senders.base import (
    Outcome,
    SenderMisconfigured,
    SendRequest,
    SendResult,
    SmsSender,
)

__all__ = ["Outcome", "SendRequest", "SendResult", "SenderMisconfigured", "SmsSender"]
