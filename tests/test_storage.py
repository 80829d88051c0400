"""LocalStorage and S3Storage through the same tests; S3 against moto's standalone server over real HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import boto3
import httpx
import pytest

from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage, S3Storage, Storage, StorageError, open_storage

KINDS = ["local", "s3"]
INVALID_KEYS = ["", "/etc/passwd", "../outside.txt", "a/../../outside.txt", "..", "a\\b.txt"]


@pytest.fixture
def make_storage(tmp_path: Path, moto_endpoint: str) -> Callable[[str], Storage]:
    def make(kind: str) -> Storage:
        if kind == "local":
            return LocalStorage(tmp_path / "root")
        store = S3Storage(f"tubeflow-{uuid.uuid4().hex[:12]}", endpoint_url=moto_endpoint, cache_dir=tmp_path / "cache")
        store.ensure_bucket()
        return store

    return make


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


@pytest.mark.parametrize("kind", KINDS)
def test_bytes_and_text_round_trip(make_storage: Callable[[str], Storage], kind: str) -> None:
    store = make_storage(kind)
    data = random_bytes(1000)
    assert store.put_bytes("productions/p1/blob.bin", data, "application/octet-stream") == "productions/p1/blob.bin"
    assert store.get_bytes("productions/p1/blob.bin") == data
    assert store.exists("productions/p1/blob.bin")
    assert not store.exists("productions/p1/other.bin")
    store.put_text("productions/p1/script.json", '{"title": "Céu azul"}')
    assert store.get_text("productions/p1/script.json") == '{"title": "Céu azul"}'


@pytest.mark.parametrize("kind", KINDS)
def test_put_file_and_fetch(make_storage: Callable[[str], Storage], kind: str, tmp_path: Path) -> None:
    store = make_storage(kind)
    src = tmp_path / "video.mp4"
    src.write_bytes(random_bytes(9 * 1024 * 1024))  # above boto3's 8 MB multipart threshold
    store.put_file("productions/p1/video.mp4", src, "video/mp4")
    local = store.fetch("productions/p1/video.mp4")
    assert local.is_file() and local.read_bytes() == src.read_bytes()
    assert store.fetch("productions/p1/video.mp4") == local  # stable path (the cached copy on S3)
    if isinstance(store, S3Storage):
        client: Any = store.client  # a boto3 S3 client (boto3 has no type information)
        head = client.head_object(Bucket=store.bucket, Key="productions/p1/video.mp4")
        assert head["ContentType"] == "video/mp4" and head["ContentLength"] == src.stat().st_size
    else:
        assert isinstance(store, LocalStorage)
        assert local == store.root / "productions/p1/video.mp4"
        store.put_file("productions/p1/video.mp4", local)  # putting a file onto itself is a no-op
        assert local.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("kind", KINDS)
def test_overwrite_then_get(make_storage: Callable[[str], Storage], kind: str) -> None:
    store = make_storage(kind)
    store.put_text("k/v.txt", "one")
    store.put_text("k/v.txt", "two")
    assert store.get_text("k/v.txt") == "two"


@pytest.mark.parametrize("kind", KINDS)
def test_fetch_after_overwrite_sees_new_content(make_storage: Callable[[str], Storage], kind: str) -> None:
    store = make_storage(kind)
    store.put_text("k/v.txt", "one")
    assert store.fetch("k/v.txt").read_text() == "one"
    store.put_text("k/v.txt", "two")
    assert store.fetch("k/v.txt").read_text() == "two"


@pytest.mark.parametrize("kind", KINDS)
def test_list_and_delete(make_storage: Callable[[str], Storage], kind: str) -> None:
    store = make_storage(kind)
    keys = ["productions/p1/a.json", "productions/p1/sub/b.wav", "productions/p2/c.json", "niches/x.txt"]
    for key in keys:
        store.put_text(key, key)
    assert store.list("productions/p1/") == ["productions/p1/a.json", "productions/p1/sub/b.wav"]
    assert store.list("productions/") == sorted(keys[:3])
    assert store.list("") == sorted(keys)
    assert store.list("nothing/") == []

    cached = store.fetch("productions/p1/a.json")
    store.delete("productions/p1/a.json")
    assert not store.exists("productions/p1/a.json")
    assert not cached.exists()  # no stale local copy either
    assert store.list("productions/p1/") == ["productions/p1/sub/b.wav"]
    store.delete("productions/p1/a.json")  # deleting what is gone is fine (activities retry)
    with pytest.raises(StorageError, match="no object at key 'productions/p1/a.json'"):
        store.get_bytes("productions/p1/a.json")


@pytest.mark.parametrize("kind", KINDS)
def test_missing_keys_are_storage_errors(make_storage: Callable[[str], Storage], kind: str) -> None:
    store = make_storage(kind)
    with pytest.raises(StorageError, match="no object at key 'missing/x.wav'"):
        store.get_bytes("missing/x.wav")
    with pytest.raises(StorageError, match="no object at key 'missing/x.wav'"):
        store.fetch("missing/x.wav")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key", INVALID_KEYS)
def test_invalid_keys_are_refused(make_storage: Callable[[str], Storage], kind: str, key: str, tmp_path: Path) -> None:
    store = make_storage(kind)
    src = tmp_path / "src.txt"
    src.write_text("x")
    for call in (
        lambda: store.put_bytes(key, b"x"),
        lambda: store.put_file(key, src),
        lambda: store.get_bytes(key),
        lambda: store.fetch(key),
        lambda: store.delete(key),
        lambda: store.url(key),
    ):
        with pytest.raises(StorageError, match="invalid storage key"):
            call()
    assert not (tmp_path / "outside.txt").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_exists_refuses_invalid_keys(make_storage: Callable[[str], Storage], kind: str) -> None:
    store = make_storage(kind)
    with pytest.raises(StorageError, match="invalid storage key"):
        store.exists("../outside.txt")


@pytest.mark.parametrize("kind", KINDS)
def test_url_reads_the_object(make_storage: Callable[[str], Storage], kind: str) -> None:
    store = make_storage(kind)
    data = random_bytes(2048)
    store.put_bytes("public/thumb.jpg", data, "image/jpeg")
    url = store.url("public/thumb.jpg", expires_s=600)
    parsed = urlparse(url)
    if kind == "local":
        assert parsed.scheme == "file"
        assert Path(url2pathname(parsed.path)).read_bytes() == data
    else:
        assert parsed.scheme == "http" and "Signature" in parsed.query
        resp = httpx.get(url)
        assert resp.status_code == 200 and resp.content == data
        assert resp.headers["content-type"] == "image/jpeg"


def test_presigned_upload_url(make_storage: Callable[[str], Storage]) -> None:
    store = make_storage("s3")
    assert isinstance(store, S3Storage)
    data = random_bytes(4096)
    url = store.upload_url("uploads/clip.mp4", expires_s=600)
    resp = httpx.put(url, content=data)
    assert resp.status_code == 200, resp.text
    assert store.get_bytes("uploads/clip.mp4") == data
    assert store.list("uploads/") == ["uploads/clip.mp4"]
    with pytest.raises(StorageError, match="invalid storage key"):
        store.upload_url("../escape.mp4")


def test_local_writes_leave_no_partial_objects(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "root")
    store.put_bytes("a/b.bin", b"1" * 10)
    store.put_file("a/c.bin", tmp_path / "root" / "a" / "b.bin")
    (tmp_path / "root" / "a" / ".tmp-half-written").write_bytes(b"partial")  # a writer that died
    assert store.list("a/") == ["a/b.bin", "a/c.bin"]
    assert sorted(p.name for p in (tmp_path / "root" / "a").iterdir()) == [".tmp-half-written", "b.bin", "c.bin"]


def test_open_storage_local_default(tmp_path: Path) -> None:
    store = open_storage(Settings(home=tmp_path))
    assert isinstance(store, LocalStorage) and store.root == (tmp_path / "storage").resolve()
    store.put_text("x.txt", "hi")
    assert (tmp_path / "storage" / "x.txt").read_text() == "hi"


def test_open_storage_s3_creates_the_bucket(tmp_path: Path, moto_endpoint: str) -> None:
    bucket = f"tubeflow-{uuid.uuid4().hex[:12]}"
    settings = Settings(home=tmp_path, storage="s3", s3_bucket=bucket, s3_endpoint_url=moto_endpoint)
    store = open_storage(settings)
    assert isinstance(store, S3Storage)
    store.put_text("x.txt", "hi")
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert client.get_object(Bucket=bucket, Key="x.txt")["Body"].read() == b"hi"
    again = open_storage(settings)  # the bucket exists now: opening again is fine
    assert again.get_text("x.txt") == "hi"
    assert again.fetch("x.txt").is_relative_to(tmp_path / "s3-cache")


def test_open_storage_s3_in_another_region(tmp_path: Path, moto_endpoint: str) -> None:
    settings = Settings(
        home=tmp_path,
        storage="s3",
        s3_bucket=f"tubeflow-{uuid.uuid4().hex[:12]}",
        s3_endpoint_url=moto_endpoint,
        s3_region="eu-west-1",
    )
    store = open_storage(settings)
    store.put_text("x.txt", "hi")
    assert store.get_text("x.txt") == "hi"


def test_open_storage_rejects_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="TUBEFLOW_STORAGE must be 'local' or 's3'"):
        open_storage(Settings(home=tmp_path, storage="ftp"))  # type: ignore[arg-type]  # from_env refuses it; the guard behind it still holds
