"""Which render, and where in it, a suspect clip comes from, without decoding every render.

Every master frame's 64-bit hash is filed under each of its four 16-bit quarters. A suspect
frame is looked up by its quarters (and by its quarters with one of their three least certain
bits flipped), so a frame whose hash differs in a few bits still lands on its master frame:
the cost is a handful of bucket reads per suspect frame, whatever the number of renders.
Each hit votes for a render and an offset (master frame of the suspect's first frame, given
both frame rates); the best-voted alignments are then confirmed with the full signatures, and
scored by their mean cosine similarity. A suspect may be cropped or reframed, so it is looked
up through several windows (detect/fingerprint.py) and the best window wins.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from detect.fingerprint import BITS, Window, hashes, suspect_windows, window_signatures

_QUARTERS = 4
_QUARTER_BITS = BITS // _QUARTERS
_PROBED_BITS = 3  # least certain bits per quarter also tried flipped
_SAMPLED = 48  # suspect frames looked up
_OFFSET_BIN = 3  # frames: votes within this are one alignment
_CONFIRMED = 8  # best-voted alignments confirmed with full signatures
_REFINE = 2  # frames either side of a voted offset tried when confirming


@dataclass(frozen=True)
class Match:
    """A master the suspect matches: where its first frame falls and how well it agrees."""

    master: str  # the name the master was filed under (`add`)
    offset: float  # master frame index of the suspect's first frame
    rate: float  # master frames per suspect frame (their frame rates' ratio)
    score: float  # mean cosine similarity of matched frames (1 = identical pictures)
    frames: int  # suspect frames compared
    window: Window  # where in the suspect the master's window was found

    def master_frame(self, suspect_frame: int) -> int:
        return round(self.offset + suspect_frame * self.rate)


@dataclass
class _Render:
    name: str
    signatures: np.ndarray
    fps: float


@dataclass
class FingerprintIndex:
    """Fingerprints of master renders, searchable by a suspect's frames."""

    _renders: list[_Render] = field(default_factory=list)
    _tables: list[defaultdict[int, list[int]]] = field(
        default_factory=lambda: [defaultdict(list) for _ in range(_QUARTERS)]
    )

    def __len__(self) -> int:
        return len(self._renders)

    def add(self, name: str, master_signatures: np.ndarray, fps: float) -> None:
        """File a render's signatures (detect.fingerprint.signatures of its frames)."""
        slot = len(self._renders)
        self._renders.append(_Render(name, np.asarray(master_signatures, np.float32), fps))
        for frame, value in enumerate(hashes(master_signatures)):
            entry = slot << 24 | frame
            for quarter, key in enumerate(_quarters(int(value))):
                self._tables[quarter][key].append(entry)

    def search(self, frames: np.ndarray, fps: float, top: int = 3) -> list[Match]:
        """The renders `frames` (a suspect clip, RGB or grey, at `fps`) best match, best first."""
        if not self._renders or len(frames) == 0:
            return []
        picks = np.unique(np.linspace(0, len(frames) - 1, min(_SAMPLED, len(frames))).round())
        sampled = frames[picks.astype(int)]
        candidates: list[Match] = []
        windows = suspect_windows()
        for window, query in zip(windows, window_signatures(sampled, windows), strict=True):
            for slot, offset in self._voted(query, picks, fps):
                candidates.append(self._confirmed(slot, offset, query, picks, fps, window))
        best: dict[str, Match] = {}
        for match in sorted(candidates, key=lambda m: -m.score):
            best.setdefault(match.master, match)
        return list(best.values())[:top]

    def _voted(self, query: np.ndarray, picks: np.ndarray, fps: float) -> list[tuple[int, float]]:
        """The best-voted (render slot, offset) alignments for one window's signatures."""
        votes: Counter[tuple[int, int]] = Counter()
        for signature, value, index in zip(query, hashes(query), picks, strict=True):
            seen: set[int] = set()
            for quarter, key in enumerate(_probes(int(value), signature)):
                for probe in key:
                    seen.update(self._tables[quarter].get(probe, ()))
            for entry in seen:
                slot, frame = entry >> 24, entry & 0xFFFFFF
                offset = frame - index * self._renders[slot].fps / fps
                votes[(slot, round(offset / _OFFSET_BIN))] += 1
        return [(slot, b * _OFFSET_BIN) for (slot, b), _ in votes.most_common(_CONFIRMED)]

    def _confirmed(
        self,
        slot: int,
        offset: float,
        query: np.ndarray,
        picks: np.ndarray,
        fps: float,
        window: Window,
    ) -> Match:
        """The alignment near `offset` whose frames agree best, scored by mean cosine."""
        render = self._renders[slot]
        rate = render.fps / fps
        best = (-1.0, offset, 0)
        for shift in range(-_OFFSET_BIN - _REFINE, _OFFSET_BIN + _REFINE + 1):
            at = np.round(offset + shift + picks * rate).astype(int)
            inside = (at >= 0) & (at < len(render.signatures))
            if inside.sum() == 0:
                continue
            score = float((query[inside] * render.signatures[at[inside]]).sum(axis=1).mean())
            if score > best[0]:
                best = (score, offset + shift, int(inside.sum()))
        return Match(render.name, best[1], rate, best[0], best[2], window)


def _quarters(value: int) -> list[int]:
    mask = (1 << _QUARTER_BITS) - 1
    return [(value >> (q * _QUARTER_BITS)) & mask for q in range(_QUARTERS)]


def _probes(value: int, signature: np.ndarray) -> list[list[int]]:
    """Per quarter: its key, and its key with each of its least certain bits flipped."""
    probes = []
    for quarter, key in enumerate(_quarters(value)):
        certainty = np.abs(signature[quarter * _QUARTER_BITS : (quarter + 1) * _QUARTER_BITS])
        weakest = np.argsort(certainty)[:_PROBED_BITS]
        probes.append([key, *(key ^ (1 << int(bit)) for bit in weakest)])
    return probes
