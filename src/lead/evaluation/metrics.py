"""The T2M metrics (Guo et al., CVPR 2022) on evaluator embeddings: pure numpy functions, seeded.

They follow the reference `utils/metrics.py` and `final_evaluations.py` of text-to-motion:
- R-precision and MM-Dist ("matching score") are computed in groups of 32 text/motion pairs (the
  reference's shuffled test loader with batch 32 and drop_last=True): each text is ranked against its own
  motion and the 31 others of its group by Euclidean distance; the incomplete last group is dropped.
- FID is the Fréchet distance between Gaussians fitted to two embedding sets.
- Diversity: mean distance between `num_pairs` random pairs of motions (two independent draws without
  replacement); multimodality: the same within the generations of each text.
- Replications are summarised by their mean and the 95% interval 1.96·std/√n (population std).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg


def euclidean_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[N1, D], [N2, D] → [N1, N2] pairwise Euclidean distances (the reference's expansion; rounding
    below zero is clipped instead of becoming NaN)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected [N1, D] and [N2, D] embeddings, got {a.shape} and {b.shape}")
    squared = -2.0 * a @ b.T + np.sum(a * a, axis=1, keepdims=True) + np.sum(b * b, axis=1)
    return np.sqrt(np.maximum(squared, 0.0))


def activation_statistics(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[N, D] → mean [D], covariance [D, D] (unbiased, as np.cov)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return embeddings.mean(axis=0), np.cov(embeddings, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """d² = |mu1 - mu2|² + Tr(S1 + S2 - 2 sqrt(S1 S2)).

    As the reference: when sqrtm of the product is not finite, `eps` is added to both diagonals; a
    complex result whose diagonal's imaginary part exceeds 1e-3 is an error, otherwise the real part is
    kept.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"mismatched statistics: {mu1.shape} vs {mu2.shape}, {sigma1.shape} vs {sigma2.shape}"
        )
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"Fréchet distance: imaginary component {np.max(np.abs(covmean.imag))}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(embeddings_a: np.ndarray, embeddings_b: np.ndarray) -> float:
    """FID between two embedding sets [Na, D] and [Nb, D]."""
    mu_a, sigma_a = activation_statistics(embeddings_a)
    mu_b, sigma_b = activation_statistics(embeddings_b)
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)


def _groups(n: int, group_size: int, seed: int | None) -> np.ndarray:
    """[G, group_size] indices of a seeded shuffle (input order when seed is None); partial group dropped."""
    if n < group_size:
        raise ValueError(f"need at least {group_size} text/motion pairs for one group, got {n}")
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    count = n // group_size
    return order[: count * group_size].reshape(count, group_size)


def _top_k_hits(dist: np.ndarray, top_k: int) -> np.ndarray:
    """[G, G] text×motion distances → [top_k] counts of texts whose own motion is within the k nearest."""
    ranking = np.argsort(dist, axis=1)
    hits = ranking[:, :top_k] == np.arange(dist.shape[0])[:, None]
    return np.cumsum(hits, axis=1).astype(bool).sum(axis=0)


def matching_metrics(
    text_emb: np.ndarray, motion_emb: np.ndarray, top_k: int = 3, group_size: int = 32, seed: int | None = 0
) -> tuple[np.ndarray, float]:
    """R-precision [top_k] and MM-Dist over the same seeded groups; row i of each input is a pair."""
    text_emb, motion_emb = np.asarray(text_emb), np.asarray(motion_emb)
    if text_emb.shape != motion_emb.shape:
        raise ValueError(
            f"text and motion embeddings differ in shape: {text_emb.shape} vs {motion_emb.shape}"
        )
    hits = np.zeros(top_k, dtype=np.int64)
    distance_sum = 0.0
    groups = _groups(len(text_emb), group_size, seed)
    for index in groups:
        dist = euclidean_distance_matrix(text_emb[index], motion_emb[index])
        distance_sum += float(np.trace(dist))
        hits += _top_k_hits(dist, top_k)
    size = groups.size
    return hits / size, distance_sum / size


def r_precision(
    text_emb: np.ndarray, motion_emb: np.ndarray, top_k: int = 3, group_size: int = 32, seed: int | None = 0
) -> np.ndarray:
    """[top_k] fraction of texts whose own motion ranks within the k nearest of its group of 32."""
    return matching_metrics(text_emb, motion_emb, top_k, group_size, seed)[0]


def matching_score(
    text_emb: np.ndarray, motion_emb: np.ndarray, group_size: int = 32, seed: int | None = 0
) -> float:
    """MM-Dist: mean Euclidean distance of each text to its own motion, over the complete groups."""
    return matching_metrics(text_emb, motion_emb, 1, group_size, seed)[1]


def diversity(embeddings: np.ndarray, num_pairs: int = 300, seed: int = 0) -> float:
    """Mean distance between `num_pairs` random pairs of the [N, D] embeddings (N > num_pairs)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[0] <= num_pairs:
        raise ValueError(f"diversity needs [N, D] embeddings with N > {num_pairs}, got {embeddings.shape}")
    rng = np.random.default_rng(seed)
    first = rng.choice(embeddings.shape[0], num_pairs, replace=False)
    second = rng.choice(embeddings.shape[0], num_pairs, replace=False)
    return float(np.linalg.norm(embeddings[first] - embeddings[second], axis=1).mean())


def multimodality(embeddings: np.ndarray, num_pairs: int = 10, seed: int = 0) -> float:
    """Mean distance between `num_pairs` random pairs of generations of the same text.

    embeddings: [N_texts, N_gen, D] with N_gen > num_pairs (the same pair indices for every text, as the
    reference draws them once).
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 3 or embeddings.shape[1] <= num_pairs:
        raise ValueError(
            f"multimodality needs [N_texts, N_gen, D] embeddings with N_gen > {num_pairs}, "
            f"got {embeddings.shape}"
        )
    rng = np.random.default_rng(seed)
    first = rng.choice(embeddings.shape[1], num_pairs, replace=False)
    second = rng.choice(embeddings.shape[1], num_pairs, replace=False)
    return float(np.linalg.norm(embeddings[:, first] - embeddings[:, second], axis=2).mean())


def mean_and_confidence(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replications [R] or [R, K] → (mean, 1.96·std/√R) along the first axis (population std)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] == 0:
        raise ValueError("no replications to summarise")
    return values.mean(axis=0), 1.96 * values.std(axis=0) / np.sqrt(values.shape[0])
