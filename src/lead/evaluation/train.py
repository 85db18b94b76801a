"""Training a T2M evaluator on a HumanML3D-format folder, as text-to-motion does it.

Two stages (the reference's `train_decomp_v3.py` then `train_tex_mot_match.py`):
1. Movement autoencoder (optional, `ae_epochs > 0`): the MovementConvEncoder and a transposed-conv
   decoder reconstruct random 24-frame windows; L1 on all channels + 0.001·|latent| (sparsity)
   + 0.001·L1 between neighbouring latents (smoothness), Adam lr 1e-4.
2. Text–motion matching: the movement encoder is frozen (eval mode, as the reference's trainer keeps it)
   and the text and motion encoders learn the contrastive objective: for the B pairs of a batch,
   positives cost d², and negatives made by shifting the motions by s ∈ [1, B-1] cost max(margin - d, 0)²
   (margin 10; Adam lr 1e-4; each encoder's gradient clipped to norm 0.5). The reference draws
   s ∈ [0, B-2], where s = 0 turns the "negatives" into the positives; we never draw 0.
   Without stage 1 (`ae_epochs = 0`) the movement encoder is trained jointly in stage 2 instead.
The kept weights are those of the lowest validation loss (the reference's finest.tar).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from lead.errors import LeadError
from lead.evaluation import metrics
from lead.evaluation.evaluator import EvaluatorConfig, T2MEvaluator
from lead.evaluation.word_vectorizer import GloVeWordVectors, MiniLMWordVectors, WordVectorizer
from lead.io import save_json

AE_WINDOW = 24
PRESETS = {
    "official": {},  # the published sizes (EvaluatorConfig defaults)
    "small": dict(dim_movement_enc_hidden=256, dim_movement_latent=256, dim_motion_hidden=256,
                  dim_text_hidden=256, dim_coemb_hidden=256),
    "tiny": dict(dim_movement_enc_hidden=32, dim_movement_latent=32, dim_motion_hidden=32,
                 dim_text_hidden=32, dim_coemb_hidden=32),
}


@dataclasses.dataclass
class EvaluatorTrainSettings:
    data: Path
    out: Path
    epochs: int = 100
    ae_epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-4
    margin: float = 10.0
    word_vectors: str = "minilm"
    glove: Path | None = None
    preset: str = "official"
    skeleton: str = "humanml3d"
    seed: int = 0
    min_length: int | None = None  # None: the reference minimum (40 frames HumanML3D, 24 KIT)
    max_steps: int = -1
    max_time: str | None = None  # per stage, Lightning's DD:HH:MM:SS
    accelerator: str = "auto"
    devices: str = "auto"
    workers: int = 0


class MovementConvDecoder(nn.Module):
    """The reference decoder: [B, T/4, latent] → [B, T, D] (all channels, foot contacts included)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose1d(input_size, hidden_size, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose1d(hidden_size, output_size, 4, 2, 1),
            nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(output_size, output_size)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.out_net(self.main(latents.permute(0, 2, 1)).permute(0, 2, 1))


def _step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + step)


