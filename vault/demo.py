"""`make demo`: the whole story so far, run through the real `vault` command in a temporary vault.

Every step is printed as the command a crew member would type, followed by its output.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_FOOTAGE = SHARED_DATA / "footage" / "again.mkv"
SHARED_FACE = SHARED_DATA / "faces" / "obama.jpg"

SCRIPT = Path(__file__).with_name("demo_script.fountain")  # three pages, shipped

CREW = {
    "sec": ("admin", "security-officer-passphrase"),
    "dana": ("director", "director-passphrase"),
    "eddie": ("editor", "editor-passphrase"),
    "ava": ("actor", "actor-passphrase"),
    "vic": ("vfx", "vfx-artist-passphrase"),
    "pat": ("producer", "producer-passphrase"),
}
UNSEAL = "studio-unseal-passphrase"
# The installed console script, as a user runs it (`python -m vault` would import the
# vault *directory* in the working directory instead of the package).
_SCRIPT = Path(sys.executable).with_name("vault")
VAULT_COMMAND = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "vault.cli"]


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.home = workdir / "vault"

    def run(self, who: str, *args: str, new_passphrase: str | None = None, ok: bool = True) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
        env |= {
            "VAULT_HOME": str(self.home),
            "VAULT_USER": who,
            "VAULT_PASSPHRASE": CREW[who][1] if who in CREW else "guessed-passphrase",
            "VAULT_UNSEAL": UNSEAL,
        }
        if new_passphrase:
            env["VAULT_NEW_PASSPHRASE"] = new_passphrase
        shown = " ".join(shlex.quote(a) for a in args)
        print(f"\n[{who}]$ vault {shown}", flush=True)
        result = subprocess.run(
            [*VAULT_COMMAND, *args],
            env=env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
        )
        print((result.stdout + result.stderr).rstrip())
        if ok and result.returncode != 0:
            raise SystemExit(f"demo step failed: vault {shown}")
        if not ok and result.returncode == 0:
            raise SystemExit(f"demo step should have been refused: vault {shown}")
        return result.stdout

    def story(self) -> None:
        plate = SHARED_FOOTAGE if SHARED_FOOTAGE.is_file() else self._synthetic_plate()
        script = self.workdir / "the-double.fountain"
        script.write_text(SCRIPT.read_text(encoding="utf-8"), encoding="utf-8")
        kept_checkpoint = self.workdir / "checkpoint-kept-by-security.txt"

        print("== set-up: the security officer creates the vault and the crew")
        self.run("sec", "init", "--admin", "sec", "--production", "The Double")
        for name, (role, passphrase) in CREW.items():
            if name != "sec":
                self.run("sec", "crew", "add", name, "--role", role, new_passphrase=passphrase)
        self.run("sec", "crew", "list")

        print("\n== assets go in encrypted; the last word printed is the asset id")
        plate_id = self.run("dana", "put", str(plate), "--kind", "footage", "--shot", "12").split()[
            -1
        ]
        script_id = self.run("sec", "put", str(script), "--kind", "script").split()[-1]
        self.run("eddie", "ls")

        print("\n== deny by default: the actor has the script but not the plate")
        self.run("ava", "get", script_id, "-o", "ava-script.pdf")
        self.run("ava", "get", plate_id, "-o", "ava-plate.mp4", ok=False)
        self.run("sec", "grant", "ava", "--shot", "12")
        print("(footage leaves only as the member's own marked, signed copy)")
        self.run("ava", "get", plate_id, "-o", "ava-plate.mp4")
        self.run("sec", "revoke", "ava", "--shot", "12")

        print("\n== refused attempts are logged too")
        self.run("ava", "get", plate_id, "-o", "again.mkv", ok=False)
        self.run("mallory", "ls", ok=False)

        self.script_story(script_id)
        if plate == SHARED_FOOTAGE and SHARED_FACE.is_file():
            self.swap_story(plate_id)
        else:
            print("\n(../shared/data is absent: the render and export part needs a real face)")

        print("\n== the audit log: read it, keep a checkpoint elsewhere, verify against it")
        self.run("sec", "audit", "checkpoint", "-o", str(kept_checkpoint))
        self.run(
            "eddie", "put", str(plate), "--kind", "footage", "--shot", "13", "--name", "alt take"
        )
        self.run("sec", "audit", "log", "--limit", "12")
        self.run("sec", "audit", "verify", "--against", str(kept_checkpoint))
        print("\nThe demo vault and its files are deleted now; `vault init` makes a real one.")

    def script_story(self, script_id: str) -> None:
        print("\n== every script that leaves is its reader's own (canary variants), and signed")
        self.run("dana", "get", script_id, "-o", "dana-script.fountain")
        self.run("sec", "verify", "ava-script.pdf")
        leaked = self.workdir / "leaked-pages.txt"
        leaked.write_text(_without_visible_marks(self.workdir / "ava-script.pdf", "ava"))
        print(
            "\n== a leak: ava copies the text out of her PDF, deletes her name and the footer,"
            " and mails it"
        )
        self.run("sec", "trace", str(leaked))

    def swap_story(self, plate_id: str) -> None:
        print("\n== the face swap runs inside the vault; every render is signed (C2PA)")
        face_id = self.run("vic", "put", str(SHARED_FACE), "--kind", "face").split()[-1]
        self.run("vic", "shot", "add", "12", "--plate", plate_id, "--face", face_id)
        self.run("vic", "render", "--shot", "12")
        self.run("vic", "shot", "list")

        print("\n== every copy that leaves is its recipient's own: marked, signed, recorded")
        copies = {}
        for name in ("eddie", "pat", "vic"):
            copies[name] = self.workdir / f"shot12-for-{name}.mp4"
            self.run("dana", "export", "--shot", "12", "--to", name, "-o", str(copies[name]))
        self.run("dana", "export", "--shot", "12", "--to", "ava", "-o", "ava.mp4", ok=False)

        print("\n== anyone can check a file: the studio's signature, and what it claims")
        self.run("pat", "verify", str(copies["pat"]))
        print("\n== a copy stripped of its manifest and re-encoded is still known by its mark")
        stripped = self.workdir / "reposted.mp4"
        _reencode_without_manifest(copies["eddie"], stripped)
        print(f"(eddie's copy re-encoded to {stripped.name}: no manifest left)")
        self.run("sec", "verify", str(stripped))

        print("\n== a leak: pat's copy cropped, scaled to 480x360, trimmed, re-encoded")
        leaked = self.workdir / "leaked.mp4"
        _reencode_without_manifest(copies["pat"], leaked, crop=40, size=(480, 360), skip=15)
        page = Path.cwd() / "vault-demo-trace.html"
        self.run("sec", "trace", str(leaked), "--report", str(page))
        print(f"(the evidence page, with its plot and pictures, is kept at {page})")

    def _synthetic_plate(self) -> Path:
        path = self.workdir / "plate.bin"
        path.write_bytes(os.urandom(2_000_000))
        return path


def _without_visible_marks(pdf: Path, recipient: str) -> str:
    """The text of a PDF copy without its visible name and footer, as a careful leaker
    would send it."""
    from pypdf import PdfReader

    lines = "\n".join(page.extract_text() for page in PdfReader(pdf).pages).splitlines()
    return "\n".join(
        line
        for line in lines
        if "issued to" not in line.lower() and line.strip().lower() != recipient.lower()
    )


def _reencode_without_manifest(
    source: Path,
    target: Path,
    crop: int = 0,
    size: tuple[int, int] | None = None,
    skip: int = 0,
) -> None:
    """What a re-upload or a leaker does to a file: drop the first `skip` frames, cut `crop`
    pixels off every side, scale to `size`, encode anew (CRF 23). No C2PA box survives."""
    import av
    import cv2

    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        video = inp.streams.video[0]
        width, height = video.codec_context.width, video.codec_context.height
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height = size or (width - 2 * crop, height - 2 * crop)
        stream.pix_fmt, stream.options = "yuv420p", {"crf": "23"}
        for index, frame in enumerate(inp.decode(video=0)):
            if index < skip:
                continue
            picture = frame.to_ndarray(format="rgb24")[crop : height - crop, crop : width - crop]
            picture = cv2.resize(
                picture, (stream.width, stream.height), interpolation=cv2.INTER_AREA
            )
            out.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        out.mux(stream.encode(None))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vault-demo-") as workdir:
        Demo(Path(workdir)).story()


if __name__ == "__main__":
    main()
