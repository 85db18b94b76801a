"""Shared Lightning plumbing: data loaders, trainer (progress bar, checkpoints, resume, CSV and
TensorBoard logs, multi-GPU flags), and step-seeded generators."""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch.utils.data import DataLoader

from lead.errors import LeadError
from lead.train.arguments import add_trainer_arguments  # noqa: F401  (re-exported)


@dataclass
class TrainSettings:
    data: Path
    out: Path
    preset: str = "small"
    batch_size: int = 32
    lr: float = 1e-4
    max_epochs: int = -1
    max_steps: int = -1
    max_time: str | None = None
    seed: int = 0
    precision: str = "32-true"
    accelerator: str = "auto"
    devices: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    workers: int = 0
    resume: bool = False
    overwrite: bool = False
    checkpoint_every: int = 500
    val_every: int = 1
    log_every: int = 20
    save_dtype: str = "float32"
    balance: str | None = None
    balance_power: float = 0.5
    balance_boost: tuple[str, ...] = ()
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    min_length: int = 40
    max_length: int = 196

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainSettings:
        names = cls.__dataclass_fields__
        values = {k: getattr(args, k) for k in names if hasattr(args, k)}
        values["data"], values["out"] = Path(args.data), Path(args.out)
        values["balance_boost"] = tuple(values.get("balance_boost") or ())
        return cls(**values)

    @property
    def dtype(self) -> torch.dtype:
        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[self.save_dtype]


