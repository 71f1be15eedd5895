"""Tests for vault.checkpoint: signed-note encoding, checkpoint parsing and rejection."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vault.checkpoint import (
    MAX_NOTE_BYTES,
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    open_note,
    parse_checkpoint_body,
    sign_checkpoint,
    sign_note,
    verifier_key,
)

# Vectors from the Go reference implementation, golang.org/x/mod/sumdb/note
# (note_test.go: TestNewVerifier, TestSign, TestOpen).
GO_PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_PETER_SIG = (
    "— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH_SIG = (
    "— EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_PETER_SIG

ORIGIN = "example.com/vault-log"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
VKEY = verifier_key(ORIGIN, KEY.public_key())
ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
ROOT_B64 = base64.b64encode(ROOT).decode()
CHECKPOINT = Checkpoint(ORIGIN, 8, ROOT)
NOTE = sign_checkpoint(CHECKPOINT, ORIGIN, KEY)


def go_peter_private_key() -> Ed25519PrivateKey:
    # PRIVATE+KEY+<name>+<id>+<base64(0x01 || 32-byte seed)>; base64 may contain '+'.
    encoded = GO_PETER_SKEY.split("+", 4)[4]
    decoded = base64.b64decode(encoded)
    assert decoded[0] == 1 and len(decoded) == 33
    return Ed25519PrivateKey.from_private_bytes(decoded[1:])


def signed(text: str, key: Ed25519PrivateKey = KEY, name: str = ORIGIN) -> str:
    """Sign arbitrary text, so a parse failure is not masked by a signature failure."""
    return sign_note(text, name, key)


def sig_line(note: str) -> str:
    """The last signature line of a note."""
    return note[note.rindex("\n", 0, -1) + 1 :]


def flip_signature_bit(note: str) -> str:
    """Corrupt the last signature line's signature, keeping its name and key ID."""
    line = sig_line(note)
    name, encoded = line[2:-1].split(" ")
    blob = bytearray(base64.b64decode(encoded))
    blob[-1] ^= 1
    return f"{note[: -len(line)]}— {name} {base64.b64encode(bytes(blob)).decode()}\n"


# --- Go reference vectors.


def test_go_verifier_key_and_key_id() -> None:
    public_key = go_peter_private_key().public_key()
    assert verifier_key("PeterNeumann", public_key) == GO_PETER_VKEY


def test_go_signature_is_reproduced_byte_for_byte() -> None:
    # Ed25519 is deterministic, so the published signature must come out exactly.
    assert sign_note(GO_TEXT, "PeterNeumann", go_peter_private_key()) == GO_NOTE


def test_go_note_verifies_with_published_key() -> None:
    assert open_note(GO_NOTE, GO_PETER_VKEY) == GO_TEXT
    assert open_note(GO_NOTE.encode(), GO_PETER_VKEY) == GO_TEXT


def test_go_note_unknown_signatures_are_ignored() -> None:
    both = GO_TEXT + "\n" + GO_PETER_SIG + GO_ENOCH_SIG
    assert open_note(both, GO_PETER_VKEY) == GO_TEXT
    assert open_note(both, GO_ENOCH_VKEY) == GO_TEXT
    with pytest.raises(CheckpointError, match="no signature from key PeterNeumann"):
        open_note(GO_TEXT + "\n" + GO_ENOCH_SIG, GO_PETER_VKEY)


def test_go_note_tampered_text_fails() -> None:
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), GO_PETER_VKEY)


def test_go_invalid_signature() -> None:
    # Go's TestOpen splices "ABCD" into the base64 at byte offset 60.
    raw = GO_PETER_SIG.encode()
    bad_sig = (raw[:60] + b"ABCD" + raw[60:]).decode()
    with pytest.raises(CheckpointError, match="PeterNeumann\\+c74f20a3"):
        open_note(GO_TEXT + "\n" + bad_sig, GO_PETER_VKEY)


@pytest.mark.parametrize(
    "message",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + GO_PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + GO_PETER_SIG,
        b"\xff" + (GO_TEXT + "\n" + GO_PETER_SIG).encode(),
        GO_TEXT + "\n" + "— Bad Name " + GO_PETER_SIG.split(" ")[2].rstrip("\n"),
        GO_TEXT + "\n" + GO_PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + GO_PETER_SIG * 101,
    ],
)
def test_go_malformed_notes(message: str | bytes) -> None:
    with pytest.raises(CheckpointError):
        open_note(message, GO_PETER_VKEY)


def test_go_verifier_key_manglings_are_rejected() -> None:
    raw = GO_PETER_VKEY.encode()
    mangled = {raw[i:j] for i in range(len(raw)) for j in range(i + 1, len(raw) + 1)}
    for i in range(len(raw)):
        mangled.add(raw[:i] + bytes([raw[i] + 1]) + raw[i + 1 :])
    mangled.discard(raw)
    for key in mangled:
        with pytest.raises(CheckpointError):
            open_note(GO_NOTE, key.decode())


# --- Round trips.


