"""CSV output of an extraction: rows -> text, and a streaming S3 writer (multipart, 8 MB
parts) so a million-row export runs in constant memory."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.audiences.extract import CSV_COLUMNS
from chalicelib.campaigns.control import ControlGroups
from chalicelib.core import csvsafe

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

PART_BYTES = 8 * 1024 * 1024  # S3 minimum part is 5 MB (all but the last)


def csv_cells(row: Mapping[str, Any], columns: Sequence[str] = CSV_COLUMNS) -> list[str]:
    out = []
    for col in columns:
        v = row.get(col)
        if col == "platforms":
            v = ";".join(f"{p}={s}" for p, s in sorted((v or {}).items()))
        elif col == "attributes":
            v = json.dumps(v or {}, ensure_ascii=False, sort_keys=True) if v else ""
        out.append("" if v is None else str(v))
    return out


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    w = csvsafe.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow(csv_cells(r))
    return buf.getvalue()


class S3CsvWriter:
    """Write CSV rows to s3://bucket/key as they come (UTF-8 with BOM: Excel opens
    accents right)."""

    def __init__(
        self, s3: S3Client, bucket: str, key: str, columns: Sequence[str] = CSV_COLUMNS
    ) -> None:
        self._s3 = s3
        self.columns = tuple(columns)
        self.bucket = bucket
        self.key = key
        self._buf = io.StringIO()
        self._csv = csvsafe.writer(self._buf)
        self._parts: list[CompletedPartTypeDef] = []
        self._upload_id: str | None = None
        self.rows = 0
        self._buf.write("\ufeff")
        self._csv.writerow(self.columns)

    def write(self, row: Mapping[str, Any]) -> None:
        self._csv.writerow(csv_cells(row, self.columns))
        self.rows += 1
        if self._buf.tell() >= PART_BYTES:
            self._flush_part()

    def _flush_part(self) -> None:
        data = self._buf.getvalue().encode("utf-8")
        self._buf.seek(0)
        self._buf.truncate()
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType="text/csv; charset=utf-8"
            )["UploadId"]
        n = len(self._parts) + 1
        etag = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=n, Body=data
        )["ETag"]
        self._parts.append({"PartNumber": n, "ETag": etag})

    def close(self) -> None:
        if self._upload_id is None:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=self.key,
                Body=self._buf.getvalue().encode("utf-8"),
                ContentType="text/csv; charset=utf-8",
            )
            return
        if self._buf.tell():
            self._flush_part()
        self._s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def abort(self) -> None:
        if self._upload_id is not None:
            self._s3.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
            )


def snapshot_writer(
    s3: S3Client, bucket: str, key: str, held: Mapping[str, Any] | None
) -> tuple[S3CsvWriter, ControlGroups | None]:
    """The snapshot's writer, and with a control group its assigner (a `group` column)."""
    if not held:
        return S3CsvWriter(s3, bucket, key), None
    groups = ControlGroups(float(held["share"]), int(held["seed"]))
    return S3CsvWriter(s3, bucket, key, (*CSV_COLUMNS, "group")), groups
