"""The motion sets that `lead eval motion` compares: real clips of a split, their VAE round trips,
and generations from their captions (with and without the projector)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lead.data.humanml3d import load_records, normalised_batch, read_split
from lead.motion.features import features_to_joints


@dataclass
class RealClip:
    name: str
    caption: str
    features: np.ndarray  # (T, F), de-normalised
    joints: np.ndarray  # (T, J, 3)


def real_clips(data: str | Path, split: str = "test", min_length: int = 20, max_length: int = 196,
               skeleton: str = "humanml3d", limit: int | None = None) -> list[RealClip]:
    """One entry per clip of the split (its first caption), whole clip up to `max_length` frames."""
    data = Path(data)
    records = load_records(data, split, min_length=min_length, max_length=max_length, unit=1,
                           ids=read_split(data, split))
    clips: list[RealClip] = []
    seen: set[str] = set()
    for record in records:
        if record.clip in seen or record.start != 0:
            continue
        seen.add(record.clip)
        features = np.load(data / "new_joint_vecs" / f"{record.clip}.npy").astype(np.float32)[: record.end]
        features = features[:max_length]
        joints = np.asarray(features_to_joints(features, skeleton), dtype=np.float32)
        clips.append(RealClip(record.clip, record.captions[0].text, features, joints))
        if limit is not None and len(clips) >= limit:
            break
    return clips


@torch.no_grad()
def vae_round_trip(vae, normalizer, features: list[np.ndarray], skeleton: str = "humanml3d",
                   batch_size: int = 32, smoothing: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Encode each motion to its posterior mean, decode (low-passed by `smoothing` binomial taps, as the
    pipeline does for generated motion), de-normalise → (features `(T, F)`, joints `(T, J, 3)`) per motion."""
    vae = vae.eval()
    out: list[np.ndarray] = []
    decoded_features: list[np.ndarray] = []
    for start in range(0, len(features), batch_size):
        batch, lengths = normalised_batch(normalizer, features[start : start + batch_size])
        latent, _, _ = vae.encode(batch, lengths, sample=False)
        recon = vae.decode(latent, lengths)
        if smoothing > 1:
            from lead.models.layers import binomial_smooth

            recon = binomial_smooth(recon, lengths, smoothing)
        for row, length in enumerate(lengths.tolist()):
            decoded = normalizer.denormalize(recon[row, :length].numpy()).astype(np.float32)
            decoded_features.append(decoded)
            out.append(np.asarray(features_to_joints(decoded, skeleton), dtype=np.float32))
    return decoded_features, out


def mpjpe(real: list[np.ndarray], fake: list[np.ndarray]) -> tuple[float, float]:
    """(global, root-aligned) mean per-joint position error in metres, averaged over motions."""
    glob, aligned = [], []
    for r, f in zip(real, fake):
        glob.append(np.linalg.norm(r - f, axis=-1).mean())
        aligned.append(np.linalg.norm((r - r[:, :1]) - (f - f[:, :1]), axis=-1).mean())
    return float(np.mean(glob)), float(np.mean(aligned))


def embed_features(evaluator, features: list[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """Evaluator motion embeddings `[N, C]` of raw (de-normalised) feature arrays of any lengths."""
    rows = []
    for start in range(0, len(features), batch_size):
        chunk = features[start : start + batch_size]
        lengths = torch.tensor([len(f) for f in chunk])
        batch = torch.zeros(len(chunk), int(lengths.max()), chunk[0].shape[-1])
        for row, motion in enumerate(chunk):
            batch[row, : len(motion)] = torch.from_numpy(np.asarray(motion, dtype=np.float32))
        rows.append(evaluator.embed_motions(batch, lengths).cpu().numpy())
    return np.concatenate(rows)
