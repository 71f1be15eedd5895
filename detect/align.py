"""Word alignment of a leaked excerpt to the master script, tolerant of how leaks look.

A leak is rarely the file: it is a page retyped with typos and different line breaks, a
PDF's text layer, or OCR of a photo. Lines, spacing, case and punctuation are therefore
ignored; both texts become sequences of words (lower case, apostrophes dropped) that keep
their character offsets.

1. Anchors: every run of three excerpt words that occurs at most a few times in the master
   votes for an offset between the two sequences.
2. Segments: the excerpt is cut into windows; each takes the offset most of its anchors
   agree on, and neighbouring windows with the same offset merge. An excerpt may be several
   passages in any order (pages pulled from different scenes) and each is found.
3. Within a segment, an edit-distance alignment (rapidfuzz, bit-parallel) pairs the words;
   a typo or an OCR slip pairs with its master word when the two are similar enough.

Runs in well under a second for ten pages against a feature-length script.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Indel, Levenshtein

__all__ = ["Alignment", "Words", "align", "words"]

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
_GRAM = 3
_MAX_REPEATS = 8  # an n-gram more frequent than this in the master is no anchor
_WINDOW = 40  # excerpt words per window when finding segments
_MIN_ANCHORS = 3
_SLACK = 30  # master words searched beyond a segment's ends


@dataclass(frozen=True)
class Words:
    """A text's words: normalised form and [start, end) character offsets."""

    norm: list[str]
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.norm)


def words(text: str) -> Words:
    found = list(_WORD.finditer(text))
    norm = [m.group(0).lower().replace("'", "").replace("’", "") for m in found]
    starts = np.array([m.start() for m in found], dtype=np.int64)
    ends = np.array([m.end() for m in found], dtype=np.int64)
    return Words(norm, starts, ends)


@dataclass(frozen=True)
class Alignment:
    """to_excerpt[i]: the excerpt word paired with master word i, or -1."""

    to_excerpt: np.ndarray
    matched: int  # excerpt words paired with a master word

    def fraction(self, excerpt_words: int) -> float:
        return self.matched / excerpt_words if excerpt_words else 0.0


def align(master: Words, excerpt: Words) -> Alignment:
    """Pair the excerpt's words with the master's."""
    to_excerpt = np.full(len(master), -1, dtype=np.int64)
    if len(excerpt) < _GRAM or len(master) < _GRAM:
        return Alignment(to_excerpt, 0)
    vocabulary: dict[str, int] = {}
    m_ids = [vocabulary.setdefault(w, len(vocabulary)) for w in master.norm]
    e_ids = [vocabulary.get(w, -1 - i) for i, w in enumerate(excerpt.norm)]
    for e0, e1, m0, m1 in _segments(_anchors(m_ids, e_ids), len(excerpt), len(master)):
        _pair(master, excerpt, m_ids, e_ids, (e0, e1, m0, m1), to_excerpt)
    return Alignment(to_excerpt, int(np.count_nonzero(to_excerpt >= 0)))


def _anchors(m_ids: list[int], e_ids: list[int]) -> np.ndarray:
    """(excerpt index, master index) of every rare shared 3-gram."""
    index: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for j in range(len(m_ids) - _GRAM + 1):
        index[tuple(m_ids[j : j + _GRAM])].append(j)
    pairs = []
    for i in range(len(e_ids) - _GRAM + 1):
        hits = index.get(tuple(e_ids[i : i + _GRAM]), ())
        if 0 < len(hits) <= _MAX_REPEATS:
            pairs.extend((i, j) for j in hits)
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _segments(anchors: np.ndarray, n_excerpt: int, n_master: int) -> list[tuple[int, ...]]:
    """Excerpt ranges with the master range each came from."""
    runs: list[list[int]] = []  # [e0, e1, offset_lo, offset_hi]
    for w0 in range(0, n_excerpt, _WINDOW):
        inside = anchors[(anchors[:, 0] >= w0) & (anchors[:, 0] < w0 + _WINDOW)]
        if len(inside) < _MIN_ANCHORS:
            continue
        offsets = inside[:, 1] - inside[:, 0]
        # The offset most anchors agree on, within a tolerance for dropped or added words.
        votes = (np.abs(offsets[:, None] - offsets[None, :]) <= 8).sum(axis=1)
        best = offsets[int(np.argmax(votes))]
        agreeing = offsets[np.abs(offsets - best) <= 8]
        if len(agreeing) < _MIN_ANCHORS:
            continue
        lo, hi = int(agreeing.min()), int(agreeing.max())
        w1 = min(n_excerpt, w0 + _WINDOW)
        if runs and runs[-1][1] == w0 and abs(lo - runs[-1][2]) <= 4 * _WINDOW:
            runs[-1][1] = w1
            runs[-1][2], runs[-1][3] = min(runs[-1][2], lo), max(runs[-1][3], hi)
        else:
            runs.append([w0, w1, lo, hi])
    return [
        (e0, e1, max(0, e0 + lo - _SLACK), min(n_master, e1 + hi + _SLACK))
        for e0, e1, lo, hi in runs
    ]


def _pair(
    master: Words,
    excerpt: Words,
    m_ids: list[int],
    e_ids: list[int],
    bounds: tuple[int, ...],
    to_excerpt: np.ndarray,
) -> None:
    e0, e1, m0, m1 = bounds
    for op in Levenshtein.opcodes(e_ids[e0:e1], m_ids[m0:m1]):
        if op.tag == "equal":
            for k in range(op.src_end - op.src_start):
                to_excerpt[m0 + op.dest_start + k] = e0 + op.src_start + k
        elif op.tag == "replace":
            for k in range(min(op.src_end - op.src_start, op.dest_end - op.dest_start)):
                i, j = e0 + op.src_start + k, m0 + op.dest_start + k
                if _similar(excerpt.norm[i], master.norm[j]):
                    to_excerpt[j] = i


def _similar(a: str, b: str) -> bool:
    """A typo or an OCR slip of the same word (one edit in four letters or better)."""
    return min(len(a), len(b)) >= 3 and Indel.normalized_similarity(a, b) >= 0.75
