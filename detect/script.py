"""Evidence from a leaked screenplay excerpt: which spelling each covered site shows.

The excerpt is aligned word by word to the master (align.py). For each master site whose
neighbouring words were found, the excerpt's text between those neighbours is compared
with the master's text between them spelled either way (Levenshtein distance, after case,
apostrophes and spacing are normalised). The confidence of a reading is how much closer it
is to one spelling than to the other, as a fraction of how far the two spellings are apart,
scaled by how far that kind of variant can be trusted from this source (a comma from OCR
counts for half). Site k's reading becomes evidence for code position k's bit through the
keyed `SiteCode`, the same mapping the copies were made with.

Wrap sites (watermark/script/wraps.py) are read only when the excerpt kept the printed
lines: when most of the line breaks every copy has are line breaks in the excerpt too (a
PDF's text layer, OCR of a page). Then a wrap site's word either ends a line or opens the
next one, and which it does is its reading. A retyped, reflowed excerpt breaks its lines
elsewhere and its wrap sites are not read.

The accusation's false-accusation bound holds whatever the confidences are, because an
innocent recipient's codeword is independent of the excerpt; confidences only decide how
quickly the guilty one's score grows.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz.distance import Levenshtein

from detect.align import Words, align, words
from detect.errors import DetectError
from detect.text_source import Claims, SuspectText
from watermark.script import (
    RELIABILITY,
    RULES_VERSION,
    Layout,
    Site,
    SiteCode,
    WrapPlan,
    WrapSite,
    find_sites,
    find_wraps,
    lay_out,
)

__all__ = ["ScriptEvidence", "script_evidence"]

_NOT_THIS_SCRIPT = 0.3  # below this fraction of aligned words the excerpt is another text
_CONTEXT_REACH = 3  # words to step over when a site's neighbour was dropped or mistyped
_MAX_JOINT = 3  # sites read jointly when they share a window
_LINES_KEPT = 0.75  # the excerpt kept its lines if this share of the planned line ends is there
_MIN_BREAKS = 5  # line ends the excerpt must cover before its lines are judged
_LINE_BREAK = re.compile(r"[ \t]*\n\s*")


@dataclass(frozen=True, eq=False)
class ScriptEvidence:
    """Soft evidence per code position from an excerpt, and what the excerpt covered."""

    values: np.ndarray
    observed: int  # code positions with non-zero evidence
    sites_total: int  # word and line-break sites in the master
    sites_covered: int  # sites whose neighbouring words the excerpt contains
    sites_read: int  # sites whose spelling (or line break) could be told
    line_breaks_read: int  # of them, line-break sites: read only where the lines were kept
    lines_kept: bool  # the excerpt's line breaks are the printed ones
    aligned: float  # fraction of the excerpt's words found in the master
    excerpt_words: int
    lines: tuple[int, int] | None  # first and last master line covered (1-based)
    pages: tuple[int, int] | None  # first and last master page covered
    source: str = "text"
    claims: Claims = field(default_factory=Claims)
    note: str = ""

    @property
    def from_this_script(self) -> bool:
        return self.aligned >= _NOT_THIS_SCRIPT

    def to_json(self) -> dict[str, object]:
        return {
            "mode": "script",
            "source": self.source,
            "observed_positions": self.observed,
            "sites": {"total": self.sites_total, "covered": self.sites_covered},
            "sites_read": self.sites_read,
            "line_breaks_read": self.line_breaks_read,
            "lines_kept": self.lines_kept,
            "aligned": round(self.aligned, 3),
            "excerpt_words": self.excerpt_words,
            "lines": list(self.lines) if self.lines else None,
            "pages": list(self.pages) if self.pages else None,
            "claims": self.claims.to_json(),
            "note": self.note,
        }


@dataclass(frozen=True, eq=False)
class _Master:
    text: str
    sites: list[Site]
    wraps: WrapPlan
    words: Words
    layout: Layout
    line_starts: np.ndarray
    site_starts: list[int]

    @property
    def total(self) -> int:
        """Code positions: one per word site, then the line-break sites' bits."""
        return len(self.sites) + self.wraps.bits

    @property
    def sites_total(self) -> int:
        return len(self.sites) + len(self.wraps.sites)


