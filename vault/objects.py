"""The object store: age v1 files, streamed, written atomically, recovered after a crash.

A put is a two-step journal so that the database never references a half object:

1. encrypt into `objects/.pending/<id>.age`, fsync it;
2. the caller commits the DB row (and its audit entry) in one transaction;
3. `publish` renames the pending file to `objects/ab/<id>.age` and fsyncs the directories.

A crash before 2 leaves a pending file no row references: `recover` deletes it.
A crash between 2 and 3 leaves a referenced pending file: `recover` publishes it.
Plaintext never touches the store; it is read from the caller's stream.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyrage

from vault.errors import IntegrityError, StorageError
from vault.layout import fsync_directory

Progress = Callable[[int], None]  # called with the number of bytes just processed
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# rage moves data 8 KiB at a time; a larger buffer turns that into few large writes.
STREAM_BUFFER = 1 << 20


@dataclass(frozen=True)
class StoredObject:
    object_id: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PendingObject(StoredObject):
    """A fully written object awaiting its DB commit; holds a lock so recovery leaves it be."""

    lock_fd: int = -1

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.lock_fd)


class _HashingReader(io.RawIOBase):
    """Reads from a stream while hashing and counting what passes through."""

    def __init__(self, source: BinaryIO, progress: Progress | None) -> None:
        self._source = source
        self._progress = progress
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = self._source.readinto(buffer) or 0  # rage asks for 8 KiB at a time: no copies
        self.sha256.update(memoryview(buffer)[:n])
        self.size += n
        if self._progress and n:
            self._progress(n)
        return n


class _HashingWriter(io.RawIOBase):
    """Writes to a stream while hashing and counting what passes through."""

    def __init__(self, sink: BinaryIO, progress: Progress | None) -> None:
        self._sink = sink
        self._progress = progress
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.failure: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        try:
            self._sink.write(data)
        except OSError as exc:
            self.failure = exc  # rage re-raises it without its type; keep it to tell apart
            raise
        self.sha256.update(data)
        self.size += len(data)
        if self._progress:
            self._progress(len(data))
        return len(data)


def new_object_id() -> str:
    return secrets.token_hex(16)


def storage_error(exc: OSError, doing: str) -> StorageError:
    if exc.errno in _DISK_FULL:
        return StorageError(f"the disk is full while {doing}", "free some space and try again")
    return StorageError(f"cannot write while {doing}: {exc.strerror}", "check the vault directory")


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pending_root = root / ".pending"

    def create(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.pending_root.mkdir(mode=0o700, exist_ok=True)

    def path_of(self, object_id: str) -> Path:
        return self.root / object_id[:2] / f"{object_id}.age"

    def pending_path_of(self, object_id: str) -> Path:
        return self.pending_root / f"{object_id}.age"

    def write_pending(
        self, source: BinaryIO, recipient: pyrage.x25519.Recipient, progress: Progress | None = None
    ) -> PendingObject:
        """Encrypt `source` into a pending object; constant memory, fsync'd before returning."""
        reader = _HashingReader(source, progress)
        lock_fd = -1
        try:
            object_id, fd = self._create_locked_pending()
            path = self.pending_path_of(object_id)
            lock_fd = os.dup(fd)
            with os.fdopen(fd, "wb", buffering=STREAM_BUFFER) as sink:
                pyrage.encrypt_io(reader, sink, [recipient])
                sink.flush()
                os.fsync(sink.fileno())
        except OSError as exc:
            if lock_fd >= 0:
                path.unlink(missing_ok=True)
            _close_quietly(lock_fd)
            raise storage_error(exc, "encrypting into the vault") from exc
        except BaseException as exc:
            if lock_fd >= 0:
                path.unlink(missing_ok=True)
            _close_quietly(lock_fd)
            if isinstance(exc, pyrage.EncryptError):
                raise _storage_error_from_rage(exc) from exc
            raise
        return PendingObject(object_id, reader.size, reader.sha256.hexdigest(), lock_fd)

    def _create_locked_pending(self) -> tuple[str, int]:
        """Create and lock a new pending file that is still the one at its path.

        Between create and lock, another process's `recover` may see the file unlocked and
        delete it; then the path no longer names our inode, and we start again.
        """
        while True:
            object_id = new_object_id()
            path = self.pending_path_of(object_id)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    fsync_directory(self.pending_root)  # the name must survive a power cut too
                    return object_id, fd
            except FileNotFoundError:
                pass
            os.close(fd)

    def publish(self, pending: PendingObject) -> None:
        """Move a committed pending object to its final place."""
        try:
            self._publish(pending.object_id)
        finally:
            pending.release()

    def discard(self, pending: PendingObject) -> None:
        self.pending_path_of(pending.object_id).unlink(missing_ok=True)
        pending.release()

    def _publish(self, object_id: str) -> None:
        final = self.path_of(object_id)
        if not final.parent.is_dir():
            final.parent.mkdir(mode=0o700, exist_ok=True)
            fsync_directory(self.root)
        pending = self.pending_path_of(object_id)
        if pending.exists():
            os.replace(pending, final)
            fsync_directory(final.parent)
            fsync_directory(self.pending_root)
        elif not final.exists():
            raise IntegrityError(
                f"object {object_id} vanished before it could be published",
                "restore objects/ from a backup; `vault audit verify` shows what is affected",
            )

    def decrypt_to(
        self,
        object_id: str,
        identity: pyrage.x25519.Identity,
        sink: BinaryIO,
        expected: StoredObject,
        progress: Progress | None = None,
    ) -> None:
        """Stream the plaintext into `sink`, then check it is the object the DB recorded.

        The caller must treat `sink` as untrusted until this returns: a swapped or
        corrupted file is only known to be wrong once its last byte was hashed.
        """
        path = self.path_of(object_id)
        if not path.is_file() and self.pending_path_of(object_id).is_file():
            self._publish(object_id)  # a crash may have left it committed but unpublished
        if not path.is_file():
            raise IntegrityError(
                f"the encrypted file of object {object_id} is missing",
                "restore objects/ from a backup",
            )
        writer = _HashingWriter(sink, progress)
        try:
            with open(path, "rb") as source:
                pyrage.decrypt_io(source, writer, [identity])
        except (pyrage.DecryptError, OSError) as exc:
            if writer.failure is not None:
                raise storage_error(writer.failure, "writing the decrypted file") from exc
            raise IntegrityError(
                f"the encrypted file of object {object_id} is damaged or was replaced ({exc})",
                "restore it from a backup; `vault audit log` shows who last wrote it",
            ) from exc
        if writer.size != expected.size or writer.sha256.hexdigest() != expected.sha256:
            raise IntegrityError(
                f"object {object_id} decrypts to content the vault did not record "
                f"(file swapped or database row altered)",
                "restore the object or the database from a backup",
            )

    def object_ids(self) -> Iterable[str]:
        for path in self.root.glob("??/*.age"):
            yield path.stem

    def pending_ids(self) -> Iterable[str]:
        for path in self.pending_root.glob("*.age"):
            yield path.stem

    def recover(self, is_committed: Callable[[str], bool]) -> tuple[int, int]:
        """Finish or undo puts a crash interrupted. Returns (published, discarded)."""
        published = discarded = 0
        for stray in self.pending_root.glob("*"):
            if stray.suffix != ".age" and stray.is_file():  # leftovers of an interrupted write
                stray.unlink(missing_ok=True)
                discarded += 1
        for object_id in list(self.pending_ids()):
            path = self.pending_path_of(object_id)
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # another process is still writing or committing it
            try:
                if is_committed(object_id):
                    self._publish(object_id)
                    published += 1
                else:
                    path.unlink(missing_ok=True)
                    discarded += 1
            finally:
                os.close(fd)
        return published, discarded


def _storage_error_from_rage(exc: Exception) -> StorageError:
    """rage reports the I/O error of our file object as text ("OSError: [Errno 28] ...")."""
    found = re.search(r"\[Errno (\d+)\] ([^\n]*)", str(exc))
    if found:
        return storage_error(OSError(int(found[1]), found[2]), "encrypting into the vault")
    return StorageError(f"encryption failed: {exc}", "check the input file and the vault directory")


def _close_quietly(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
