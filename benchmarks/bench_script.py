"""Screenplay canary benchmark: site density, and tracing leaks back to 1 of 200 recipients.

A generated 120-page thriller (benchmarks/screenplay.py) and the two hand-written test scenes
are measured for sites per printed page. The thriller is then marked for 200 recipients with
the text code (Tardos, uniform bias, one position per word or wrap site) and leaks are traced with a
false-accusation threshold of 1e-6 over all 200 (Bonferroni), as `vault trace` does:

    retyped N pages   a random recipient's pages, retyped (reflowed, ~1% typos, dropped
                      words, case changes): word sites only, the line breaks are lost
    PDF text N pages  the text layer of N pages of the recipient's PDF, name and footer
                      included (read as claims, never as evidence): word and wrap sites
    photographed 2    the recipient's PDF, two pages photographed (perspective, blur, uneven
                      light, noise, JPEG) and read by Tesseract
    colluders, 10 pp  two recipients' copies merged line by line, ten pages of it
    other script      ten pages of a different screenplay

Hit: the leaker (or, for colluders, one of the two) is accused and nobody else is. Each
excerpt is tested three ways (watermark.accuse): with no visible marks, which is what the
targets are judged on; with the copy id its footer shows, where one is read (a PDF's text, a
photo): half the threshold is kept for testing that copy alone; and with a footer forged to
name a random innocent, which must never get the innocent accused.

  python benchmarks/bench_script.py [--text-trials 100] [--pdf-trials 50]
                                    [--photo-trials 50] [--collusion-trials 50]
                                    [--pages 1,2,3,4] [--seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.screenplay import screenplay  # noqa: E402
from benchmarks.script_attacks import (  # noqa: E402
    merge_lines,
    pages_of,
    pdf_pages,
    photograph,
    retype,
)
from detect.script import script_evidence  # noqa: E402
from detect.text_source import Claims, SuspectText, read_text  # noqa: E402
from watermark import TardosCode, accuse  # noqa: E402
from watermark.script import (  # noqa: E402
    find_sites,
    find_wraps,
    lay_out,
    mark_script,
    render_pdf,
    site_count,
)

KEY = b"benchmark production key"
RECIPIENTS = 200
THRESHOLD = 1e-6


class Bench:
    def __init__(self, master: str) -> None:
        self.master = master
        self.sites = find_sites(master)
        self.pages = len(lay_out(master).pages)
        self.code = TardosCode.generate(KEY, site_count(master), colluders=2, bias="uniform")
        self.codewords = self.code.codewords(range(RECIPIENTS))
        self._copies: dict[int, str] = {}
        self._pdfs: dict[int, bytes] = {}
        self.times: list[float] = []
        self.innocents = 0

    def copy(self, user: int) -> str:
        if user not in self._copies:
            self._copies[user] = mark_script(
                self.master, self.codewords[user], KEY, sites=self.sites
            )
        return self._copies[user]

    def pdf(self, user: int) -> bytes:
        if user not in self._pdfs:
            copy = self.copy(user)
            self._pdfs[user] = render_pdf(copy, recipient=f"Recipient {user}", copy_id=f"C-{user}")
        return self._pdfs[user]

    def trace(
        self, suspect: str | SuspectText, guilty: set[int], rng: np.random.Generator
    ) -> Outcome:
        """The excerpt tested three ways: with no visible marks, with the marks it shows
        (a PDF's footer), and with a footer forged to name a random innocent."""
        started = time.perf_counter()
        evidence = script_evidence(self.master, suspect, KEY, self.code.length)
        plain = self._hit(evidence, guilty, ())
        self.times.append(time.perf_counter() - started)
        shown = _claimed_copy(suspect)
        footer = None if shown is None else self._hit(evidence, guilty, (shown,))
        innocent = int(rng.choice(sorted(set(range(RECIPIENTS)) - guilty)))
        forged = self._hit(evidence, guilty, (innocent,))
        return Outcome(plain, footer, forged, evidence.sites_read)

    def _hit(self, evidence, guilty: set[int], claimed: tuple[int, ...]) -> bool:
        """Someone in `guilty` and nobody else is accused (nobody at all, for no guilty)."""
        verdict = accuse(
            evidence, self.code, range(RECIPIENTS), threshold=THRESHOLD, claimed=claimed
        )
        accused = {a.copy for a in verdict.accused}
        self.innocents += len(accused - guilty)
        return accused <= guilty and bool(accused) == bool(guilty)


@dataclass(frozen=True)
class Outcome:
    plain: bool  # no visible marks read
    footer: bool | None  # the marks the excerpt shows; None where it shows none
    forged: bool  # a footer naming an innocent
    sites_read: int


def _claimed_copy(suspect: str | SuspectText) -> int | None:
    """The recipient a PDF's footer (copy id C-n) names, as read from the excerpt (in any
    case, as `vault trace` matches copy ids)."""
    copy_id = suspect.claims.copy_id if isinstance(suspect, SuspectText) else None
    if copy_id and copy_id.upper().startswith("C-") and copy_id[2:].isdigit():
        return int(copy_id[2:])
    return None


def density_table(scripts: dict[str, str]) -> str:
    rows = ["| script | pages | word sites/page (min-max) | wrap sites/page (min-max) | "
            "of them three-way | words/page |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for name, text in scripts.items():
        layout = lay_out(text)
        word, wrap, deep = (np.zeros(len(layout.pages), dtype=int) for _ in range(3))
        for site in find_sites(text):
            word[layout.page_of(site.start) - 1] += 1
        for wrap_site in find_wraps(text).sites:
            page = layout.page_of(wrap_site.gaps[0][0]) - 1
            wrap[page] += 1
            deep[page] += wrap_site.deep is not None
        words = len(text.split()) / len(layout.pages)
        cells = [f"{x.mean():.1f} ({x.min()}-{x.max()})" for x in (word, wrap)]
        rows.append(
            f"| {name} | {len(layout.pages)} | {' | '.join(cells)} | {deep.mean():.1f} | "
            f"{words:.0f} |"
        )
    return "\n".join(rows)


def run_trials(
    label: str, trials: int, attempt: Callable[[np.random.Generator], Outcome],
    rng: np.random.Generator,
) -> str:  # fmt: skip
    if trials < 1:
        return f"| {label} | 0 | not run | | | |"
    outcomes = [attempt(rng) for _ in range(trials)]
    shown = [o.footer for o in outcomes if o.footer is not None]
    footer = f"{sum(shown) / len(shown):.1%} of {len(shown)}" if shown else "no footer"
    return (
        f"| {label} | {trials} | {_rate(o.plain for o in outcomes)} | {footer} | "
        f"{_rate(o.forged for o in outcomes)} | "
        f"{statistics.median(o.sites_read for o in outcomes):.0f} |"
    )


def _rate(hits: Iterable[bool]) -> str:
    hits = list(hits)
    return f"{sum(hits) / len(hits):.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text-trials", type=int, default=100)
    parser.add_argument("--pdf-trials", type=int, default=50)
    parser.add_argument("--photo-trials", type=int, default=50)
    parser.add_argument("--collusion-trials", type=int, default=50)
    parser.add_argument("--pages", default="1,2,3,4", help="retyped excerpt lengths")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    fixtures = ROOT / "tests" / "fixtures"
    master = screenplay(seed=7, pages=110)
    scripts = {
        "generated thriller (benchmarks/screenplay.py)": master,
        "hand-written scenes (tests/fixtures)": "\n".join(
            (fixtures / n).read_text(encoding="utf-8")
            for n in ("safehouse.fountain", "rooftop.fountain")
        ),
    }
    print("## Sites per page\n")
    print(density_table(scripts))

    bench = Bench(master)
    print(f"\n## Tracing: {RECIPIENTS} recipients, {bench.code.length} code positions, "
          f"threshold {THRESHOLD:g} (Bonferroni over all)\n")  # fmt: skip
    print(
        "| leak | trials | right recipient accused: no visible marks | its footer read "
        "| a footer forged to an innocent | median sites read |"
    )
    print("|---|---|---|---|---|---|")  # fmt: skip

    def retyped(pages: int) -> Callable[[np.random.Generator], tuple[bool, int]]:
        def attempt(rng: np.random.Generator) -> tuple[bool, int]:
            user = int(rng.integers(RECIPIENTS))
            first = int(rng.integers(1, bench.pages - pages + 2))
            leak = retype(pages_of(bench.copy(user), first, pages), rng)
            return bench.trace(leak, {user}, rng)

        return attempt

    for pages in (int(p) for p in args.pages.split(",")):
        print(run_trials(f"retyped, {pages} page(s)", args.text_trials, retyped(pages), rng))

    def pdf_text(pages: int) -> Callable[[np.random.Generator], tuple[bool, int]]:
        def attempt(rng: np.random.Generator) -> tuple[bool, int]:
            # A small pool of recipients: rendering a 120-page PDF takes a second.
            user = int(rng.integers(8))
            first = int(rng.integers(2, bench.pages - pages + 2))  # 1 is the title page
            excerpt = pdf_pages(bench.pdf(user), list(range(first, first + pages)))
            return bench.trace(read_text(excerpt), {user}, rng)

        return attempt

    if args.pdf_trials:
        for pages in (1, 2):
            label = f"PDF text layer, {pages} page(s)"
            print(run_trials(label, args.pdf_trials, pdf_text(pages), rng))

    def photographed(rng: np.random.Generator) -> tuple[bool, int]:
        user = int(rng.integers(8))
        first = int(rng.integers(2, bench.pages))  # PDF page numbers: 1 is the title page
        shots = photograph(bench.pdf(user), [first, first + 1], rng)
        read = [read_text(shot) for shot in shots]
        claims = next((r.claims for r in read if r.claims.copy_id), Claims())
        text = "\n".join(r.text for r in read)
        return bench.trace(SuspectText(text, "image-ocr", 2, claims), {user}, rng)

    if args.photo_trials:
        print(run_trials("photographed, 2 pages (OCR)", args.photo_trials, photographed, rng))

    def colluders(rng: np.random.Generator) -> tuple[bool, int]:
        a, b = (int(x) for x in rng.choice(RECIPIENTS, size=2, replace=False))
        merged = merge_lines(bench.copy(a), bench.copy(b), rng)
        first = int(rng.integers(1, bench.pages - 9))
        return bench.trace(pages_of(merged, first, 10), {a, b}, rng)

    print(run_trials("2 colluders merged, 10 pages", args.collusion_trials, colluders, rng))

    other = screenplay(seed=1234, pages=30)

    def wrong_script(rng: np.random.Generator) -> tuple[bool, int]:
        first = int(rng.integers(1, 20))
        seen = bench.trace(pages_of(other, first, 10), set(), rng)
        unread = seen.sites_read == 0
        return Outcome(seen.plain and unread, None, seen.forged and unread, seen.sites_read)

    print(run_trials("another script, 10 pages (hit = nobody)", 20, wrong_script, rng))
    print(f"\nInnocent recipients accused, all trials: {bench.innocents}")
    times = sorted(bench.times)
    print(f"Trace time (alignment, reading, ranking 200): median {statistics.median(times):.3f} s,"
          f" max {times[-1]:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