@lru_cache(maxsize=8)
def _master(text: str, rules: str) -> _Master:
    """The master's sites, words and pages, computed once per script and rules version."""
    line_starts = np.array([0] + [i + 1 for i, c in enumerate(text) if c == "\n"])
    sites = find_sites(text, rules)
    return _Master(
        text, sites, find_wraps(text, rules), words(text), lay_out(text, rules), line_starts,
        [s.start for s in sites],
    )  # fmt: skip


def script_evidence(
    master: str,
    excerpt: str | SuspectText,
    key: bytes,
    code_length: int,
    *,
    rules: str = RULES_VERSION,
) -> ScriptEvidence:
    """Read an excerpt (text, or a `read_text` result) against the master script, for
    copies made under the canary rules of version `rules`."""
    if code_length < 1:
        raise DetectError("the code length must be at least 1")
    suspect = excerpt if isinstance(excerpt, SuspectText) else SuspectText(excerpt, "text")
    m = _master(master, rules)
    ex_words = words(suspect.text)
    values = np.zeros(code_length)
    common = {"source": suspect.source, "claims": suspect.claims}
    if not m.total:
        return ScriptEvidence(
            values, 0, 0, 0, 0, 0, False, 0.0, len(ex_words), None, None, **common,
            note="the master script has no variant sites: no copy of it can be told apart",
        )  # fmt: skip
    alignment = align(m.words, ex_words)
    fraction = alignment.fraction(len(ex_words))
    if fraction < _NOT_THIS_SCRIPT:
        return ScriptEvidence(
            values, 0, m.sites_total, 0, 0, 0, False, fraction, len(ex_words), None, None,
            **common,
            note=f"only {fraction:.0%} of the excerpt's words follow this script: "
            "it is not an excerpt of it",
        )  # fmt: skip

    reliability = RELIABILITY["ocr" if suspect.ocr else "text"]
    forms = np.zeros(m.total, dtype=np.uint8)
    confidence = np.zeros(m.total)
    covered = 0
    for site in m.sites:
        reading = _read(m, site, suspect.text, ex_words, alignment.to_excerpt)
        if reading is None:
            continue
        covered += 1
        forms[site.index], clarity = reading
        confidence[site.index] = clarity * reliability[site.kind]
    words_read = int(np.count_nonzero(confidence))
    breaks = _Breaks(m, suspect.text, ex_words, alignment.to_excerpt)
    options = _read_wraps(m, breaks)
    for index, option in (options or {}).items():
        site = m.wraps.sites[index]
        for k, bit in zip(m.wraps.bit_indices(site), site.bits(option), strict=True):
            if k is not None and bit is not None:
                forms[len(m.sites) + k], confidence[len(m.sites) + k] = bit, reliability["wrap"]
    mapping = SiteCode.derive(m.total, code_length, key)
    values = mapping.evidence(forms, confidence, code_length)
    lines, pages = _range(m, alignment.to_excerpt)
    return ScriptEvidence(
        values=values,
        observed=int(np.count_nonzero(values)),
        sites_total=m.sites_total,
        sites_covered=covered + len(options or ()),
        sites_read=words_read + len(options or ()),
        line_breaks_read=len(options or ()),
        lines_kept=options is not None,
        aligned=fraction,
        excerpt_words=len(ex_words),
        lines=lines,
        pages=pages,
        **common,
    )


