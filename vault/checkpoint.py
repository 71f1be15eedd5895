"""Transparency log checkpoints (c2sp.org/tlog-checkpoint) in signed notes (c2sp.org/signed-note).

Only Ed25519 note signatures (signature type 0x01) are supported. A note looks like::

    example.com/log
    42
    <base64 root hash>
    <optional extension lines>

    — example.com/log <base64(4-byte key ID || 64-byte Ed25519 signature)>

Everything a verifier reads is untrusted, so parsing is strict and every problem
raises :class:`CheckpointError` with a one-line message naming what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAX_NOTE_BYTES = 1 << 20
# The Go reference (golang.org/x/mod/sumdb/note) rejects notes with more than 100
# signature lines; doing the same keeps us interoperable and bounds the work per note.
MAX_SIGNATURES = 100
MAX_TREE_SIZE = (1 << 64) - 1  # tree sizes are uint64 everywhere else in the ecosystem

ROOT_HASH_SIZE = 32
_ALG_ED25519 = b"\x01"
_KEY_ID_SIZE = 4
_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_SIG_LINE_PREFIX = "\u2014 "  # EM DASH, SPACE
_CONTROL_CHARS = re.compile("[\x00-\x09\x0b-\x1f]")  # the spec allows only "\n" below U+0020
_DECIMAL = re.compile("0|[1-9][0-9]{0,19}")  # ASCII only: str.isdigit() accepts other scripts
_HEX_KEY_ID = re.compile("[0-9a-f]{8}")


class CheckpointError(ValueError):
    """A signed note, checkpoint or verifier key is malformed or fails verification."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: its origin, tree size and RFC 6962 root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Validate on construction so that body() can only produce a parseable note.
        object.__setattr__(self, "extensions", tuple(self.extensions))
        _check_line("origin", self.origin)
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"tree size must be an int, got {type(self.size).__name__}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size} is outside 0..2^64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != ROOT_HASH_SIZE:
            raise CheckpointError(f"root hash must be {ROOT_HASH_SIZE} bytes")
        for line in self.extensions:
            _check_line("extension line", line)

    def body(self) -> str:
        """Return the checkpoint note text, each line ending in a newline."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)


def _check_line(what: str, line: object) -> None:
    if not isinstance(line, str) or not line:
        raise CheckpointError(f"{what} must be a non-empty string")
    if "\n" in line or _CONTROL_CHARS.search(line):
        raise CheckpointError(f"{what} must not contain newlines or control characters")


def _show(text: str, limit: int = 40) -> str:
    """Quote untrusted text for an error message: escaped, so one line, and short."""
    shown = repr(text[:limit])
    return shown + "..." if len(text) > limit else shown


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Decode standard padded base64, or return None if it is not in canonical form."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Reject encodings with non-zero spare bits, so each value has one spelling.
    return data if _b64encode(data) == text else None


def _is_valid_key_name(name: str) -> bool:
    # Control characters are already banned from whole notes; banning them here too
    # means a name accepted for signing always yields a note that opens.
    return (
        bool(name)
        and "+" not in name
        and not any(c.isspace() for c in name)
        and not _CONTROL_CHARS.search(name)
    )


def _check_key_name(name: str) -> None:
    if not isinstance(name, str) or not _is_valid_key_name(name):
        raise CheckpointError(
            f"invalid key name {_show(str(name))}: must be non-empty, without spaces or '+'"
        )


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _key_id(key_name: str, raw_public_key: bytes) -> bytes:
    digest = hashlib.sha256(key_name.encode() + b"\n" + _ALG_ED25519 + raw_public_key)
    return digest.digest()[:_KEY_ID_SIZE]


def verifier_key(key_name: str, public_key: Ed25519PublicKey) -> str:
    """Return the verifier key string "<name>+<hex key ID>+<base64(0x01 || key)>"."""
    _check_key_name(key_name)
    raw = _raw_public_key(public_key)
    return f"{key_name}+{_key_id(key_name, raw).hex()}+{_b64encode(_ALG_ED25519 + raw)}"


def _parse_verifier_key(verifier: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """Split a verifier key string into (name, key ID, public key), checking the ID."""
    # Names cannot contain '+', but base64 can, so split at most twice.
    parts = verifier.split("+", 2) if isinstance(verifier, str) else []
    if len(parts) != 3:
        raise CheckpointError("malformed verifier key: want <name>+<key id>+<key>")
    name, id_hex, key_b64 = parts
    if not _is_valid_key_name(name):
        raise CheckpointError(f"malformed verifier key: invalid key name {_show(name)}")
    if not _HEX_KEY_ID.fullmatch(id_hex):
        raise CheckpointError("malformed verifier key: key ID must be 8 lowercase hex digits")
    key = _b64decode(key_b64)
    if key is None or len(key) != 1 + _ED25519_KEY_SIZE or key[:1] != _ALG_ED25519:
        raise CheckpointError("malformed verifier key: want base64 of 0x01 || 32-byte Ed25519 key")
    raw = key[1:]
    if _key_id(name, raw) != bytes.fromhex(id_hex):
        raise CheckpointError("malformed verifier key: key ID does not match name and key")
    try:
        public_key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise CheckpointError("malformed verifier key: invalid Ed25519 public key") from exc
    return name, bytes.fromhex(id_hex), public_key


def _check_note_text(text: str) -> bytes:
    """Check note text is signable and return its UTF-8 encoding."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise CheckpointError("note text must be a string ending in a newline")
    if _CONTROL_CHARS.search(text):
        raise CheckpointError("note text contains a control character")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CheckpointError("note text is not valid UTF-8") from exc


