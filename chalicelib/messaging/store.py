"""A campaign's recipients (table `messages`: campaign_id + e164), one item each.

The item's conditional creation is the claim: `sending` with a token, written before
the provider is called, so two deliveries of the same batch cannot both send. Every
transition after it is conditional on the state it leaves, so a late or repeated
answer cannot move a recipient backwards:

    (none) -> sending -> sent | failed | unknown
    (none) -> skipped
    sending -> (none)       the provider refused to take it (throttling, 5xx): released
    sending -> unknown      no answer, or a crash after the claim: never resent
    unknown -> sent         the original sender's answer arrived after all

Feedback (deliveries, replies, clicks, conversions) is written on the same item, so a
campaign's funnel is one Query of its partition."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from chalicelib.core.ddb import MAX_BATCH_GET, chunks, from_item, to_item
from chalicelib.domain.clock import now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What the report reads of each item.
REPORT_FIELDS = (
    "e164",
    "state",
    "reason",
    "segments",
    "price",
    "sent_at",
    "delivery",
    "delivery_reason",
    "delivered_at",
    "replied_at",
    "opted_out_at",
    "clicked_at",
    "converted_at",
    "revenue",
    "claimed_at",
    "state_code",
)


class MessageStore:
    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self._ddb = dynamodb
        self.table_name = table_name

    def _key(self, campaign_id: str, e164: str) -> dict[str, Any]:
        return {"campaign_id": {"S": campaign_id}, "e164": {"S": e164}}

    def _conditional_update(
        self,
        campaign_id: str,
        e164: str,
        fields: Mapping[str, Any],
        condition: str,
        values: Mapping[str, Any] | None = None,
        add: Mapping[str, int] | None = None,
    ) -> bool:
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        vals = {f":v{i}": v for i, v in enumerate(fields.values())}
        expr = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        if add:
            names.update({f"#a{i}": k for i, k in enumerate(add)})
            vals.update({f":a{i}": v for i, v in enumerate(add.values())})
            expr += " ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(add)))
        if "#s" in condition:
            names["#s"] = "state"
        vals.update(values or {})
        try:
            self._ddb.update_item(
                TableName=self.table_name,
                Key=self._key(campaign_id, e164),
                UpdateExpression=expr,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(vals),
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _create(self, item: Mapping[str, Any]) -> bool:
        """The recipient's first and only item in the campaign: False if one exists."""
        try:
            self._ddb.put_item(
                TableName=self.table_name,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(e164)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- the send ------------------------------------------------------------------------
    def claim(
        self, campaign_id: str, e164: str, token: str, message_ref: str, state_code: str | None
    ) -> bool:
        """True when this caller may send to the number: nobody has claimed it before."""
        item = {
            "campaign_id": campaign_id,
            "e164": e164,
            "state": "sending",
            "claim": token,
            "message_ref": message_ref,
            "claimed_at": now_iso(),
            "state_code": state_code,
        }
        return self._create(item)

    def sent(
        self, campaign_id: str, e164: str, token: str, message_id: str, segments: int, price: float
    ) -> bool:
        return self._conditional_update(
            campaign_id,
            e164,
            {
                "state": "sent",
                "message_id": message_id,
                "segments": segments,
                "price": price,
                "sent_at": now_iso(),
            },
            "claim = :tok AND (#s = :sending OR #s = :unknown)",
            {":tok": token, ":sending": "sending", ":unknown": "unknown"},
        )

    def failed(self, campaign_id: str, e164: str, token: str, reason: str) -> bool:
        return self._conditional_update(
            campaign_id,
            e164,
            {"state": "failed", "reason": reason, "failed_at": now_iso()},
            "claim = :tok AND #s = :sending",
            {":tok": token, ":sending": "sending"},
        )

    def unknown(self, campaign_id: str, e164: str, reason: str, token: str | None = None) -> bool:
        """No answer from the provider (token: ours), or a claim found in flight that
        nobody will answer any more (token None, claimed before `stale_before`)."""
        cond = "#s = :sending" + (" AND claim = :tok" if token else "")
        values: dict[str, Any] = {":sending": "sending"}
        if token:
            values[":tok"] = token
        return self._conditional_update(
            campaign_id, e164, {"state": "unknown", "reason": reason}, cond, values
        )

    def release(self, campaign_id: str, e164: str, token: str) -> bool:
        """The provider did not take the message: the number may be tried again."""
        try:
            self._ddb.delete_item(
                TableName=self.table_name,
                Key=self._key(campaign_id, e164),
                ConditionExpression="claim = :tok AND #s = :sending",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":tok": {"S": token}, ":sending": {"S": "sending"}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def skipped(
        self, campaign_id: str, e164: str, reason: str, state_code: str | None = None
    ) -> bool:
        item = {
            "campaign_id": campaign_id,
            "e164": e164,
            "state": "skipped",
            "reason": reason,
            "claimed_at": now_iso(),
            "state_code": state_code,
        }
        return self._create(item)

    def skipped_many(self, campaign_id: str, reasons: Mapping[str, str]) -> int:
        if not reasons:
            return 0
        with ThreadPoolExecutor(max_workers=min(8, len(reasons))) as pool:
            return sum(
                pool.map(lambda kv: self.skipped(campaign_id, kv[0], kv[1]), reasons.items())
            )

    def existing(self, campaign_id: str, numbers: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The items of these recipients that exist (state, claim time): 100 per call."""
        out: dict[str, dict[str, Any]] = {}
        for group in chunks(list(dict.fromkeys(numbers)), MAX_BATCH_GET):
            pending: dict[str, Any] = {
                self.table_name: {
                    "Keys": [self._key(campaign_id, n) for n in group],
                    "ProjectionExpression": "e164, #s, claimed_at",
                    "ExpressionAttributeNames": {"#s": "state"},
                    "ConsistentRead": True,
                }
            }
            while pending:
                resp = self._ddb.batch_get_item(RequestItems=pending)
                for raw in resp.get("Responses", {}).get(self.table_name, []):
                    item = from_item(raw)
                    out[item["e164"]] = item
                pending = dict(resp.get("UnprocessedKeys") or {})
        return out

    # -- feedback ------------------------------------------------------------------------
    def delivery(
        self,
        campaign_id: str,
        e164: str,
        delivered: bool,
        reason: str | None,
        at: str,
        price: float | None = None,
    ) -> bool:
        """The carrier's final word, and the provider's price for the message when the
        event carries it (it replaces our estimate). A delivery never turns into a
        failure afterwards (events can arrive out of order; DELIVERED is final)."""
        # When we learnt it: the receipt's lag behind the carrier is an operating figure.
        fields: dict[str, Any] = {
            "delivery": "delivered" if delivered else "failed",
            "delivery_recorded_at": now_iso(),
        }
        if delivered:
            fields["delivered_at"] = at
        else:
            fields["delivery_reason"] = reason or "unknown"
        if price is not None:
            fields["price"] = price
        return self._conditional_update(
            campaign_id,
            e164,
            fields,
            "attribute_exists(e164) AND (#s = :sent OR #s = :unknown) "
            "AND (attribute_not_exists(delivery) OR delivery <> :delivered)",
            {":sent": "sent", ":unknown": "unknown", ":delivered": "delivered"},
        )

    def first_time(self, campaign_id: str, e164: str, field: str, at: str, **extra: Any) -> bool:
        """Set `field` (replied_at, clicked_at, converted_at, opted_out_at) once: True the
        first time. `extra` is set every time (e.g. the latest revenue)."""
        ok = self._conditional_update(
            campaign_id,
            e164,
            {field: at, **extra},
            f"attribute_exists(e164) AND attribute_not_exists({field})",
        )
        if not ok and extra:
            self._conditional_update(campaign_id, e164, extra, "attribute_exists(e164)")
        return ok

    def latest_for_number(self, e164: str) -> dict[str, Any] | None:
        """The campaign that most recently messaged this number (`by_number`)."""
        resp = self._ddb.query(
            TableName=self.table_name,
            IndexName="by_number",
            KeyConditionExpression="e164 = :e",
            FilterExpression="#s = :sent OR #s = :unknown",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={
                ":e": {"S": e164},
                ":sent": {"S": "sent"},
                ":unknown": {"S": "unknown"},
            },
            ScanIndexForward=False,
            Limit=20,
        )
        items = resp.get("Items") or []
        return from_item(items[0]) if items else None

    def get(self, campaign_id: str, e164: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(
            TableName=self.table_name, Key=self._key(campaign_id, e164), ConsistentRead=True
        ).get("Item")
        return from_item(item) if item else None

    def of_campaign(self, campaign_id: str) -> Iterator[dict[str, Any]]:
        """Every recipient item of a campaign (the report's one Query, paged)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "campaign_id = :c",
            "ExpressionAttributeValues": {":c": {"S": campaign_id}},
            # Every name aliased: several (state, segments...) are reserved words.
            "ProjectionExpression": ", ".join(f"#r{i}" for i in range(len(REPORT_FIELDS))),
            "ExpressionAttributeNames": {f"#r{i}": f for i, f in enumerate(REPORT_FIELDS)},
        }
        while True:
            resp = self._ddb.query(**kwargs)
            for raw in resp["Items"]:
                yield from_item(raw)
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