def _read(
    m: _Master, site: Site, excerpt: str, ex_words: Words, to_excerpt: np.ndarray
) -> tuple[int, float] | None:
    """(spelling seen, clarity in [0, 1]) at one site, or None if the excerpt lacks it."""
    left = int(np.searchsorted(m.words.ends, site.start, side="right")) - 1
    right = int(np.searchsorted(m.words.starts, site.end, side="left"))
    left = _nearest_paired(to_excerpt, left, -1)
    right = _nearest_paired(to_excerpt, right, +1)
    if left is None or right is None:
        return None
    e_left, e_right = int(to_excerpt[left]), int(to_excerpt[right])
    if not 0 <= e_right - e_left <= right - left + 4:
        return None  # the neighbours are paired but too far apart: a gap, not this site
    window = (int(m.words.ends[left]), int(m.words.starts[right]))
    seen = _normal(excerpt[ex_words.ends[e_left] : ex_words.starts[e_right]])
    distance = _distances(m, site, window, seen)
    spread = Levenshtein.distance(_normal(site.forms[0]), _normal(site.forms[1]))
    best = int(np.argmin(distance))
    clarity = (distance[1 - best] - distance[best]) / max(1, spread)
    return best, float(min(1.0, clarity))


_MIN_EARLY = (12, 0.15)  # readings, and the least share of early breaks among them


def _read_wraps(m: _Master, breaks: _Breaks) -> dict[int, int] | None:
    """Option read at each line-break site (by index); None where the excerpt did not keep
    the printed lines.

    A page re-wrapped greedily at the script's own widths (what screenplay software does to
    retyped text) keeps most line ends but never ends one early: if enough sites are read and
    almost none ends early, these are not the copy's breaks and nothing is read from them.
    """
    if not breaks.kept():
        return None
    options = {s.index: o for s in m.wraps.sites if (o := breaks.wrap_reading(s)) is not None}
    least, share = _MIN_EARLY
    early = sum(1 for option in options.values() if option > 0)
    if len(options) >= least and early < share * len(options):
        return None
    return options


class _Breaks:
    """Where the excerpt breaks its lines, asked about gaps between the master's words."""

    def __init__(self, m: _Master, excerpt: str, ex_words: Words, to_excerpt: np.ndarray):
        self._m, self._ex_words, self._to_excerpt = m, ex_words, to_excerpt
        self._excerpt = excerpt
        self._newlines = np.array([i for i, c in enumerate(excerpt) if c == "\n"], dtype=np.int64)

    def at(self, gap: tuple[int, int]) -> bool | None:
        """Does the excerpt break its line between the words on either side of this master
        gap? None when it does not hold those two words next to each other."""
        master_words = self._m.words
        left = int(np.searchsorted(master_words.ends, gap[0], side="right")) - 1
        right = int(np.searchsorted(master_words.starts, gap[1], side="left"))
        if left < 0 or right >= len(master_words):
            return None
        e_left, e_right = int(self._to_excerpt[left]), int(self._to_excerpt[right])
        if e_left < 0 or e_right != e_left + 1:
            return None
        lo, hi = self._ex_words.ends[e_left], self._ex_words.starts[e_right]
        return bool(np.searchsorted(self._newlines, lo) < np.searchsorted(self._newlines, hi))

    def kept(self) -> bool:
        """Did the excerpt keep the printed lines? Judged on the line ends every copy has: the
        fixed breaks, and each wrap site, which breaks at one of its gaps."""
        fixed = (self.at(gap) for gap in self._m.wraps.fixed)
        sites = (self._any_break(site.gaps) for site in self._m.wraps.sites)
        seen = [b for b in itertools.chain(fixed, sites) if b is not None]
        return len(seen) >= _MIN_BREAKS and sum(seen) >= _LINES_KEPT * len(seen)

    def _any_break(self, gaps: tuple[tuple[int, int], ...]) -> bool | None:
        """Does the excerpt break at one of these gaps? None if it might, unseen."""
        found = [self.at(gap) for gap in gaps]
        if any(found):
            return True
        return None if None in found else False

    def wrap_reading(self, site: WrapSite) -> int | None:
        """Where the excerpt ends the line at this wrap site (the option: 0 as planned, 1 or 2
        words early), or None if that cannot be told. The excerpt between the nearest words
        it shares with the master around the site must break its line once; the option is
        the gap whose split of the master text is closest to the excerpt's (word sites in
        between may show either spelling)."""
        m, master_words = self._m, self._m.words
        earliest, latest = site.gaps[-1], site.gaps[0]
        left = _nearest_paired(
            self._to_excerpt, int(np.searchsorted(master_words.ends, earliest[0], "right")) - 1, -1
        )
        right = _nearest_paired(
            self._to_excerpt, int(np.searchsorted(master_words.starts, latest[1], "left")), +1
        )
        if left is None or right is None:
            return None
        e_left, e_right = int(self._to_excerpt[left]), int(self._to_excerpt[right])
        if not 0 < e_right - e_left <= right - left + 4:
            return None
        region = self._excerpt[self._ex_words.ends[e_left] : self._ex_words.starts[e_right]]
        parts = _LINE_BREAK.split(region)  # OCR may add a blank line: one break still
        if len(parts) != 2:
            return None
        a, b = (_normal(part) for part in parts)
        start, end = int(master_words.ends[left]), int(master_words.starts[right])
        costs = [_closest(m, a, start, gap[0]) + _closest(m, b, gap[1], end) for gap in site.gaps]
        best = int(np.argmin(costs))
        return None if costs.count(costs[best]) > 1 else best


