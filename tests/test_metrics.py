"""T2M metrics on hand-computed cases."""

import numpy as np
import pytest

from lead.evaluation.metrics import (
    diversity,
    euclidean_distance_matrix,
    fid,
    frechet_distance,
    matching_metrics,
    matching_score,
    mean_and_confidence,
    multimodality,
    r_precision,
)


def test_distance_matrix_matches_direct_norms():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    direct = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_allclose(euclidean_distance_matrix(a, b), direct, atol=1e-10)
    assert euclidean_distance_matrix(a, a).diagonal().max() < 1e-6  # rounding clipped, never NaN


def test_frechet_distance_analytic_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([3.0, 1.0, 2.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    # d² = |Δμ|² + Σ (√v1 − √v2)² for commuting (diagonal) covariances
    expected = 9.0 + 16.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0.0
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, abs=1e-9)


def test_fid_identical_sets_is_zero_and_shift_is_squared_norm():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 8))
    assert abs(fid(x, x)) < 1e-6
    shift = np.array([1.0, -2.0, 0.5, 0, 0, 0, 0, 3.0])
    # same samples shifted: identical covariance, so FID is exactly |shift|²
    assert fid(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-6)
    # independent samples of N(0, I) and N(shift, 4I): |shift|² + Σ(1 − 2)² = |shift|² + 8
    y = rng.normal(size=(20000, 8)) * 2.0 + shift
    z = rng.normal(size=(20000, 8))
    assert fid(z, y) == pytest.approx(float(shift @ shift) + 8.0, rel=0.03)


def test_r_precision_perfect_and_chance():
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(32 * 10 + 5, 16))
    np.testing.assert_allclose(r_precision(emb, emb, seed=3), [1.0, 1.0, 1.0])
    assert matching_score(emb, emb, seed=3) == pytest.approx(0.0, abs=1e-6)
    texts, motions = rng.normal(size=(32 * 200, 16)), rng.normal(size=(32 * 200, 16))
    top = r_precision(texts, motions, seed=4)
    np.testing.assert_allclose(top, [1 / 32, 2 / 32, 3 / 32], atol=0.012)
    assert top[0] <= top[1] <= top[2]


def test_matching_groups_drop_partial_and_use_own_pairs():
    # Text i sits at distance i+1 from its motion; other motions are far away.
    n = 40
    texts = np.zeros((n, 2))
    texts[:, 0] = np.arange(n) * 1000.0
    motions = texts.copy()
    motions[:, 1] = np.arange(n) + 1.0
    top, mm_dist = matching_metrics(texts, motions, seed=None)  # input order: the first 32 pairs only
    np.testing.assert_allclose(top, [1.0, 1.0, 1.0])
    assert mm_dist == pytest.approx(np.mean(np.arange(32) + 1.0))
    with pytest.raises(ValueError):
        r_precision(texts[:31], motions[:31])


def test_r_precision_counts_rank_two_in_top2_only():
    # Texts at 10·i on a line, motion i at 10·i + 6: text i (i ≥ 1) is 4 from motion i-1 and 6 from its
    # own, so its own motion ranks second; text 0 has no left neighbour and ranks its own first.
    texts = np.arange(32, dtype=float)[:, None] * 10.0
    motions = texts + 6.0
    top, mm_dist = matching_metrics(texts, motions, seed=None)
    np.testing.assert_allclose(top, [1 / 32, 1.0, 1.0])
    assert mm_dist == pytest.approx(6.0)


def test_diversity_of_known_points():
    # Points 0 and 1 alternate along one axis at distance 5: any pair is 0 or 5 apart.
    points = np.zeros((400, 3))
    points[200:, 0] = 5.0
    value = diversity(points, num_pairs=300, seed=0)
    assert 0.0 < value < 5.0
    # every pair of distinct points on a regular simplex has the same distance √2
    simplex = np.eye(301)
    rng = np.random.default_rng(0)
    first = rng.choice(301, 300, replace=False)
    second = rng.choice(301, 300, replace=False)
    expected = np.sqrt(2.0) * np.mean(first != second)
    assert diversity(simplex, num_pairs=300, seed=0) == pytest.approx(expected)
    with pytest.raises(ValueError):
        diversity(np.zeros((300, 3)), num_pairs=300)


def test_multimodality_known_values():
    # Within each text, generations lie on a line: gen j at j·step; with the same seed the pairs are known.
    n_texts, n_gen = 4, 30
    steps = np.array([1.0, 2.0, 0.5, 3.0])
    emb = np.zeros((n_texts, n_gen, 2))
    emb[..., 0] = steps[:, None] * np.arange(n_gen)[None]
    rng = np.random.default_rng(7)
    first = rng.choice(n_gen, 10, replace=False)
    second = rng.choice(n_gen, 10, replace=False)
    expected = np.mean(np.abs(first - second)) * steps.mean()
    assert multimodality(emb, num_pairs=10, seed=7) == pytest.approx(expected)
    assert multimodality(np.ones((3, 11, 4)), num_pairs=10) == 0.0
    with pytest.raises(ValueError):
        multimodality(np.ones((3, 10, 4)), num_pairs=10)


def test_mean_and_confidence_formula():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    mean, interval = mean_and_confidence(values)
    assert mean == pytest.approx(2.5)
    assert interval == pytest.approx(1.96 * np.sqrt(1.25) / 2.0)
    mean, interval = mean_and_confidence(np.array([[0.5, 0.7, 0.8], [0.5, 0.9, 1.0]]))
    np.testing.assert_allclose(mean, [0.5, 0.8, 0.9])
    np.testing.assert_allclose(interval, [0.0, 1.96 * 0.1 / np.sqrt(2), 1.96 * 0.1 / np.sqrt(2)])
