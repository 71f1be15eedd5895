"""Render and export benchmark: where a render's time goes, what a marked copy costs.

In one run, on a real 640x480 plate with a face (../shared/data/footage/again.mkv, 77 frames)
and a real portrait, in a temporary vault:

  stages    a render split into decode / swap (landmark backend, tracking) / H.264 encode /
            C2PA sign / encrypt, each timed on its own with the code the render uses, next to
            the whole `render` through the library; frames/s for each.
  export    `export` (decrypt, mark, encode, sign, write) divided by a plain H.264 transcode
            of the same master with the same encoder settings (target ≤ 1.3), and C2PA sign
            and verify time as a share of the render's.

    python benchmarks/bench_render.py [--repeat 3] [--seconds 12] [--json FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from swap import Encoding, LandmarkSwap, read_batches, swap_video  # noqa: E402
from swap.backends import decode_image  # noqa: E402
from vault import Vault, provenance  # noqa: E402
from vault.render import signing_credentials  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
PLATE = DATA / "footage" / "again.mkv"
FACE = DATA / "faces" / "obama.jpg"
PASSPHRASES = {"admin": "benchmark-admin-pass", "unseal": "benchmark-unseal-pass"}


def timed(work, repeat: int) -> float:
    """The median wall time of `work()` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def encode_only(frames: np.ndarray, encoding: Encoding) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream(encoding.codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": str(encoding.crf), "preset": encoding.preset}
        for picture in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def studio(folder: Path, plate_bytes: bytes):
    vault = Vault.init(
        folder / "vault", "admin", PASSPHRASES["admin"], PASSPHRASES["unseal"], work_factor=10
    )
    session = vault.login("admin", PASSPHRASES["admin"], "benchmark")
    keys = vault.unseal(PASSPHRASES["unseal"])
    plate = folder / ("plate.mp4" if plate_bytes[4:8] == b"ftyp" else "plate.mkv")
    plate.write_bytes(plate_bytes)
    face = folder / "face.jpg"
    face.write_bytes(FACE.read_bytes())
    plate_id = session.put(plate, "footage", shot=12)["id"]
    face_id = session.put(face, "face")["id"]
    session.shot_add(12, plate_id, face_id)
    session.crew_add("dana", "director", "benchmark-dana-pass")
    return vault, session, keys


def plate_of(seconds: float | None) -> bytes:
    """The real plate, or the real plate played ping-pong to `seconds` (a longer shot, where
    fixed costs weigh less), re-encoded near-losslessly."""
    if seconds is None:
        return PLATE.read_bytes()
    from benchmarks.attacks import encode, load_footage

    return encode(load_footage(PLATE, loop_to_s=seconds), crf=16)


def run(repeat: int, seconds: float | None = None) -> dict:
    plate_bytes, face_bytes = plate_of(seconds), FACE.read_bytes()
    encoding = Encoding()
    frames = np.concatenate(list(read_batches(io.BytesIO(plate_bytes))))
    n = len(frames)
    backend = LandmarkSwap(decode_image(face_bytes))
    stage = {
        "decode": timed(lambda: list(read_batches(io.BytesIO(plate_bytes))), repeat),
        "swap": timed(lambda: (backend.reset(), backend(frames)), repeat),
        "encode": timed(lambda: encode_only(frames, encoding), repeat),
    }
    with tempfile.TemporaryDirectory() as folder:
        vault, session, keys = studio(Path(folder), plate_bytes)
        credentials = signing_credentials(session, keys, "benchmark", {})
        video = encode_only(frames, encoding)
        mime = "video/mp4" if plate_bytes[4:8] == b"ftyp" else "video/x-matroska"
        plate_ing = provenance.Ingredient("plate", mime, plate_bytes, "parentOf")
        face_ing = provenance.Ingredient("face.jpg", "image/jpeg", face_bytes, "componentOf")
        facts = provenance.RenderFacts(
            "Benchmark", "0", 12, 1, "admin", "landmark", {}, plate_ing, face_ing
        )
        manifest = provenance.render_manifest(facts)
        thumbnail = provenance.thumbnail_jpeg(frames[n // 2])

        def sign() -> bytes:
            ingredients = [plate_ing, face_ing]
            return provenance.sign_video(manifest, video, credentials, ingredients, thumbnail)

        signed = sign()
        stage["sign"] = timed(sign, repeat)
        root = vault.layout.root_ca_cert.read_bytes()
        verify = timed(lambda: provenance.read_provenance(signed, root), repeat)

        def encrypt() -> None:
            vault.objects.write_pending(io.BytesIO(signed), vault.recipient(), None).release()

        stage["encrypt"] = timed(encrypt, repeat)
        renders = []
        render_time = timed(lambda: renders.append(session.render(keys, 12)), repeat)
        out = Path(folder) / "copy.mp4"
        export_time = timed(lambda: session.export(keys, 12, "dana", out), repeat)
        master = _latest_master(session, keys)
        transcode = timed(
            lambda: swap_video(io.BytesIO(master), io.BytesIO(), lambda f: f, encoding=encoding),
            repeat,
        )
        vault.close()
    return {
        "frames": n,
        "stages_seconds": stage,
        "render_seconds": render_time,
        "verify_seconds": verify,
        "export_seconds": export_time,
        "transcode_seconds": transcode,
        "export_over_transcode": export_time / transcode,
        "sign_share_of_render": stage["sign"] / render_time,
        "verify_share_of_render": verify / render_time,
    }


def _latest_master(session, keys) -> bytes:
    from vault.models import Asset, Render
    from vault.render import decrypted

    with session.vault.session() as db:
        render = db.query(Render).order_by(Render.rendered_at.desc()).first()
        asset = db.get(Asset, render.asset)
    return decrypted(session, keys, asset, "benchmark", {})


def report(r: dict) -> None:
    n = r["frames"]
    print(f"\nRender of a 640x480 plate ({n} frames), each stage on its own (median of runs)")
    print(f"{'stage':10} {'seconds':>8} {'frames/s':>9} {'share':>6}")
    total = sum(r["stages_seconds"].values())
    for name, seconds in r["stages_seconds"].items():
        print(f"{name:10} {seconds:8.2f} {n / seconds:9.1f} {seconds / total:6.0%}")
    print(f"{'sum':10} {total:8.2f} {n / total:9.1f}")
    print(f"{'render':10} {r['render_seconds']:8.2f} {n / r['render_seconds']:9.1f}   (the whole")
    print("           command through the library: decrypt, decode, swap, encode, sign, encrypt)")
    print("\nExport and provenance")
    print(f"  export (decrypt, mark, encode, sign, write)  {r['export_seconds']:6.2f} s")
    print(f"  plain transcode, same encoder settings       {r['transcode_seconds']:6.2f} s")
    ratio = r["export_over_transcode"]
    print(f"  export / transcode                           {ratio:6.2f}  (target ≤ 1.3)")
    print(f"  C2PA sign, share of the render               {r['sign_share_of_render']:6.1%}")
    print(f"  C2PA verify, share of the render             {r['verify_share_of_render']:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--seconds", type=float, help="play the plate ping-pong to this length (a longer shot)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not PLATE.exists() or not FACE.exists():
        sys.exit("bench_render: ../shared/data is absent; it holds the plate and the portrait")
    result = run(args.repeat, args.seconds)
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