def _closest(m: _Master, seen: str, start: int, end: int) -> int:
    """Edit distance from `seen` to master[start:end] in its nearest spelling."""
    lo, hi = bisect_left(m.site_starts, start), bisect_left(m.site_starts, end)
    inside = [s for s in m.sites[lo:hi] if s.end <= end][:_MAX_JOINT]
    return min(
        Levenshtein.distance(seen, _normal(_spell(m.text, start, end, inside, dict(choice))))
        for choice in itertools.product(*[[(s.index, 0), (s.index, 1)] for s in inside])
    )


def _nearest_paired(to_excerpt: np.ndarray, i: int, step: int) -> int | None:
    for k in range(_CONTEXT_REACH + 1):
        j = i + step * k
        if 0 <= j < len(to_excerpt) and to_excerpt[j] >= 0:
            return j
    return None


def _distances(m: _Master, site: Site, window: tuple[int, int], seen: str) -> np.ndarray:
    """Distance of the excerpt's window to the master's, per spelling of `site`; other
    sites in the same window may show either spelling, and the closer one counts."""
    start, end = window
    others = [
        s for s in m.sites[max(0, site.index - _MAX_JOINT) : site.index + _MAX_JOINT + 1]
        if s is not site and s.start < end and s.end > start and start <= s.start
        and s.end <= end
    ]  # fmt: skip
    distance = np.full(2, np.inf)
    for choice in itertools.product((0, 1), repeat=len(others)):
        chosen = dict(zip((s.index for s in others), choice, strict=True))
        for form in (0, 1):
            chosen[site.index] = form
            candidate = _spell(m.text, start, end, sorted([site, *others], key=lambda s: s.start),
                               chosen)  # fmt: skip
            d = Levenshtein.distance(seen, _normal(candidate))
            distance[form] = min(distance[form], d)
    return distance


def _spell(text: str, start: int, end: int, sites: list[Site], chosen: dict[int, int]) -> str:
    pieces, cursor = [], start
    for s in sites:
        pieces.append(text[cursor : s.start])
        pieces.append(s.forms[chosen[s.index]])
        cursor = s.end
    pieces.append(text[cursor:end])
    return "".join(pieces)


def _normal(text: str) -> str:
    """Case, apostrophes, quotes, emphasis markers and spacing do not count."""
    text = text.lower().replace("’", "").replace("'", "").replace("‘", "")
    text = text.replace("*", "").replace("_", "").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


def _range(m: _Master, to_excerpt: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]] | None:
    hit = to_excerpt >= 0
    # A lone paired word ("the" at the edge of the search window) does not extend the range.
    run = hit & (np.roll(hit, 1) | np.roll(hit, -1))
    paired = np.flatnonzero(run)
    if paired.size == 0:
        return None, None  # type: ignore[return-value]
    first, last = int(m.words.starts[paired[0]]), int(m.words.ends[paired[-1]])
    line = lambda offset: int(np.searchsorted(m.line_starts, offset, side="right"))  # noqa: E731
    return (line(first), line(last)), (m.layout.page_of(first), m.layout.page_of(last))
