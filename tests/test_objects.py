"""The object store: streamed age files, integrity checks, crash recovery."""

from __future__ import annotations

import io
import os

import pyrage
import pytest

from vault.errors import IntegrityError, StorageError
from vault.objects import ObjectStore, StoredObject


@pytest.fixture
def store(tmp_path) -> ObjectStore:
    s = ObjectStore(tmp_path / "objects")
    s.create()
    return s


@pytest.fixture
def identity():
    return pyrage.x25519.Identity.generate()


def put(store: ObjectStore, identity, data: bytes) -> StoredObject:
    pending = store.write_pending(io.BytesIO(data), identity.to_public())
    store.publish(pending)
    return StoredObject(pending.object_id, pending.size, pending.sha256)


def read(store: ObjectStore, identity, stored: StoredObject) -> bytes:
    sink = io.BytesIO()
    store.decrypt_to(stored.object_id, identity, sink, stored)
    return sink.getvalue()


@pytest.mark.parametrize("size", [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 3_000_000])
def test_round_trip_across_chunk_boundaries(store, identity, size: int) -> None:
    data = os.urandom(size)
    stored = put(store, identity, data)
    assert stored.size == size
    assert read(store, identity, stored) == data
    path = store.path_of(stored.object_id)
    assert path.read_bytes().startswith(b"age-encryption.org/v1\n-> X25519 ")
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_progress_reports_every_byte(store, identity) -> None:
    seen: list[int] = []
    pending = store.write_pending(io.BytesIO(b"x" * 200_000), identity.to_public(), seen.append)
    store.publish(pending)
    assert sum(seen) == 200_000


def test_plaintext_never_reaches_the_store(store, identity, tmp_path) -> None:
    marker = os.urandom(64)
    put(store, identity, marker * 1000)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert marker not in path.read_bytes()


def test_wrong_identity_is_an_integrity_error(store, identity) -> None:
    stored = put(store, identity, b"secret plate")
    with pytest.raises(IntegrityError, match="damaged or was replaced"):
        read(store, pyrage.x25519.Identity.generate(), stored)


def test_truncated_object_is_detected(store, identity) -> None:
    stored = put(store, identity, os.urandom(200_000))
    path = store.path_of(stored.object_id)
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(IntegrityError):
        read(store, identity, stored)


def test_swapped_object_is_detected(store, identity) -> None:
    first = put(store, identity, b"first plate" * 100)
    second = put(store, identity, b"other plate" * 100)
    store.path_of(first.object_id).write_bytes(store.path_of(second.object_id).read_bytes())
    with pytest.raises(IntegrityError, match="did not record"):
        read(store, identity, first)


def test_missing_object_is_detected(store, identity) -> None:
    stored = put(store, identity, b"x")
    store.path_of(stored.object_id).unlink()
    with pytest.raises(IntegrityError, match="missing"):
        read(store, identity, stored)


def test_recovery_publishes_committed_and_discards_uncommitted(store, identity) -> None:
    committed = store.write_pending(io.BytesIO(b"committed"), identity.to_public())
    abandoned = store.write_pending(io.BytesIO(b"abandoned"), identity.to_public())
    committed.release()  # as if the writer had died after its DB commit
    abandoned.release()  # ... and this one before
    (store.pending_root / "junk.tmp").write_bytes(b"half")
    published, discarded = store.recover(lambda oid: oid == committed.object_id)
    assert (published, discarded) == (1, 2)
    assert store.path_of(committed.object_id).is_file()
    assert not any(store.pending_root.iterdir())


def test_recovery_leaves_an_object_being_written_alone(store, identity) -> None:
    in_flight = store.write_pending(io.BytesIO(b"still committing"), identity.to_public())
    assert store.recover(lambda oid: False) == (0, 0)
    assert store.pending_path_of(in_flight.object_id).is_file()
    store.discard(in_flight)
    assert not store.pending_path_of(in_flight.object_id).exists()


def test_unreadable_source_leaves_nothing_behind(store, identity) -> None:
    class Failing(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            raise OSError(5, "Input/output error")

    with pytest.raises(StorageError):
        store.write_pending(Failing(), identity.to_public())
    assert not any(store.pending_root.iterdir())


def test_recovery_racing_a_new_put_cannot_lose_its_object(store, identity, monkeypatch) -> None:
    """Another process's recovery may run between a put's create and its lock."""
    import vault.objects as objects

    real_flock = objects.fcntl.flock
    raced = []

    def flock_after_a_recovery(fd, operation):
        if operation == objects.fcntl.LOCK_EX and not raced:
            raced.append(store.recover(lambda object_id: False))  # deletes the unlocked file
        return real_flock(fd, operation)

    monkeypatch.setattr(objects.fcntl, "flock", flock_after_a_recovery)
    pending = store.write_pending(io.BytesIO(b"survives"), identity.to_public())
    monkeypatch.setattr(objects.fcntl, "flock", real_flock)
    assert raced == [(0, 1)]  # the race really happened: recovery deleted the first file
    store.publish(pending)
    stored = StoredObject(pending.object_id, pending.size, pending.sha256)
    assert read(store, identity, stored) == b"survives"


def test_publishing_a_vanished_object_is_an_error(store, identity) -> None:
    pending = store.write_pending(io.BytesIO(b"x"), identity.to_public())
    store.pending_path_of(pending.object_id).unlink()
    with pytest.raises(IntegrityError, match="vanished"):
        store.publish(pending)
