"""Composition root: builds the services from the clients, once per container."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.campaigns.outcomes import OutcomeStore
from chalicelib.contacts.store import ContactStore
from chalicelib.core import resources
from chalicelib.core.aws import Clients, default_clients
from chalicelib.core.config import Settings
from chalicelib.core.jobs import JobStore
from chalicelib.core.stats import Stats
from chalicelib.domain.clock import now_iso
from chalicelib.ingest.service import IngestService, UploadRef, upload_id_for
from chalicelib.scoring.top_leads import TopLeadsStore

if TYPE_CHECKING:
    from chalicelib.audiences.optout import OptOutStore
    from chalicelib.audiences.service import ExtractionService
    from chalicelib.campaigns.service import CampaignService
    from chalicelib.campaigns.tally import TallyStore
    from chalicelib.compliance.service import RepepImports
    from chalicelib.compliance.store import ComplianceStore
    from chalicelib.ingest.stale import StaleResult
    from chalicelib.messaging.feedback import FeedbackService
    from chalicelib.messaging.links import LinkStore
    from chalicelib.messaging.pipeline import SendPipeline
    from chalicelib.messaging.senders.base import SmsSender
    from chalicelib.messaging.senders.config import SenderConfig
    from chalicelib.messaging.service import SendingService
    from chalicelib.messaging.store import MessageStore
    from chalicelib.meta.health import StorageCheck
    from chalicelib.scoring.recalibration import Recalibrations
    from chalicelib.scoring.service import ScoringService
    from chalicelib.scoring.store import ScoreStore
    from chalicelib.scoring.sweep import SweepResult
    from chalicelib.security.keys import ApiKeyStore
    from chalicelib.security.ratelimit import RateLimiter
    from chalicelib.validation.service import ValidationService


@dataclass(eq=False)
class Wiring:
    clients: Clients
    # Ingest sends every new or merged contact to these queues: validation, per platform.
    followup_queues: tuple[str, ...] = field(default=tuple(q.suffix for q in resources.VALIDATE))

    @property
    def settings(self) -> Settings:
        return self.clients.settings

    @cached_property
    def contacts(self) -> ContactStore:
        return ContactStore(self.clients.dynamodb, self.settings.name(resources.CONTACTS.suffix))

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.clients.dynamodb, self.settings.name(resources.JOBS.suffix))

    def rescore(self, model_version: str | None = None, **kwargs: Any) -> SweepResult:
        """Settled contacts with no score (or, given `model_version`, another model's)
        back to `score` (chalicelib/scoring/sweep.py)."""
        from chalicelib.core.queues import Followups
        from chalicelib.scoring.sweep import rescore

        score = Followups(
            self.clients.sqs,
            [self.clients.queue_url(resources.SCORE.suffix)],
            self.settings.followup_batch,
            source="rescore",
            model_version=model_version or "",
        )
        table = self.settings.name(resources.CONTACTS.suffix)
        return rescore(self.clients.dynamodb, table, score, model_version, **kwargs)

    def finish_stale_uploads(self, **kwargs: Any) -> StaleResult:
        """Uploads left `processing` by a killed ingest (chalicelib/ingest/stale.py)."""
        from chalicelib.ingest.stale import finish_stale_uploads

        return finish_stale_uploads(self.jobs, self.contacts, self.stats, **kwargs)

    @cached_property
    def storage_check(self) -> StorageCheck:
        from chalicelib.meta.health import StorageCheck

        table = self.settings.name(resources.STATS.suffix)

        def probe() -> object:
            # GetItem of a key that need not exist: the cheapest call that proves
            # the table answers (a data-plane read, unlike DescribeTable's low quota).
            return self.clients.dynamodb_probe.get_item(
                TableName=table, Key={"pk": {"S": "health-probe"}}
            )

        return StorageCheck(probe)

    @cached_property
    def outcomes(self) -> OutcomeStore:
        return OutcomeStore(
            self.clients.dynamodb, self.settings.name(resources.OUTCOMES.suffix), self.tally
        )

    @cached_property
    def tally(self) -> TallyStore:
        from chalicelib.campaigns.tally import TallyStore

        return TallyStore(
            self.clients.dynamodb, self.settings.name(resources.CAMPAIGN_TALLY.suffix)
        )

    # -- audiences (chalicelib/audience): imported lazily, routes that don't use them
    # don't pay for them at cold start.
    @cached_property
    def optouts(self) -> OptOutStore:
        from chalicelib.audiences.optout import OptOutStore

        return OptOutStore(
            self.clients.dynamodb,
            self.settings.name(resources.OPTOUTS.suffix),
            self.settings.name(resources.CONTACTS.suffix),
            stats=self.stats,
        )

    @cached_property
    def extraction(self) -> ExtractionService:
        from chalicelib.audiences.extract import Extractor
        from chalicelib.audiences.service import ExtractionService
        from chalicelib.compliance.do_not_contact import DoNotContact

        return ExtractionService(
            extractor=Extractor(
                self.clients.dynamodb,
                self.settings.name(resources.CONTACTS.suffix),
                DoNotContact(self.optouts, self.compliance),
            ),
            jobs=self.jobs,
            s3=self.clients.s3,
            sqs=self.clients.sqs,
            bucket=self.settings.data_bucket,
            queue_url=lambda: self.clients.queue_url(resources.EXTRACT.suffix),
            exclusions=lambda f: self.campaigns.exclusions(f),
            counters=self.stats,
        )

    @cached_property
    def campaigns(self) -> CampaignService:
        from chalicelib.campaigns.service import CampaignService

        return CampaignService(
            dynamodb=self.clients.dynamodb,
            table=self.settings.name(resources.CAMPAIGNS.suffix),
            s3=self.clients.s3,
            bucket=self.settings.data_bucket,
            outcomes=self.outcomes,
            extraction=self.extraction,
            jobs=self.jobs,
            tally=self.tally,
        )

    # -- messaging (chalicelib/messaging): sending campaigns and what comes back.
    @cached_property
    def messages(self) -> MessageStore:
        from chalicelib.messaging.store import MessageStore

        return MessageStore(self.clients.dynamodb, self.settings.name(resources.MESSAGES.suffix))

    @cached_property
    def links(self) -> LinkStore:
        from chalicelib.messaging.links import LinkStore

        return LinkStore(self.clients.dynamodb, self.settings.name(resources.LINKS.suffix))

    def _send_queue(self, msgs: Any, delay_s: int) -> None:
        from chalicelib.core.queues import send_batches

        url = self.clients.queue_url(resources.SEND.suffix)
        send_batches(self.clients.sqs, url, [m.model_dump_json() for m in msgs], delay_s)

    @cached_property
    def sms_config(self) -> SenderConfig:
        from chalicelib.messaging.senders.config import from_env

        return from_env()

    def twilio_auth_token(self) -> str:
        """The Twilio auth token (Secrets Manager / SSM through Powertools, cached), for
        verifying status callbacks; "" when the stage does not send through Twilio."""
        from chalicelib.messaging.senders.config import twilio_token

        return twilio_token(self.sms_config)(False) if self.sms_config.sender == "twilio" else ""

    @cached_property
    def sms_sender(self) -> SmsSender:
        from chalicelib.messaging.senders.config import make_sender

        return make_sender(self.sms_config, self.clients)

    @cached_property
    def sending(self) -> SendingService:
        from chalicelib.messaging.service import SendingService

        return SendingService(
            campaigns=self.campaigns,
            messages=self.messages,
            optouts=self.optouts,
            compliance=self.compliance,
            contacts=self.contacts,
            enqueue=self._send_queue,
            link_base=self.clients.settings.link_base_url,
        )

    @cached_property
    def send_pipeline(self) -> SendPipeline:
        from chalicelib.messaging.pipeline import SendPipeline, SendSettings

        # Every container's share of the origination identity's messages per second.
        quota = self.sms_config.quota_per_s
        rate = quota / (resources.SEND.maximum_concurrency or 1)
        return SendPipeline(
            campaigns=self.sending,
            messages=self.messages,
            optouts=self.optouts,
            compliance=self.compliance,
            contacts=self.contacts,
            links=self.links,
            sender=self.sms_sender,
            rate_per_s=rate,
            requeue=self._send_queue,
            settings=SendSettings(
                link_base=self.clients.settings.link_base_url, per_message=_per_message(rate)
            ),
        )

    @cached_property
    def feedback(self) -> FeedbackService:
        from chalicelib.messaging.feedback import FeedbackService
        from chalicelib.validation.store import PlatformStatusStore

        return FeedbackService(
            messages=self.messages,
            outcomes=self.outcomes,
            optouts=self.optouts,
            statuses=PlatformStatusStore(
                self.clients.dynamodb,
                self.settings.name(resources.CONTACTS.suffix),
                stats=self.stats,
            ),
            links=self.links,
            counters=self.stats,
        )

    # -- compliance (chalicelib/compliance): REPEP list and consent records.
    @cached_property
    def compliance(self) -> ComplianceStore:
        from chalicelib.compliance.store import ComplianceStore

        return ComplianceStore(
            self.clients.dynamodb,
            repep_table=self.settings.name(resources.REPEP.suffix),
            consents_table=self.settings.name(resources.CONSENTS.suffix),
            meta_table=self.settings.name(resources.STATS.suffix),
        )

    @cached_property
    def repep_imports(self) -> RepepImports:
        from chalicelib.compliance.service import RepepImports

        return RepepImports(self.compliance, self.jobs, self.clients.s3, self.settings.data_bucket)

    @cached_property
    def stats(self) -> Stats:
        return Stats(self.clients.dynamodb, self.settings.name(resources.STATS.suffix))

    @cached_property
    def top_leads(self) -> TopLeadsStore:
        return TopLeadsStore(
            self.clients.dynamodb,
            self.settings.name(resources.STATS.suffix),
            self.settings.name(resources.CONTACTS.suffix),
        )

    # -- API security (chalicelib/security): keys and the shared per-key rate limits.
    @cached_property
    def api_keys(self) -> ApiKeyStore:
        from chalicelib.security.keys import ApiKeyStore

        return ApiKeyStore(self.clients.dynamodb, self.settings.name(resources.API_KEYS.suffix))

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        from chalicelib.security.ratelimit import RateLimiter

        return RateLimiter(self.clients.dynamodb, self.settings.name(resources.RATE_LIMITS.suffix))

    # -- validation (chalicelib/validation): reachability per platform.
    @cached_property
    def validation(self) -> ValidationService:
        from chalicelib.validation.config import get_config
        from chalicelib.validation.resilience import CircuitBreaker
        from chalicelib.validation.runner import runner
        from chalicelib.validation.service import ValidationService
        from chalicelib.validation.store import HistoryStore, PlatformStatusStore

        config = get_config()
        ddb = self.clients.dynamodb
        return ValidationService(
            sqs=self.clients.sqs,
            queue_url=self.clients.queue_url,
            config=config,
            statuses=PlatformStatusStore(
                ddb, self.settings.name(resources.CONTACTS.suffix), stats=self.stats
            ),
            history=HistoryStore(ddb, self.settings.name(resources.VALIDATION_HISTORY.suffix)),
            breaker=CircuitBreaker(
                ddb, self.settings.name(resources.CIRCUITS.suffix), config.breaker
            ),
            runner=runner(),
            followup_batch=self.settings.followup_batch,
        )

    # -- lead scoring (chalicelib/scoring): numpy only at serve time.
    @cached_property
    def score_store(self) -> ScoreStore:
        from chalicelib.scoring.store import ScoreStore

        return ScoreStore(
            self.clients.dynamodb,
            self.settings.name(resources.CONTACTS.suffix),
            stats=self.stats,
            top_leads=self.top_leads,
        )

    @cached_property
    def scoring(self) -> ScoringService:
        from chalicelib.scoring.registry import ModelRegistry
        from chalicelib.scoring.service import ScoringService

        return ScoringService(
            self.score_store,
            self.outcomes,
            ModelRegistry(self.clients.s3, self.settings.data_bucket),
        )

    @cached_property
    def recalibrations(self) -> Recalibrations:
        from chalicelib.scoring.recalibration import Recalibrations

        return Recalibrations(self)

    @cached_property
    def ingest(self) -> IngestService:
        urls = tuple(self.clients.queue_url(q) for q in self.followup_queues)
        return IngestService(self.clients, self.contacts, self.jobs, urls, stats=self.stats)

    def mark_retrying(self, ref: UploadRef) -> None:
        self.jobs.update(
            upload_id_for(ref.key, ref.etag), {"status": "retrying", "updated_at": now_iso()}
        )


def _per_message(rate_per_s: float) -> int:
    """Recipients per `send` message: about a minute of the container's rate, 5..50."""
    return max(5, min(50, int(rate_per_s * 60)))


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
