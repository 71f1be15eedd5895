"""Tests of the symmetric Tardos fingerprinting code (watermark/tardos.py)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from watermark.tardos import TardosCode, code_length

N_USERS = 100
KEY = b"test production key"
TRIALS = 50


@pytest.fixture(scope="module")
def code() -> TardosCode:
    return TardosCode.generate(KEY, code_length(N_USERS, 3, 1e-6), colluders=3)


@pytest.fixture(scope="module")
def codewords(code: TardosCode) -> np.ndarray:
    return code.codewords(range(N_USERS))


def signed(bits: np.ndarray) -> np.ndarray:
    return bits.astype(np.float64) * 2.0 - 1.0


# --- code length ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "c", "eps"), [(100, 3, 1e-6), (1000, 3, 1e-6), (100, 1, 1e-3), (10_000, 10, 1e-9)]
)
def test_code_length_matches_formula(n: int, c: int, eps: float) -> None:
    assert code_length(n, c, eps) == math.ceil(math.pi**2 * c**2 * math.log(n / eps))


def test_code_length_known_values_and_growth() -> None:
    assert code_length(100, 3, 1e-6) == 1637
    assert code_length(1000, 3, 1e-6) == 1841
    # Quadratic in c, logarithmic in n / eps.
    assert code_length(100, 6, 1e-6) == pytest.approx(4 * code_length(100, 3, 1e-6), abs=4)
    assert code_length(100, 3, 1e-6) < code_length(1000, 3, 1e-6) < code_length(1000, 3, 1e-9)


@pytest.mark.parametrize(("n", "c", "eps"), [(0, 1, 0.1), (10, 0, 0.1), (10, 1, 0.0), (10, 1, 1)])
def test_code_length_rejects_bad_arguments(n: int, c: int, eps: float) -> None:
    with pytest.raises(ValueError):
        code_length(n, c, eps)


# --- generation -------------------------------------------------------------------------------


def test_bias_vector_deterministic_and_within_cutoff() -> None:
    a = TardosCode.generate(KEY, 500, 3)
    b = TardosCode.generate(KEY, 500, 3)
    other = TardosCode.generate(b"another key", 500, 3)
    assert np.array_equal(a.p, b.p)
    assert not np.array_equal(a.p, other.p)
    t = 1 / 900
    assert a.cutoff == pytest.approx(t)
    assert np.all(a.p >= t - 1e-12) and np.all(a.p <= 1 - t + 1e-12)
    assert not a.p.flags.writeable
    assert "test production key" not in repr(a)


def test_biases_follow_arcsine_density() -> None:
    p = TardosCode.generate(KEY, 20_000, 1).p
    # Arcsine CDF truncated to [t, 1 - t]: F(x) = (asin(sqrt(x)) - r_t) / (π/2 - 2 r_t).
    r_t = math.asin(math.sqrt(1 / 300))
    for x in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        expected = (math.asin(math.sqrt(x)) - r_t) / (math.pi / 2 - 2 * r_t)
        assert np.mean(p <= x) == pytest.approx(expected, abs=0.015)


def test_codewords_deterministic_per_key_and_index(code: TardosCode) -> None:
    again = TardosCode.generate(KEY, code.length, 3)
    # Order of calls does not matter: user 7 first here, last above.
    assert np.array_equal(again.codeword(7), code.codeword(7))
    assert code.codeword(7).dtype == np.uint8
    assert set(np.unique(code.codeword(7))) <= {0, 1}
    assert not np.array_equal(code.codeword(7), code.codeword(8))
    other = TardosCode.generate(b"another key", code.length, 3)
    assert not np.array_equal(other.codeword(7), code.codeword(7))
    assert np.array_equal(code.codewords([3, 5]), np.stack([code.codeword(3), code.codeword(5)]))


def test_bit_frequencies_follow_bias(code: TardosCode) -> None:
    users = code.codewords(range(2000)).astype(np.float64)
    freq = users.mean(axis=0)
    # Per-position binomial standard error sqrt(p(1-p)/2000) <= 0.0112; allow 5 sigma.
    assert np.max(np.abs(freq - code.p) / np.sqrt(code.p * (1 - code.p) / 2000)) < 5.5
    assert np.corrcoef(freq, code.p)[0, 1] > 0.99


# --- scoring ----------------------------------------------------------------------------------


def test_scores_are_symmetric_and_ignore_erasures(code: TardosCode, codewords: np.ndarray) -> None:
    e = signed(codewords[0])
    s = code.scores(e, codewords)
    assert s.shape == (N_USERS,)
    assert np.argmax(s) == 0
    # Reading every bit inverted is the mirror image.
    assert np.allclose(code.scores(-e, codewords), -s)
    # Erased positions contribute nothing, half-confidence halves the score.
    erased = e.copy()
    erased[::2] = 0.0
    only_odd = code.scores(np.where(np.arange(code.length) % 2 == 1, e, 0.0), codewords)
    assert np.allclose(code.scores(erased, codewords), only_odd)
    assert np.allclose(code.scores(0.5 * e, codewords), 0.5 * s)
    with pytest.raises(ValueError):
        code.scores(e * 2, codewords)
    with pytest.raises(ValueError):
        code.scores(e[:-1], codewords)


# --- accusation -------------------------------------------------------------------------------


def test_single_pirate_accused_no_innocent(code: TardosCode, codewords: np.ndarray) -> None:
    accused = code.accuse(signed(codewords[42]), codewords)
    assert [a[0] for a in accused] == [42]
    _, score, prob = accused[0]
    assert prob < 1e-30
    assert prob == pytest.approx(
        min(1.0, N_USERS * code.false_accusation_probability(score, 0, signed(codewords[42])))
    )


def majority(colluders: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    total = signed(colluders).sum(axis=0)
    ties = total == 0
    total[ties] = rng.choice([-1.0, 1.0], size=int(ties.sum()))
    return np.sign(total)


def interleave(colluders: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pick = rng.integers(0, colluders.shape[0], size=colluders.shape[1])
    return signed(colluders)[pick, np.arange(colluders.shape[1])]


def average(colluders: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return signed(colluders).mean(axis=0)


STRATEGIES: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "majority": majority,
    "interleave": interleave,
    "average": average,
}


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_collusion_caught_without_false_accusation(
    code: TardosCode, codewords: np.ndarray, strategy: str, size: int
) -> None:
    rng = np.random.default_rng(1000 * size + len(strategy))
    caught = falsely = 0
    for _ in range(TRIALS):
        coalition = rng.choice(N_USERS, size=size, replace=False)
        evidence = STRATEGIES[strategy](codewords[coalition], rng)
        accused = {a[0] for a in code.accuse(evidence, codewords, threshold=1e-6)}
        caught += bool(accused & set(coalition.tolist()))
        falsely += bool(accused - set(coalition.tolist()))
    print(
        f"\n{strategy:>10} c={size}: colluder accused in {caught}/{TRIALS} trials, "
        f"innocent accused in {falsely}/{TRIALS}"
    )
    assert caught >= 0.95 * TRIALS
    assert falsely == 0


def test_pirate_found_through_noise_and_erasure(code: TardosCode, codewords: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    evidence = signed(codewords[13])
    evidence[rng.random(code.length) < 0.10] *= -1.0
    evidence[rng.random(code.length) < 0.50] = 0.0
    # Soft confidence on what remains.
    evidence *= rng.uniform(0.3, 1.0, size=code.length)
    accused = code.accuse(evidence, codewords)
    assert [a[0] for a in accused] == [13]
    assert accused[0][2] < 1e-6


def test_false_accusation_probability_is_conservative(
    code: TardosCode, codewords: np.ndarray
) -> None:
    rng = np.random.default_rng(11)
    m = code.length
    # Evidence from a 3-pirate majority vote, then half of it erased: a realistic fixed read-out.
    evidence = majority(codewords[[1, 2, 3]], rng)
    evidence[rng.random(m) < 0.5] = 0.0
    observed = int(np.count_nonzero(evidence))
    innocents = (rng.random((20_000, m)) < code.p).astype(np.uint8)
    s = code.scores(evidence, innocents)
    sd = math.sqrt(observed)
    print(f"\n{'z':>4} {'empirical':>10} {'bound|evidence':>15} {'bound|observed':>15}")
    for z in (0.5, 1.0, 2.0, 3.0, 3.5):
        empirical = float(np.mean(s >= z * sd))
        exact = code.false_accusation_probability(z * sd, observed, evidence)
        worst = code.false_accusation_probability(z * sd, observed)
        print(f"{z:>4} {empirical:>10.5f} {exact:>15.5f} {worst:>15.5f}")
        assert empirical <= exact <= worst
    assert code.false_accusation_probability(-1.0, observed) == 1.0
    # Nothing observed: every score is 0, so a positive one is (all but) impossible.
    assert code.false_accusation_probability(10.0, 0) < 1e-50
    # The bound is not vacuous: far out it is tiny.
    assert code.false_accusation_probability(8 * sd, observed, evidence) < 1e-8


def test_false_accusation_bound_holds_for_soft_averaged_evidence(
    code: TardosCode, codewords: np.ndarray
) -> None:
    rng = np.random.default_rng(12)
    evidence = average(codewords[[4, 5, 6]], rng)
    innocents = (rng.random((20_000, code.length)) < code.p).astype(np.uint8)
    s = code.scores(evidence, innocents)
    sd = math.sqrt(float(np.sum(evidence**2)))
    for z in (1.0, 2.0, 3.0):
        prob = code.false_accusation_probability(z * sd, np.count_nonzero(evidence), evidence)
        assert float(np.mean(s >= z * sd)) <= prob


# --- the exact tail for short evidence --------------------------------------------------------


def exact_innocent_tail(code: TardosCode, evidence: np.ndarray, s: float) -> float:
    """P(innocent score >= s) by enumerating every codeword, weighted by its probability."""
    m = code.length
    words = (np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1
    chance = np.prod(np.where(words == 1, code.p, 1 - code.p), axis=1)
    return float(chance[code.scores(evidence, words) >= s].sum())


@pytest.mark.parametrize("bias", ["arcsine", "uniform"])
def test_short_evidence_tail_is_sandwiched_by_the_true_one(bias: str) -> None:
    """For few positions the bound is the true tail, up to rounding each term by one step."""
    code = TardosCode.generate(KEY, 14, colluders=2, bias=bias)
    rng = np.random.default_rng(21)
    evidence = rng.uniform(-1, 1, code.length)
    evidence[[2, 9]] = 0.0
    slack = code.length / 1024  # 14 terms fit the finest lattice: each rounded up < 1/1024
    for s in np.linspace(-1.0, np.abs(evidence).sum() * 3, 40):
        bound = code.false_accusation_probability(s, 0, evidence)
        assert exact_innocent_tail(code, evidence, s) <= bound + 1e-12
        assert bound <= exact_innocent_tail(code, evidence, s - slack) + 1e-12


def test_hard_uniform_evidence_gets_the_binomial_tail_not_chernoff() -> None:
    """m sites read with full confidence: P(k or fewer disagree) exactly, where Chernoff
    over-states it (for 30 sites and one disagreement, by a factor of 2.6)."""
    m = 30
    code = TardosCode.generate(KEY, m, colluders=2, bias="uniform")
    leak = signed(code.codeword(0))
    for disagree in range(4):
        binomial = sum(math.comb(m, i) for i in range(disagree + 1)) / 2**m
        bound = code.false_accusation_probability(m - 2 * disagree, m, leak)
        assert bound == pytest.approx(binomial, rel=1e-9)
    chernoff_1 = code.false_accusation_probability(m - 2, m)  # no evidence: Chernoff alone
    assert chernoff_1 > 2.5 * (m + 1) / 2**m


def test_long_evidence_falls_back_to_chernoff(code: TardosCode, codewords: np.ndarray) -> None:
    """The video's thousands of heavy-tailed terms would need too fine a lattice."""
    evidence = signed(codewords[3])
    assert code._lattice_tail(evidence, np.array([10.0])) is None
