"""Composition root: builds the services from the clients, once per container."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from chalicelib import resources
from chalicelib.aws import Clients, default_clients
from chalicelib.config import Settings
from chalicelib.ingest.service import IngestService, UploadRef, now_iso, upload_id_for
from chalicelib.store.contacts import ContactStore
from chalicelib.store.jobs import JobStore
from chalicelib.store.outcomes import OutcomeStore


@dataclass(eq=False)
class Wiring:
    clients: Clients
    followup_queues: tuple[str, ...] = field(default=())

    @property
    def settings(self) -> Settings:
        return self.clients.settings

    @cached_property
    def contacts(self) -> ContactStore:
        return ContactStore(self.clients.dynamodb, self.settings.name(resources.CONTACTS.suffix))

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.clients.dynamodb, self.settings.name(resources.JOBS.suffix))

    @cached_property
    def outcomes(self) -> OutcomeStore:
        return OutcomeStore(self.clients.dynamodb, self.settings.name(resources.OUTCOMES.suffix))

    @cached_property
    def ingest(self) -> IngestService:
        urls = tuple(self.clients.queue_url(q) for q in self.followup_queues)
        return IngestService(self.clients, self.contacts, self.jobs, urls)

    def mark_retrying(self, ref: UploadRef) -> None:
        self.jobs.update(
            upload_id_for(ref.key, ref.etag), {"status": "retrying", "updated_at": now_iso()}
        )


_wiring: Wiring | None = None


def wiring() -> Wiring:
    global _wiring
    if _wiring is None:
        _wiring = Wiring(default_clients())
    return _wiring


def reset_wiring(w: Wiring | None = None) -> None:
    """Tests and the local stack swap in clients pointed at moto."""
    global _wiring
    _wiring = w
