"""Collusion-secure fingerprinting: the symmetric Tardos code.

Every recipient of a marked copy gets a binary codeword; the video watermark carries it. When
several recipients pool their copies they can only mix the bits where their copies differ (the
"marking assumption"); a Tardos code makes any such mix still point at at least one of them,
while the chance of accusing an innocent recipient is bounded and stated.

Construction (Tardos 2003, "Optimal probabilistic fingerprint codes"): a secret bias p_i per
position, drawn from the arcsine density on [t, 1 - t]; user j's bit i is 1 with probability p_i.
Accusation uses the *symmetric* score of Škorić, Katzenbeisser and Celik 2008 ("Symmetric Tardos
fingerprinting codes for arbitrary alphabet sizes", Designs, Codes and Cryptography 46), which
rewards agreement on 0s as well as on 1s and halves the code length of Tardos' original score.

Evidence is soft: one value in [-1, 1] per position, positive when the mark read as 1, with the
magnitude as confidence and 0 for an erased / unobserved position. The score is linear in it.

The false-accusation probability is a Chernoff bound computed from the exact moment generating
function of an innocent user's score (the bias vector is known to the accuser), so it is rigorous
for the heavy-tailed score terms, not a Gaussian approximation. Where the score has few terms (a
screenplay excerpt: tens of positions) the innocent score's distribution is also computed
exactly on a fine lattice, every term rounded up, and the smaller of the two bounds is taken:
Chernoff overstates such tails by a factor of about sqrt(m), a few agreeing sites' worth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from watermark.errors import WatermarkError
from watermark.keyed import keyed_rng

__all__ = ["TardosCode", "code_length"]

_DOMAIN = b"vault/watermark/tardos/v1"
# Chernoff bounds hold for every lambda >= 0; minimising over a fine geometric grid instead of
# solving exactly keeps the bound valid and vectorises over many scores at once.
_LAMBDAS = np.geomspace(1e-4, 20.0, 512)
# The lattice tail: steps per unit of score (finer is tighter: each term is rounded up by less
# than one step), and the most lattice points worth computing; beyond that (the video's
# thousands of heavy-tailed terms) Chernoff alone is used, being nearly tight there anyway.
_LATTICE_STEPS = (1024, 256, 64)
_LATTICE_MAX_POINTS = 1 << 17


def code_length(n_users: int, colluders: int, epsilon: float) -> int:
    """Code length m for n users, up to c colluders and total false-accusation probability eps.

    m = ceil(π² c² ln(n / ε)): the asymptotic length of the symmetric Tardos code, Škorić,
    Katzenbeisser and Celik 2008 (Designs, Codes and Cryptography 46, sec. 5; the Gaussian
    analysis of Škorić, Vladimirova, Celik, Katzenbeisser 2008 gives the same constant). It is
    half the 2π² c² ln(1/ε1) of Tardos' original score (Tardos' proven 100 c² ln(1/ε1) is far
    more pessimistic). ε is the probability of accusing *any* of the n users, hence n / ε.
    The accusation here never relies on this length being enough: every accusation carries its
    own rigorous false-accusation bound, and a too-short code only means fewer accusations.
    """
    if n_users < 1 or colluders < 1:
        raise WatermarkError("n_users and colluders must be at least 1")
    if not 0.0 < epsilon < 1.0:
        raise WatermarkError("epsilon must be in (0, 1)")
    return math.ceil(math.pi**2 * colluders**2 * math.log(n_users / epsilon))


def _rng(key: bytes, label: bytes, *numbers: int) -> np.random.Generator:
    return keyed_rng(_DOMAIN, label, key, *numbers)


def _arcsine_biases(rng: np.random.Generator, length: int, cutoff: float) -> np.ndarray:
    """Biases from the arcsine density 1/(π sqrt(p(1-p))) restricted to [t, 1 - t] (Tardos).

    p = sin²(r) with r uniform on [r_t, π/2 - r_t], sin²(r_t) = t. The cutoff keeps the score
    terms bounded (|g| <= sqrt((1-t)/t)); t = 1/(300 c) is Tardos' choice.
    """
    r_t = math.asin(math.sqrt(cutoff))
    r = rng.uniform(r_t, math.pi / 2 - r_t, size=length)
    return np.sin(r) ** 2


@dataclass(frozen=True, eq=False)
class TardosCode:
    """A Tardos code: secret key, bias vector p and the coalition size it was sized for.

    Codewords are not stored: they are recomputed from (key, user index) on demand.
    """

    key: bytes = field(repr=False)
    p: np.ndarray = field(repr=False)
    colluders: int
    cutoff: float

    @classmethod
    def generate(
        cls, key: bytes, length: int, colluders: int, *, bias: str = "arcsine"
    ) -> TardosCode:
        """Draw the bias vector deterministically from the key (same key, same code).

        `bias="arcsine"` is Tardos' density, for many positions read with noise (video).
        `bias="uniform"` fixes every p_i at 1/2, for few positions read almost without
        noise (a screenplay excerpt): each agreeing position then adds exactly 1 to the
        leaker's score, against E[2 sqrt(p(1-p))] = 2/π under the arcsine density, so about
        a third as many positions reach the same false-accusation bound. It keeps coalitions
        of two in check (their scores sum to twice the positions where they agree, so one of
        them scores at least half a lone leaker's score, whatever they do), but it is not
        collusion-secure for larger coalitions the way the arcsine code is.
        """
        if length < 1 or colluders < 1:
            raise WatermarkError("length and colluders must be at least 1")
        if bias == "arcsine":
            cutoff = 1.0 / (300 * colluders)
            p = _arcsine_biases(_rng(key, b"bias", length, colluders), length, cutoff)
        elif bias == "uniform":
            cutoff, p = 0.5, np.full(length, 0.5)
        else:
            raise WatermarkError(f"unknown bias {bias!r}", "use 'arcsine' or 'uniform'")
        p.flags.writeable = False
        return cls(key=bytes(key), p=p, colluders=colluders, cutoff=cutoff)

    @property
    def length(self) -> int:
        return int(self.p.size)

    def codeword(self, user_index: int) -> np.ndarray:
        """User j's codeword (uint8 0/1, length m); bit i is 1 with probability p_i."""
        if user_index < 0:
            raise WatermarkError("user_index must be non-negative")
        u = _rng(self.key, b"codeword", self.length, user_index).random(self.length)
        return (u < self.p).astype(np.uint8)

    def codewords(self, user_indices: range | list[int] | np.ndarray) -> np.ndarray:
        """Codewords of several users stacked as rows (shape (n, m), uint8)."""
        rows = [self.codeword(int(j)) for j in user_indices]
        return np.stack(rows) if rows else np.zeros((0, self.length), dtype=np.uint8)

    # --- accusation -------------------------------------------------------------------------

    def _check_evidence(self, evidence: np.ndarray) -> np.ndarray:
        e = np.asarray(evidence, dtype=np.float64)
        if e.shape != (self.length,):
            raise WatermarkError(f"evidence must have shape ({self.length},), got {e.shape}")
        if not np.all(np.isfinite(e)) or np.any(np.abs(e) > 1.0):
            raise WatermarkError("evidence values must be finite and in [-1, 1]")
        return e

    def _g(self, codewords: np.ndarray) -> np.ndarray:
        """Per-position score weights g(x, p): sqrt((1-p)/p) for a 1, -sqrt(p/(1-p)) for a 0.

        Under the innocent hypothesis (x ~ Bernoulli(p), independent of the evidence) g has
        mean 0 and variance 1, so the score has mean 0 and variance sum e_i².
        """
        x = np.asarray(codewords)
        if x.shape[-1] != self.length:
            raise WatermarkError(f"codewords must have {self.length} columns")
        one, zero = np.sqrt((1 - self.p) / self.p), -np.sqrt(self.p / (1 - self.p))
        return np.where(x.astype(bool), one, zero)

    def scores(self, evidence: np.ndarray, codewords: np.ndarray) -> np.ndarray:
        """Symmetric accusation scores S_j = sum_i e_i g(x_ji, p_i), one per codeword row.

        For hard evidence (e = ±1) this is exactly the Škorić et al. symmetric score: a read 1
        scores g(x, p), a read 0 scores g(1 - x, 1 - p) = -g(x, p). Soft evidence scales each
        position's contribution by its confidence |e_i| with the sign of (dis)agreement; erased
        positions (e_i = 0) contribute nothing.
        """
        e = self._check_evidence(evidence)
        return np.atleast_2d(self._g(codewords)) @ e

    def _log_mgf(self, weights: np.ndarray) -> np.ndarray:
        """log E[exp(λ w_i g_i)] for innocent g_i, for every λ in the grid: shape (grid, m)."""
        lam_w = _LAMBDAS[:, None] * weights[None, :]
        one, zero = np.sqrt((1 - self.p) / self.p), np.sqrt(self.p / (1 - self.p))
        return np.logaddexp(np.log(self.p) + lam_w * one, np.log1p(-self.p) - lam_w * zero)

    @staticmethod
    def _chernoff(scores: np.ndarray, cumulant: np.ndarray) -> np.ndarray:
        """min over λ >= 0 of exp(K(λ) - λ s), an upper bound on P(S >= s), for each score."""
        s = np.atleast_1d(np.asarray(scores, dtype=np.float64))
        exponent = cumulant[None, :] - np.outer(s, _LAMBDAS)
        bound = np.exp(np.minimum(exponent.min(axis=1), 0.0))
        return np.where(s <= 0.0, 1.0, bound)

    def _lattice_tail(self, weights: np.ndarray, scores: np.ndarray) -> np.ndarray | None:
        """P(S' >= s) for each score s, S' the innocent score with every term rounded up to a
        lattice of step 1/k: S' >= S always, so this bounds P(S >= s) from above. None where the
        lattice would be too large to compute.

        Term i is w_i g(x_i, p_i): one value with probability p_i, another with 1 - p_i. On the
        lattice the distribution of the sum is a chain of two-point convolutions.
        """
        live = weights != 0.0
        w, p = weights[live], self.p[live]
        one, zero = w * np.sqrt((1 - p) / p), -w * np.sqrt(p / (1 - p))
        for steps in _LATTICE_STEPS:
            # The small addend keeps a value that is an exact multiple in reals from rounding
            # down through a last-bit error in floating point.
            high = np.ceil(steps * np.maximum(one, zero) + 1e-9).astype(np.int64)
            low = np.ceil(steps * np.minimum(one, zero) + 1e-9).astype(np.int64)
            if int((high - low).sum()) < _LATTICE_MAX_POINTS:
                break
        else:
            return None
        p_high = np.where(one >= zero, p, 1 - p)
        density = np.ones(1)
        for gap, q in zip((high - low).tolist(), p_high.tolist(), strict=True):
            grown = np.zeros(density.size + gap)
            grown[: density.size] += density * (1 - q)
            grown[gap:] += density * q
            density = grown
        at_least = np.cumsum(density[::-1])[::-1]  # at_least[t] = P(S' >= (origin + t) / k)
        origin = int(low.sum())
        s = np.atleast_1d(np.asarray(scores, dtype=np.float64))
        # Lowering each score by a hair only ever adds lattice points: still an upper bound.
        first = np.ceil(steps * s - 1e-6).astype(np.int64) - origin
        tail = np.where(first <= 0, 1.0, at_least[np.clip(first, 0, at_least.size - 1)])
        return np.where(first >= at_least.size, 0.0, np.minimum(tail, 1.0))

    def _innocent_tail(self, weights: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The tighter of the two rigorous bounds on P(innocent score >= s), for each s."""
        bound = self._chernoff(scores, self._log_mgf(weights).sum(axis=1))
        exact = self._lattice_tail(weights, scores)
        return bound if exact is None else np.minimum(bound, exact)

    def false_accusation_probability(
        self, score: float, observed: int, evidence: np.ndarray | None = None
    ) -> float:
        """Upper bound on P(an innocent user's score >= score).

        Chernoff bound P(S >= s) <= min_λ exp(K(λ) - λ s), with K the exact cumulant generating
        function of the innocent score given the known biases p. Why not a Gaussian tail: the
        terms g are heavy-tailed (up to sqrt(1/t) ≈ 30 for c = 3), so the Gaussian tail
        under-states far-out probabilities; why not Bernstein: with that bound on |g| it roughly
        doubles the accusation threshold. Chernoff with the exact K is rigorous and tight.

        With `evidence`, K is exact for that evidence, and where the evidence has few enough
        terms the exact lattice tail (`_lattice_tail`) is taken when it is smaller. Without
        it, only the number `observed` of non-zero positions is known, and the bound takes the
        worst case over which positions were observed and over every |e_i| <= 1 of either
        sign: for each λ, the sum of the `observed` largest max(K_i(λ), K_i(-λ)) (K_i convex
        with K_i(0) = 0, so |e| = 1 is the worst). Either way the probability never falls
        below the true one.
        """
        if evidence is not None:
            return float(self._innocent_tail(self._check_evidence(evidence), np.array([score]))[0])
        cumulant = self._worst_case_cumulant(observed)
        return float(self._chernoff(np.array([score]), cumulant)[0])

    def _worst_case_cumulant(self, observed: int) -> np.ndarray:
        k = int(min(max(observed, 0), self.length))
        if k == 0:
            return np.zeros_like(_LAMBDAS)
        ones = np.ones(self.length)
        per_position = np.maximum(self._log_mgf(ones), self._log_mgf(-ones))
        return -np.sort(-per_position, axis=1)[:, :k].sum(axis=1)

    def accuse(
        self, evidence: np.ndarray, codewords: np.ndarray, threshold: float = 1e-6
    ) -> list[tuple[int, float, float]]:
        """Users (row indices of `codewords`) to accuse, ranked by score, highest first.

        Returns (index, score, probability), where probability is the Bonferroni-corrected
        bound n * P(innocent score >= score) (capped at 1) over the n users tested: the chance
        that *any* innocent among them would score this high. A user is accused when it is
        below `threshold`, so `threshold` bounds the false-accusation probability of the whole
        accusation, not of one user.
        """
        return [hit for hit in self.rank(evidence, codewords) if hit[2] < threshold]

    def rank(self, evidence: np.ndarray, codewords: np.ndarray) -> list[tuple[int, float, float]]:
        """Every user as (index, score, Bonferroni-corrected probability), best score first."""
        e = self._check_evidence(evidence)
        s = self.scores(e, codewords)
        adjusted = np.minimum(1.0, s.size * self._innocent_tail(e, s))
        order = np.argsort(-s, kind="stable")
        return [(int(j), float(s[j]), float(adjusted[j])) for j in order]
