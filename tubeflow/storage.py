"""One storage interface, addressed by key.

Workflows pass keys (``productions/<id>/script-v1.json``), never paths or bytes, because payloads
are capped at 2 MB and a GPU worker may run on another machine.  Activities turn a key into a
local file with :meth:`Storage.fetch` (a cached download for S3, the file itself locally) and
publish results with :meth:`Storage.put_file`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath
from typing import Any

from tubeflow.settings import Settings

_BAD_KEY_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class StorageError(Exception):
    """A key that is missing or malformed; callers map this to a non-retryable error."""


MAX_KEY_LENGTH = 1024  # S3's limit, and the assets table's column


def check_key(key: str) -> str:
    """The key, or :class:`StorageError` when it could escape the store or break a backend.

    A NUL makes ``open()`` raise ValueError, a newline or other control character breaks S3
    signatures and log lines, and a lone surrogate cannot be encoded as UTF-8 at all: all are
    refused here, the one door every backend goes through.
    """
    p = PurePosixPath(key)
    if not key or p.is_absolute() or ".." in p.parts or "\\" in key:
        raise StorageError(f"invalid storage key {key[:200]!r}: keys are relative, '/'-separated, without '..'")
    if len(key) > MAX_KEY_LENGTH:
        raise StorageError(f"invalid storage key: longer than {MAX_KEY_LENGTH} characters")
    if _BAD_KEY_CHARS.search(key):
        raise StorageError(f"invalid storage key {key[:200]!r}: control characters and lone surrogates are not allowed")
    return key


class Storage(ABC):
    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str: ...

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def fetch(self, key: str) -> Path:
        """A local, readable file holding the object (do not modify it)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def url(
        self, key: str, expires_s: int = 3600, *, content_type: str | None = None, disposition: str | None = None
    ) -> str:
        """Where a person or another service can read the object; ``content_type`` and ``disposition``
        (a Content-Disposition value) override what the store would answer with, where the store can."""

    def head_bytes(self, key: str, n: int = 64) -> bytes:
        """The object's first ``n`` bytes (enough to tell what it is)."""
        return self.get_bytes(key)[:n]

    def get_text(self, key: str) -> str:
        return self.get_bytes(key).decode("utf-8")

    def put_text(self, key: str, text: str, content_type: str = "text/plain; charset=utf-8") -> str:
        return self.put_bytes(key, text.encode("utf-8"), content_type)


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename so a reader never sees half an object (a worker can die mid-write).
        with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, prefix=".tmp-") as tmp:
            tmp.write(data)
        Path(tmp.name).replace(dest)
        return key

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if Path(path).resolve() == dest:
            return key
        tmp = dest.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{dest.name}")
        shutil.copyfile(path, tmp)
        tmp.replace(dest)
        return key

    def get_bytes(self, key: str) -> bytes:
        return self.fetch(key).read_bytes()

    def fetch(self, key: str) -> Path:
        p = self._path(key)
        if not p.is_file():
            raise StorageError(f"no object at key {key!r} in {self.root}")
        return p

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root / check_key(prefix) if prefix else self.root
        if base.is_file():
            return [prefix]
        if not base.exists():
            return []
        return sorted(
            str(p.relative_to(self.root).as_posix())
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(
        self, key: str, expires_s: int = 3600, *, content_type: str | None = None, disposition: str | None = None
    ) -> str:
        return self._path(key).as_uri()

    def head_bytes(self, key: str, n: int = 64) -> bytes:
        with self.fetch(key).open("rb") as f:
            return f.read(n)


class S3Storage(Storage):
    """S3 or any S3-compatible store (MinIO, R2, moto)."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        cache_dir: Path | None = None,
        client: object | None = None,
        access_key_id: str = "",
        secret_access_key: str = "",
    ) -> None:
        import boto3

        self.bucket = bucket
        self.region = region
        # Explicit keys (a remote GPU worker gets them from the autoscaler); otherwise boto3's chain.
        keys = (
            {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
            if access_key_id and secret_access_key
            else {}
        )
        # boto3 ships no type information: the client is dynamically built from service JSON.
        self.client: Any = client or boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region, **keys)
        self.cache_dir = Path(cache_dir or Path(tempfile.gettempdir()) / "tubeflow-s3-cache")
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def ensure_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception:
            extra = {}
            if self.region and self.region != "us-east-1":
                extra = {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
            self.client.create_bucket(Bucket=self.bucket, **extra)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data, **extra)
        self._forget(key)
        return key

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        extra = {"ExtraArgs": {"ContentType": content_type}} if content_type else {}
        self.client.upload_file(str(path), self.bucket, check_key(key), **extra)
        self._forget(key)
        return key

    def _forget(self, key: str) -> None:
        (self.cache_dir / key).unlink(missing_ok=True)
        (self.cache_dir / f"{key}.etag").unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except self.client.exceptions.NoSuchKey as e:
            raise StorageError(f"no object at key {key!r} in bucket {self.bucket}") from e
        body: bytes = obj["Body"].read()
        return body

    def fetch(self, key: str) -> Path:
        """Download into the cache, reusing a cached copy only while its ETag still matches.

        Another machine may overwrite a key (a re-rendered segment), so a cached copy is checked
        with one HEAD request instead of being trusted forever.
        """
        dest = self.cache_dir / check_key(key)
        etag_file = dest.with_name(f"{dest.name}.etag")
        try:
            etag = self.client.head_object(Bucket=self.bucket, Key=key)["ETag"]
        except Exception as e:
            if _is_404(e):
                raise StorageError(f"no object at key {key!r} in bucket {self.bucket}") from e
            raise
        if dest.is_file() and etag_file.is_file() and etag_file.read_text() == etag:
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{dest.name}")
        try:
            self.client.download_file(self.bucket, key, str(tmp))
        except Exception as e:
            tmp.unlink(missing_ok=True)
            if _is_404(e):
                raise StorageError(f"no object at key {key!r} in bucket {self.bucket}") from e
            raise
        tmp.replace(dest)
        etag_file.write_text(etag)
        return dest

    def exists(self, key: str) -> bool:
        check_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except Exception as e:
            if _is_404(e):
                return False
            raise

    def list(self, prefix: str) -> list[str]:
        if prefix:
            check_key(prefix)
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        self._forget(key)

    def url(
        self, key: str, expires_s: int = 3600, *, content_type: str | None = None, disposition: str | None = None
    ) -> str:
        params: dict[str, object] = {"Bucket": self.bucket, "Key": check_key(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        if disposition is not None:
            params["ResponseContentDisposition"] = disposition
        signed: str = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        return signed

    def head_bytes(self, key: str, n: int = 64) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=check_key(key), Range=f"bytes=0-{max(0, n - 1)}")
        except Exception as e:
            if _is_404(e) or "InvalidRange" in str(e):  # missing, or empty (no byte 0 to return)
                if not _is_404(e):
                    return b""
                raise StorageError(f"no object at key {key!r} in bucket {self.bucket}") from e
            raise
        return bytes(obj["Body"].read())[:n]

    def upload_url(self, key: str, expires_s: int = 3600) -> str:
        signed: str = self.client.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": check_key(key)}, ExpiresIn=expires_s
        )
        return signed


def _is_404(e: Exception) -> bool:
    code = str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"} or "404" in str(e)


def open_storage(settings: Settings) -> Storage:
    if settings.storage == "local":
        return LocalStorage(settings.resolved_storage_dir())
    if settings.storage == "s3":
        store = S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            cache_dir=settings.home / "s3-cache",
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
        store.ensure_bucket()
        return store
    raise ValueError(f"TUBEFLOW_STORAGE must be 'local' or 's3', not {settings.storage!r}")