def step_generator(seed: int, step: int, rank: int, device: torch.device) -> torch.Generator:
    """A generator that depends only on (seed, step, rank): resumed runs draw the same numbers."""
    key = hashlib.sha256(f"{seed}:{step}:{rank}".encode()).digest()
    generator = torch.Generator(device=device)
    generator.manual_seed(int.from_bytes(key[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF)
    return generator


def make_loaders(settings: TrainSettings, skeleton: str, normalizer) -> tuple[DataLoader, DataLoader | None]:
    from lead.data.humanml3d import MotionDataset, collate_motions

    lengths = dict(min_length=settings.min_length, max_length=settings.max_length)
    train = MotionDataset(settings.data, "train", skeleton=skeleton, normalizer=normalizer, seed=settings.seed,
                          **lengths)
    if len(train) == 0:
        raise LeadError(f"{settings.data}: the train split has no usable clips (check with `lead data check`)")
    sampler = balanced_sampler(train, settings) if settings.balance else None
    loader = DataLoader(
        train, batch_size=min(settings.batch_size, len(train)), shuffle=sampler is None, sampler=sampler,
        drop_last=True, collate_fn=collate_motions, num_workers=settings.workers,
        generator=torch.Generator().manual_seed(settings.seed), persistent_workers=settings.workers > 0,
    )
    val_loader = None
    try:
        val = MotionDataset(settings.data, "val", skeleton=skeleton, normalizer=normalizer, seed=settings.seed,
                            **lengths)
        if len(val):
            val_loader = DataLoader(val, batch_size=settings.batch_size, shuffle=False, collate_fn=collate_motions)
    except LeadError:
        val_loader = None
    return loader, val_loader


def balanced_sampler(dataset, settings: TrainSettings):
    """Draw items with weight count(label)^-power, labels from DATA/labels.json (`--balance content`).

    With power 0.5 a content with 2 clips is drawn ~10× more often than uniform sampling would draw it
    (Bandai-Namco's kick and bow have 2 and 11 of 2,472 training clips), a common one ~2× less.
    `--balance-boost LABEL=FACTOR` multiplies the weight of LABEL's clips by FACTOR on top of that; a
    `FIELD:VALUE,FIELD:VALUE=FACTOR` key boosts the clips with all those labels (e.g. one style of one content).
    """
    import json
    from collections import Counter

    from torch.utils.data import WeightedRandomSampler

    path = settings.data / "labels.json"
    if not path.is_file():
        raise LeadError(f"--balance {settings.balance}: {path} not found (it is written by `lead data prepare`)")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LeadError(f"{path} is not valid JSON ({error})") from error
    entries, labels = [], []
    for record in dataset.records:
        entry = table.get(record.clip)
        if not isinstance(entry, dict) or settings.balance not in entry:
            raise LeadError(f"{path}: clip {record.clip!r} has no {settings.balance!r} label")
        entries.append(entry)
        labels.append(str(entry[settings.balance]))
    counts = Counter(labels)
    from lead.train.validate import boost_matches, parse_boosts

    boost = parse_boosts(settings.balance_boost, settings.balance, entries)
    matches = {key: torch.tensor([boost_matches(conditions, entry) for entry in entries])
               for key, (conditions, _) in boost.items()}
    weights = torch.tensor([counts[label] ** -settings.balance_power for label in labels], dtype=torch.double)
    for key, (_, factor) in boost.items():
        weights[matches[key]] *= factor
    if boost:
        shares = ", ".join(f"{key} {weights[matches[key]].sum() / weights.sum():.1%}" for key in boost)
        print(f"--balance {settings.balance}: share of draws {shares}")
    return WeightedRandomSampler(weights, num_samples=len(labels), replacement=True,
                                 generator=torch.Generator().manual_seed(settings.seed + 1))


class StopOnNonFinite(L.Callback):
    """A non-finite training loss (NaN data, a diverging learning rate) stops the run with an error,
    before any component is exported."""

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, outputs, batch, batch_idx) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not torch.isfinite(loss.detach()).all():
            names = batch.get("names", [])[:4] if isinstance(batch, dict) else []
            raise LeadError(f"the training loss became {float(loss.detach())} at step {trainer.global_step} "
                            f"(clips {', '.join(map(str, names))}...): check the data for NaN/inf "
                            "(lead data check) or lower --lr; nothing was exported")


class RankConsistency(L.Callback):
    """With several processes, check at the end of training that every rank holds the same weights
    (DDP keeps them equal by averaging gradients; a rank that diverged — a non-deterministic op, a
    parameter left out of the gradient sync — would otherwise export silently whatever rank 0 had)."""

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.world_size < 2:
            return
        params = [p.detach().double() for p in module.parameters()]
        local = torch.stack([sum(p.sum() for p in params), sum((p * p).sum() for p in params)]).to(module.device)
        gathered = trainer.strategy.all_gather(local).reshape(trainer.world_size, 2).cpu()
        if not torch.allclose(gathered, gathered[:1].expand_as(gathered), rtol=1e-9, atol=0.0):
            raise LeadError(f"the {trainer.world_size} training processes ended with different weights "
                            f"(checksums {gathered.tolist()}); nothing was exported — report this with the command")
        if trainer.is_global_zero:
            print(f"weights identical on {trainer.world_size} ranks (checksum {gathered[0, 0].item():.9e})")


class EpochReseed(L.Callback):
    """Give the dataset's random crops a new, reproducible draw each epoch."""

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        dataset = trainer.train_dataloader.dataset if trainer.train_dataloader is not None else None
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(trainer.current_epoch)


def check_resume_checkpoint(last: Path) -> None:
    """Refuse, in one line and before any run folder is written, a `last.ckpt` that cannot be resumed: not a
    regular file, or a zip archive cut short (what a run killed while an older, non-atomic save was writing
    leaves). Every member's CRC is checked, so a checkpoint with a damaged middle is found too."""
    import zipfile

    from lead.io import check_regular_input

    check_regular_input(last, "--resume checkpoint")
    if not last.is_file():
        raise LeadError(f"--resume: {last} not found; start without --resume")
    try:
        with zipfile.ZipFile(last) as archive:
            broken = archive.testzip()
        reason = f"its member {broken} is damaged" if broken else None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as error:  # cut short, not a zip
        reason = str(error) or type(error).__name__
    if reason is None:
        return
    others = sorted((p for p in last.parent.glob("*.ckpt") if p != last and zipfile.is_zipfile(p)),
                    key=lambda p: p.stat().st_mtime)
    fix = (f"rename {others[-1].name} (an earlier checkpoint) to last.ckpt to resume from it, or"
           if others else "delete it and")
    raise LeadError(f"--resume: {last} is damaged ({reason}), probably cut short by a run stopped while saving; "
                    f"{fix} start again without --resume")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, but through a temporary file renamed into place (lead.io.atomic_path), so
    a run killed while saving leaves the previous checkpoint whole, never a truncated one."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        from lead.io import atomic_path

        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


def fit(module: L.LightningModule, settings: TrainSettings, stage: str, train_loader, val_loader) -> L.Trainer:
    from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    L.seed_everything(settings.seed, workers=True, verbose=False)
    root = settings.out / "runs" / stage
    checkpoints = root / "checkpoints"
    ckpt_path = None
    if settings.resume:
        last = checkpoints / "last.ckpt"
        check_resume_checkpoint(last)
        ckpt_path = str(last)
    devices = settings.devices if settings.devices == "auto" else int(settings.devices)
    if settings.strategy.startswith("ddp") and settings.num_nodes == 1:
        import os

        # One machine: gloo/NCCL rendezvous over loopback. Without this, gloo picked an interface this
        # sandbox cannot route and both ranks hung after starting.
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    trainer = L.Trainer(
        default_root_dir=str(root),
        accelerator=settings.accelerator,
        devices=devices,
        num_nodes=settings.num_nodes,
        strategy=settings.strategy,
        precision=settings.precision,
        max_epochs=settings.max_epochs,
        max_steps=settings.max_steps,
        max_time=settings.max_time,
        logger=[CSVLogger(str(root), name="logs"), TensorBoardLogger(str(root), name="tensorboard")],
        callbacks=[
            ModelCheckpoint(dirpath=str(checkpoints), save_last=True, every_n_train_steps=settings.checkpoint_every,
                            save_top_k=1, monitor=None),
            TQDMProgressBar(refresh_rate=10),
            EpochReseed(),
            StopOnNonFinite(),
            RankConsistency(),
        ],
        check_val_every_n_epoch=settings.val_every,
        log_every_n_steps=settings.log_every,
        num_sanity_val_steps=0,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(module, train_loader, val_loader, ckpt_path=ckpt_path)
    # A final checkpoint so that --resume continues from where this run stopped.
    trainer.save_checkpoint(str(checkpoints / "last.ckpt"))
    return trainer