def test_checkpoint_body_format() -> None:
    assert CHECKPOINT.body() == f"{ORIGIN}\n8\n{ROOT_B64}\n"
    with_ext = Checkpoint(ORIGIN, 0, ROOT, ("ext one", "ext two"))
    assert with_ext.body() == f"{ORIGIN}\n0\n{ROOT_B64}\next one\next two\n"


def test_signed_note_format() -> None:
    body, line = NOTE.split("\n\n")
    assert body + "\n" == CHECKPOINT.body()
    assert line.startswith(f"\u2014 {ORIGIN} ") and line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2])
    assert len(blob) == 68
    assert blob[:4].hex() == VKEY.split("+")[1]


@pytest.mark.parametrize(
    "checkpoint",
    [
        CHECKPOINT,
        Checkpoint(ORIGIN, 0, bytes(32)),
        Checkpoint(ORIGIN, (1 << 64) - 1, ROOT, ("extension line", "another — one")),
        Checkpoint("ünïcode.example/日志", 1, ROOT),
    ],
)
def test_round_trip(checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, ORIGIN, KEY)
    assert open_checkpoint(note, VKEY) == checkpoint
    assert open_checkpoint(note.encode(), VKEY, expected_origin=checkpoint.origin) == checkpoint


def test_cosigned_checkpoint_opens_with_each_key() -> None:
    other_vkey = verifier_key("witness.example", OTHER_KEY.public_key())
    cosigned = NOTE + sig_line(signed(CHECKPOINT.body(), OTHER_KEY, "witness.example"))
    assert open_checkpoint(cosigned, VKEY) == CHECKPOINT
    assert open_checkpoint(cosigned, other_vkey) == CHECKPOINT
    # A broken signature from a key we were not asked about is ignored.
    assert open_checkpoint(flip_signature_bit(cosigned), VKEY) == CHECKPOINT


def test_extension_lines_survive_parsing() -> None:
    text = f"{ORIGIN}\n3\n{ROOT_B64}\nx\n"
    assert parse_checkpoint_body(text) == Checkpoint(ORIGIN, 3, ROOT, ("x",))


# --- Rejections.


def _wrong_id_same_name() -> str:
    # A signature whose name matches but whose key ID does not is someone else's key.
    return signed(CHECKPOINT.body(), OTHER_KEY, ORIGIN)


def _same_id_wrong_name() -> str:
    line = sig_line(NOTE).replace(ORIGIN, "impostor.example", 1)
    return NOTE[: NOTE.rindex("\n\n") + 2] + line


def _non_canonical_root() -> str:
    zero = base64.b64encode(bytes(32)).decode()
    return zero[:-2] + "B="  # same bytes under a lenient decoder, but spare bits set


def _oversized_but_signed() -> str:
    body = CHECKPOINT.body() + "x" * MAX_NOTE_BYTES + "\n"
    return body + sig_line(NOTE)