class MovementAutoencoderModule(L.LightningModule):
    """Stage 1: reconstruct random 24-frame windows through the movement encoder."""

    def __init__(self, evaluator: T2MEvaluator, lr: float = 1e-4, seed: int = 0) -> None:
        super().__init__()
        config = evaluator.config
        self.encoder = evaluator.movement_encoder
        self.decoder = MovementConvDecoder(
            config.dim_movement_latent, config.dim_movement_enc_hidden, config.dim_pose
        )
        self.lr, self.seed = lr, seed

    def _loss(self, batch: dict, generator: torch.Generator) -> torch.Tensor:
        # a clip shorter than the window (KIT allows 24 frames, cropped to 20) reads a few padded zeros
        room = (batch["lengths"].cpu() - AE_WINDOW + 1).clamp(min=1)
        starts = (torch.rand(len(room), generator=generator) * room).long()
        index = starts.to(self.device)[:, None] + torch.arange(AE_WINDOW, device=self.device)[None]
        features = batch["features"]
        windows = torch.gather(features, 1, index[..., None].expand(-1, -1, features.shape[-1]))
        latents = self.encoder(windows[..., :-4])
        rec = nn.functional.l1_loss(self.decoder(latents), windows)
        sparsity = latents.abs().mean()
        smooth = nn.functional.l1_loss(latents[:, 1:], latents[:, :-1])
        return rec + 0.001 * sparsity + 0.001 * smooth

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch, _step_generator(self.seed, self.global_step))
        size = len(batch["lengths"])
        self.log("ae_loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=size)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        loss = self._loss(batch, _step_generator(self.seed + 1, batch_idx))
        self.log("val_ae_loss", loss, batch_size=len(batch["lengths"]))

    def configure_optimizers(self):
        return torch.optim.Adam([*self.encoder.parameters(), *self.decoder.parameters()], lr=self.lr)


def contrastive_loss(text: torch.Tensor, motion: torch.Tensor, shift: int, margin: float) -> tuple:
    """[B, C] pairs → (loss, positive part, negative part); negatives pair text i with motion i+shift."""
    positive = (text - motion).norm(dim=-1).pow(2).mean()
    negatives = torch.roll(motion, -shift, dims=0)
    negative = (margin - (text - negatives).norm(dim=-1)).clamp(min=0).pow(2).mean()
    return positive + negative, positive, negative


class TextMotionMatchModule(L.LightningModule):
    """Stage 2: the co-embedding of texts and motions."""

    def __init__(self, evaluator: T2MEvaluator, lr: float = 1e-4, margin: float = 10.0,
                 train_movement: bool = False, seed: int = 0) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.lr, self.margin, self.train_movement, self.seed = lr, margin, train_movement, seed
        self.evaluator.movement_encoder.requires_grad_(train_movement)
        self.best_loss, self.best_state = float("inf"), None
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._val_losses: list[float] = []

    def _embed(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.train_movement:
            self.evaluator.movement_encoder.eval()  # frozen, dropout off, as the reference trainer
        motion = self.evaluator.encode_motion(batch["features"], batch["lengths"])
        text = self.evaluator.encode_text(batch["word_embs"], batch["pos_onehot"], batch["cap_lens"])
        return text, motion

    def _shift(self, size: int, generator: torch.Generator) -> int:
        return 1 + int(torch.randint(size - 1, (1,), generator=generator)) if size > 1 else 0

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        text, motion = self._embed(batch)
        shift = self._shift(len(text), _step_generator(self.seed, self.global_step))
        loss, positive, negative = contrastive_loss(text, motion, shift, self.margin)
        logs = {"loss": loss, "loss_pos": positive, "loss_neg": negative}
        self.log_dict(logs, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(text))
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:
        for module in (self.evaluator.text_encoder, self.evaluator.motion_encoder):
            nn.utils.clip_grad_norm_(module.parameters(), 0.5)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        text, motion = self._embed(batch)
        shift = self._shift(len(text), _step_generator(self.seed + 1, batch_idx))
        loss = contrastive_loss(text, motion, shift, self.margin)[0]
        self._val_losses.append(float(loss))
        self._val.append((text.cpu(), motion.cpu()))
        self.log("val_loss", loss, prog_bar=True, batch_size=len(text))

    def on_validation_epoch_end(self) -> None:
        text = torch.cat([t for t, _ in self._val]).numpy()
        motion = torch.cat([m for _, m in self._val]).numpy()
        if len(text) >= 32:
            top, mm_dist = metrics.matching_metrics(text, motion, seed=self.seed)
            self.log_dict({"val_top1": top[0], "val_top3": top[2], "val_mm_dist": mm_dist})
        mean_loss = float(np.mean(self._val_losses)) if self._val_losses else float("inf")
        if mean_loss < self.best_loss and not self.trainer.sanity_checking:
            self.best_loss = mean_loss
            state = self.evaluator.state_dict()
            self.best_state = copy.deepcopy({k: v.detach().cpu() for k, v in state.items()})
        self._val.clear()
        self._val_losses.clear()

    def configure_optimizers(self):
        return torch.optim.Adam([p for p in self.evaluator.parameters() if p.requires_grad], lr=self.lr)


class TextMotionCollate:
    """collate_motions + the evaluator's text inputs: word_embs [B, 22, W], pos_onehot [B, 22, 15],
    cap_lens [B]."""

    def __init__(self, vectorizer: WordVectorizer) -> None:
        self.vectorizer = vectorizer

    def __call__(self, items: list[dict]) -> dict:
        from lead.data.humanml3d import collate_motions

        batch = collate_motions(items)
        words, poses, lengths = self.vectorizer.encode(batch["tokens"])
        batch.update(word_embs=torch.from_numpy(words), pos_onehot=torch.from_numpy(poses),
                     cap_lens=torch.from_numpy(lengths))
        return batch


def build_word_vectors(kind: str, glove: str | os.PathLike | None = None) -> WordVectorizer:
    if kind == "minilm":
        return WordVectorizer(MiniLMWordVectors())
    if kind == "glove":
        if glove is None:
            raise LeadError("--word-vectors glove needs --glove DIR (the folder with our_vab_data.npy)")
        return WordVectorizer(GloVeWordVectors(glove))
    raise LeadError(f"unknown word vectors {kind!r}: expected minilm or glove")


def default_min_length(skeleton: str) -> int:
    return 40 if skeleton == "humanml3d" else 24


def _dataset(settings: EvaluatorTrainSettings, split: str, normalizer=None):
    from lead.data.humanml3d import MotionDataset

    min_length = settings.min_length or default_min_length(settings.skeleton)
    return MotionDataset(settings.data, split, skeleton=settings.skeleton, min_length=min_length,
                         normalizer=normalizer, seed=settings.seed)


def _fit(module: L.LightningModule, settings: EvaluatorTrainSettings, stage: str, epochs: int,
         train: DataLoader, val: DataLoader | None) -> L.Trainer:
    """One stage on the shared plumbing of `lead train` (lead.train.common.fit): the same progress bar,
    CSV + TensorBoard logs, checkpoints, non-finite-loss stop, epoch reseeding and device flags."""
    from lead.train.common import TrainSettings, fit

    plumbing = TrainSettings(
        data=settings.data, out=settings.out, batch_size=settings.batch_size, lr=settings.lr, max_epochs=epochs,
        max_steps=settings.max_steps, max_time=settings.max_time, seed=settings.seed,
        accelerator=settings.accelerator, devices=settings.devices, workers=settings.workers,
        log_every=max(1, min(50, len(train))),
    )
    return fit(module, plumbing, stage, train, val)


def train_evaluator(settings: EvaluatorTrainSettings) -> T2MEvaluator:
    """Train both stages and write the evaluator folder (best validation loss) to `settings.out`."""
    if settings.preset not in PRESETS:
        raise LeadError(f"unknown evaluator preset {settings.preset!r}: expected {', '.join(PRESETS)}")
    L.seed_everything(settings.seed, workers=True, verbose=False)
    vectorizer = build_word_vectors(settings.word_vectors, settings.glove)
    train_set = _dataset(settings, "train")
    try:
        val_set = _dataset(settings, "val", train_set.normalizer)
    except LeadError:
        val_set = None
    dataset = "t2m" if settings.skeleton == "humanml3d" else "kit"
    sizes = PRESETS[settings.preset]
    config = EvaluatorConfig(dataset=dataset, dim_pose=train_set.dim, dim_word=vectorizer.dim, **sizes)
    normalizer = train_set.normalizer
    evaluator = T2MEvaluator(config, normalizer.mean, normalizer.std, vectorizer, seed=settings.seed)
    collate = TextMotionCollate(vectorizer)
    batch_size = min(settings.batch_size, len(train_set))
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=True, collate_fn=collate,
                       num_workers=settings.workers, generator=torch.Generator().manual_seed(settings.seed))
    val = None
    if val_set is not None:
        val = DataLoader(val_set, batch_size=min(settings.batch_size, len(val_set)), drop_last=True,
                         collate_fn=collate, num_workers=settings.workers)
    if settings.ae_epochs > 0:
        _fit(MovementAutoencoderModule(evaluator, settings.lr, settings.seed), settings, "movement",
             settings.ae_epochs, train, val)
    joint_movement = settings.ae_epochs <= 0
    match = TextMotionMatchModule(evaluator, settings.lr, settings.margin, joint_movement, settings.seed)
    trainer = _fit(match, settings, "matching", settings.epochs, train, val)
    if match.best_state is not None:
        evaluator.load_state_dict(match.best_state)
    evaluator = evaluator.cpu().eval()
    extra = {
        "trained_on": str(settings.data),
        "word_vectors": settings.word_vectors,
        "preset": settings.preset,
        "min_length": settings.min_length or default_min_length(settings.skeleton),
        "best_val_loss": None if match.best_state is None else match.best_loss,
    }
    if trainer.is_global_zero:  # one writer when several devices train
        evaluator.save(settings.out, extra={"training": extra})
        evaluator.save_official(settings.out / "finest.tar")
    return evaluator


def real_metrics(evaluator: T2MEvaluator, data: str | os.PathLike, split: str = "test",
                 skeleton: str = "humanml3d", replications: int = 20, seed: int = 0,
                 min_length: int | None = None) -> dict:
    """The "Real motion" row of the T2M tables for this evaluator: real captions against real motions.

    Each replication redraws the crops and captions of the split (as the reference loader does) and
    reports R-precision top-1/2/3, MM-Dist, diversity, and FID between the real motions of this draw and
    of an independent one (≈ 0 for a sound evaluator); mean and 95% interval over replications.
    """
    from lead.data.humanml3d import MotionDataset

    min_length = min_length or default_min_length(skeleton)
    dataset = MotionDataset(data, split, skeleton=skeleton, min_length=min_length, seed=seed)
    collate = TextMotionCollate(evaluator.vectorizer)
    rows: dict[str, list] = {"r_precision": [], "mm_dist": [], "diversity": [], "fid_real_vs_real": []}
    pairs = min(300, len(dataset) - 1)

    def embed(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        dataset.set_epoch(epoch)
        texts, motions = [], []
        for batch in DataLoader(dataset, batch_size=64, collate_fn=collate):
            raw = torch.from_numpy(np.asarray(dataset.normalizer.denormalize(batch["features"].numpy())))
            motions.append(evaluator.embed_motions(raw, batch["lengths"]).cpu().numpy())
            text = evaluator.embed_texts(batch["word_embs"], batch["pos_onehot"], batch["cap_lens"])
            texts.append(text.cpu().numpy())
        return np.concatenate(texts), np.concatenate(motions)

    for replication in range(replications):
        text, motion = embed(2 * replication)
        top, mm_dist = metrics.matching_metrics(text, motion, seed=seed + replication)
        rows["r_precision"].append(top)
        rows["mm_dist"].append(mm_dist)
        rows["diversity"].append(metrics.diversity(motion, pairs, seed=seed + replication))
        rows["fid_real_vs_real"].append(metrics.fid(motion, embed(2 * replication + 1)[1]))
    summary = {"split": split, "items": len(dataset), "replications": replications, "diversity_pairs": pairs}
    for name, values in rows.items():
        mean, interval = metrics.mean_and_confidence(np.asarray(values))
        summary[name] = {"mean": np.round(mean, 4).tolist(), "conf95": np.round(interval, 4).tolist()}
    return summary


def save_real_metrics(path: str | os.PathLike, summary: dict) -> None:
    save_json(path, summary)