def sign_note(text: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``text`` and return the signed note: text, blank line, one signature line."""
    _check_key_name(key_name)
    message = _check_note_text(text)
    key_id = _key_id(key_name, _raw_public_key(private_key.public_key()))
    signature = private_key.sign(message)
    note = f"{text}\n{_SIG_LINE_PREFIX}{key_name} {_b64encode(key_id + signature)}\n"
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise CheckpointError(f"signed note would exceed {MAX_NOTE_BYTES} bytes")
    return note


def _decode_note(note: str | bytes) -> str:
    """Return the note as text after the size, UTF-8 and control character checks."""
    if isinstance(note, str):
        if len(note) > MAX_NOTE_BYTES:  # cheap pre-check: a char is at least one byte
            raise CheckpointError(f"note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            raw = note.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CheckpointError("note is not valid UTF-8") from exc
    elif isinstance(note, bytes):
        raw = note
    else:
        raise CheckpointError(f"note must be str or bytes, got {type(note).__name__}")
    if len(raw) > MAX_NOTE_BYTES:
        raise CheckpointError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError("note is not valid UTF-8") from exc
    if _CONTROL_CHARS.search(text):
        raise CheckpointError("note contains a control character other than newline")
    return text


def _parse_signature_line(line: str, number: int) -> tuple[str, bytes]:
    """Parse "— <name> <base64>" into (name, key ID || signature)."""
    if not line.startswith(_SIG_LINE_PREFIX):
        raise CheckpointError(f"signature line {number} does not start with an em dash and space")
    name, _, encoded = line[len(_SIG_LINE_PREFIX) :].partition(" ")
    if not _is_valid_key_name(name):
        raise CheckpointError(f"signature line {number} has an invalid key name {_show(name)}")
    blob = _b64decode(encoded)
    if blob is None or len(blob) <= _KEY_ID_SIZE:
        raise CheckpointError(f"signature line {number} has a malformed base64 signature")
    return name, blob


def _split_note(text: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a note into its signed text and its parsed signature lines."""
    # The spec lets the text contain blank lines; the last one starts the signatures.
    split = text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block:
        raise CheckpointError("note has no signature lines")
    if not block.endswith("\n"):
        raise CheckpointError("note does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has more than {MAX_SIGNATURES} signature lines")
    return body, [_parse_signature_line(line, n) for n, line in enumerate(lines, start=1)]


def open_note(note: str | bytes, verifier: str) -> str:
    """Verify a signed note against one verifier key and return its text.

    Signatures from other keys (name or key ID differs) are ignored, as the spec
    requires. Every signature from the verifier's key must verify, and there must
    be at least one.
    """
    name, key_id, public_key = _parse_verifier_key(verifier)
    body, signatures = _split_note(_decode_note(note))
    ours = [
        blob[_KEY_ID_SIZE:]
        for sig_name, blob in signatures
        if sig_name == name and blob[:_KEY_ID_SIZE] == key_id
    ]
    key_label = f"{name}+{key_id.hex()}"
    if not ours:
        raise CheckpointError(f"note has no signature from key {key_label}")
    message = body.encode("utf-8")
    for signature in ours:
        if len(signature) != _ED25519_SIG_SIZE:
            raise CheckpointError(f"signature from key {key_label} is not 64 bytes")
        try:
            public_key.verify(signature, message)
        except InvalidSignature as exc:
            raise CheckpointError(f"invalid signature from key {key_label}") from exc
    return body


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse checkpoint note text. Only call this on text whose signature was verified."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, tree size and root hash lines")
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin line is empty")
    if not _DECIMAL.fullmatch(size_line) or int(size_line) > MAX_TREE_SIZE:
        raise CheckpointError(
            f"checkpoint tree size {_show(size_line)} is not a canonical decimal uint64"
        )
    root_hash = _b64decode(root_line)
    if root_hash is None:
        raise CheckpointError(f"checkpoint root hash {_show(root_line)} is not canonical base64")
    if len(root_hash) != ROOT_HASH_SIZE:
        raise CheckpointError(
            f"checkpoint root hash is {len(root_hash)} bytes, want {ROOT_HASH_SIZE}"
        )
    if any(not line for line in extensions):
        raise CheckpointError("checkpoint has an empty extension line")
    return Checkpoint(origin, int(size_line), root_hash, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Return ``cp`` as a note signed by ``private_key`` under ``key_name``."""
    return sign_note(cp.body(), key_name, private_key)


def open_checkpoint(
    note_text: str | bytes, verifier: str, expected_origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note against ``verifier`` and return the checkpoint.

    Raises CheckpointError if the note is malformed, lacks a valid signature from
    the verifier's key, or (when given) its origin is not ``expected_origin``.
    """
    checkpoint = parse_checkpoint_body(open_note(note_text, verifier))
    if expected_origin is not None and checkpoint.origin != expected_origin:
        raise CheckpointError(
            f"checkpoint origin {_show(checkpoint.origin)} is not the "
            f"expected {_show(expected_origin)}"
        )
    return checkpoint