# (what is wrong, fragment of the expected error message, note)
REJECTED = [
    # Note structure.
    ("missing blank line", "no blank line", NOTE.replace("\n\n", "\n")),
    ("no signature lines", "no signature lines", CHECKPOINT.body() + "\n"),
    ("no final newline", "end with a newline", NOTE[:-1]),
    ("line after signatures", "em dash", NOTE + "trailing text\n"),
    ("hyphen instead of em dash", "em dash", NOTE.replace("\u2014 ", "- ")),
    ("double hyphen instead of em dash", "em dash", NOTE.replace("\u2014 ", "-- ")),
    ("missing space after em dash", "em dash", NOTE.replace("\u2014 ", "\u2014")),
    ("signature not base64", "malformed base64", CHECKPOINT.body() + f"\n\u2014 {ORIGIN} !!!!\n"),
    ("signature too short", "malformed base64", CHECKPOINT.body() + f"\n\u2014 {ORIGIN} AAAA\n"),
    ("too many signatures", "more than 100", NOTE + sig_line(NOTE) * 100),
    ("CRLF line endings", "control character", NOTE.replace("\n", "\r\n")),
    ("tab in body", "control character", NOTE.replace(ORIGIN + "\n", ORIGIN + "\t\n", 1)),
    ("bad UTF-8", "UTF-8", NOTE.encode().replace(ORIGIN.encode(), b"\xffxample.com/vault-log")),
    ("lone surrogate", "UTF-8", NOTE.replace("example", "\ud800xample")),
    ("over 1 MiB", "larger than", "a" * (MAX_NOTE_BYTES + 1)),
    ("over 1 MiB signed", "larger than", _oversized_but_signed()),
    ("over 1 MiB bytes", "larger than", NOTE.encode() + b"x" * MAX_NOTE_BYTES),
    # Signatures.
    ("body changed after signing", "invalid signature", NOTE.replace("\n8\n", "\n9\n")),
    (
        "origin changed after signing",
        "invalid signature",
        NOTE.replace(ORIGIN + "\n", "evil.example\n", 1),
    ),
    ("signature bit flipped", "invalid signature", flip_signature_bit(NOTE)),
    (
        "signed by another key",
        "no signature from",
        signed(CHECKPOINT.body(), OTHER_KEY, "other.example"),
    ),
    ("same name, other key", "no signature from", _wrong_id_same_name()),
    ("same key ID, other name", "no signature from", _same_id_wrong_name()),
    (
        "second signature by our key is bad",
        "invalid signature",
        NOTE + sig_line(flip_signature_bit(NOTE)),
    ),
    # Checkpoint body (validly signed, so only the parser can object).
    ("two lines only", "needs origin", signed(f"{ORIGIN}\n8\n")),
    ("one line only", "needs origin", signed(f"{ORIGIN}\n")),
    ("empty origin", "origin line is empty", signed(f"\n8\n{ROOT_B64}\n")),
    ("size with leading zero", "tree size", signed(f"{ORIGIN}\n08\n{ROOT_B64}\n")),
    ("size with plus sign", "tree size", signed(f"{ORIGIN}\n+8\n{ROOT_B64}\n")),
    ("negative size", "tree size", signed(f"{ORIGIN}\n-1\n{ROOT_B64}\n")),
    ("size with space", "tree size", signed(f"{ORIGIN}\n8 \n{ROOT_B64}\n")),
    ("size with underscore", "tree size", signed(f"{ORIGIN}\n1_000\n{ROOT_B64}\n")),
    ("size in other digits", "tree size", signed(f"{ORIGIN}\n\u0668\n{ROOT_B64}\n")),
    ("size in hex", "tree size", signed(f"{ORIGIN}\n0x8\n{ROOT_B64}\n")),
    ("size empty", "tree size", signed(f"{ORIGIN}\n\n{ROOT_B64}\n")),
    ("size over uint64", "tree size", signed(f"{ORIGIN}\n18446744073709551616\n{ROOT_B64}\n")),
    ("root not base64", "root hash", signed(f"{ORIGIN}\n8\n{ROOT_B64[:-2]}!=\n")),
    ("root unpadded", "root hash", signed(f"{ORIGIN}\n8\n{ROOT_B64.rstrip('=')}\n")),
    ("root URL-safe base64", "root hash", signed(f"{ORIGIN}\n8\n{ROOT_B64.replace('/', '_')}\n")),
    ("root non-canonical base64", "root hash", signed(f"{ORIGIN}\n8\n{_non_canonical_root()}\n")),
    (
        "root 31 bytes",
        "root hash",
        signed(f"{ORIGIN}\n8\n{base64.b64encode(ROOT[:31]).decode()}\n"),
    ),
    (
        "root 33 bytes",
        "root hash",
        signed(f"{ORIGIN}\n8\n{base64.b64encode(ROOT + b'x').decode()}\n"),
    ),
    ("root hex", "root hash", signed(f"{ORIGIN}\n8\n{ROOT.hex()}\n")),
    ("empty extension line", "empty extension", signed(f"{ORIGIN}\n8\n{ROOT_B64}\n\next\n")),
    ("trailing empty line", "empty extension", signed(f"{ORIGIN}\n8\n{ROOT_B64}\n\n")),
]


@pytest.mark.parametrize(("why", "reason", "note"), REJECTED, ids=[why for why, _, _ in REJECTED])
def test_rejected(why: str, reason: str, note: str | bytes) -> None:
    with pytest.raises(CheckpointError, match=reason) as info:
        open_checkpoint(note, VKEY)
    assert "\n" not in str(info.value), "error messages must be one line"


def test_origin_mismatch() -> None:
    assert open_checkpoint(NOTE, VKEY, expected_origin=ORIGIN) == CHECKPOINT
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(NOTE, VKEY, expected_origin="example.com/other-log")


@pytest.mark.parametrize(
    "verifier",
    [
        "",
        ORIGIN,
        VKEY + "A",
        VKEY.upper(),
        VKEY.replace("+", "+0", 1),
        VKEY.replace(ORIGIN, "other.example"),
        "+".join([VKEY.split("+")[0], VKEY.split("+")[1], "Ag" + VKEY.split("+", 2)[2][2:]]),
    ],
)
def test_malformed_verifier_keys(verifier: str) -> None:
    with pytest.raises(CheckpointError):
        open_checkpoint(NOTE, verifier)


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\there", "nbsp\u00a0", "\x01"])
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(CheckpointError):
        verifier_key(name, KEY.public_key())
    with pytest.raises(CheckpointError):
        sign_checkpoint(CHECKPOINT, name, KEY)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("two\nlines", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, 1 << 64, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT.hex(), ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("a\nb",)),
        (ORIGIN, 1, ROOT, ("carriage\rreturn",)),
    ],
)
def test_invalid_checkpoints_cannot_be_built(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root, extensions)


def test_checkpoint_error_is_a_value_error() -> None:
    assert issubclass(CheckpointError, ValueError)


def test_sign_note_rejects_unsignable_text() -> None:
    for text in ["", "no newline", "control\x07\n", "surrogate\ud800\n"]:
        with pytest.raises(CheckpointError):
            sign_note(text, ORIGIN, KEY)
