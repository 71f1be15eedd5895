"""The decision: which issued copies the evidence accuses, each with its probability.

Every candidate gets the symmetric Tardos score of its codeword against the evidence and a
rigorous bound on the chance that an innocent copy would score as high, corrected for the
number of copies tested. Nothing here is a bare yes/no: a clip with no mark, or a mark made
under another key, yields no accusation and says how likely its best score was by chance.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from watermark.errors import WatermarkError
from watermark.extraction import Evidence
from watermark.tardos import TardosCode

DEFAULT_THRESHOLD = 1e-6


class Marks(Protocol):
    """Evidence from any medium: one value in [-1, 1] per code position. The video's
    `Evidence` is one; a screenplay excerpt's (detect.script.ScriptEvidence) is another."""

    values: np.ndarray

    def to_json(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class Accusation:
    """One issued copy's standing: its codeword index, score and false-accusation bound."""

    copy: int
    score: float
    probability: float  # bound on P(any innocent copy scores this high)

    def to_json(self) -> dict[str, object]:
        return {"copy": self.copy, "score": round(self.score, 3), "probability": self.probability}


@dataclass(frozen=True, eq=False)
class Verdict:
    """Accused copies (probability below the threshold) and the ranking behind the decision."""

    accused: list[Accusation]
    ranking: list[Accusation]  # the best-scoring copies, accused or not
    threshold: float
    evidence: Evidence | Marks

    @property
    def marked(self) -> bool:
        return bool(self.accused)

    def summary(self) -> str:
        if self.accused:
            top = self.accused[0]
            return (
                f"copy {top.copy} accused: false-accusation probability {top.probability:.1e}"
                + (f" ({len(self.accused) - 1} more accused)" if len(self.accused) > 1 else "")
            )
        best = self.ranking[0].probability if self.ranking else 1.0
        return f"no mark found: the best candidate's score has chance probability {best:.2g}"

    def to_json(self) -> dict[str, object]:
        return {
            "accused": [a.to_json() for a in self.accused],
            "ranking": [a.to_json() for a in self.ranking],
            "threshold": self.threshold,
            "evidence": self.evidence.to_json(),
            "summary": self.summary(),
        }


def accuse(
    evidence: Evidence | Marks,
    code: TardosCode,
    issued: Sequence[int],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = 5,
    claimed: Collection[int] = (),
) -> Verdict:
    """Rank the issued copies (codeword indices) by score; accuse those below `threshold`.

    The probabilities are corrected for the copies tested in this call only; an
    investigation that tries several keys or codes must correct for those itself.

    `claimed` are the copies the suspect itself points at (a footer's copy id, a visible
    name). A claim is never evidence: anyone can type one. It only decides how the
    threshold is shared: half goes to the claimed copies alone, half to the search over all
    issued copies, so a claimed copy is corrected for the few claimed rather than for every
    copy, and the others for twice as many. Innocent copies' codewords are independent of
    anything a leaker can write, so the whole test still keeps false accusations below
    `threshold`, whoever the claim names.
    """
    if evidence.values.shape != (code.length,):
        raise WatermarkError(
            f"the evidence has {evidence.values.size} positions but the code has {code.length}",
            "extract with the code's length",
        )
    copies = np.asarray(list(issued), dtype=np.int64)
    if copies.size == 0:
        raise WatermarkError("no issued copies to test", "pass the codeword indices handed out")
    if copies.min() < 0:
        raise WatermarkError("issued copy indices must be non-negative")
    named = set(claimed) & set(copies.tolist())
    ranked = code.rank(evidence.values, code.codewords(copies))
    ranking = [Accusation(int(copies[i]), score, p) for i, score, p in ranked]
    if named:
        ranking = [_split(a, code, evidence.values, named) for a in ranking]
    accused = [a for a in ranking if a.probability < threshold]
    return Verdict(accused, ranking[:top], threshold, evidence)


def _split(
    searched: Accusation, code: TardosCode, values: np.ndarray, claimed: set[int]
) -> Accusation:
    """A copy's probability once the threshold is split between the claim and the search:
    a claimed copy's own tail corrected for the claimed copies, at half the threshold; any
    other's search probability (already corrected for all copies), at the other half."""
    if searched.copy not in claimed:
        return Accusation(searched.copy, searched.score, min(1.0, 2.0 * searched.probability))
    tail = code.false_accusation_probability(searched.score, 0, values)
    return Accusation(searched.copy, searched.score, min(1.0, 2.0 * len(claimed) * tail))
