"""The three LEAD stages as LightningModules: each defines only its step and optimiser."""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F

from lead.diffusion import add_noise, make_training_scheduler, training_target
from lead.models.denoiser import DenoiserConfig, LatentDenoiser
from lead.models.latent import LatentSpace
from lead.models.projector import LatentProjector, ProjectorConfig
from lead.models.text import TextEncoder
from lead.models.vae import MotionVAE, VAEConfig
from lead.train.common import step_generator


class _Stage(L.LightningModule):
    def __init__(self, lr: float, seed: int) -> None:
        super().__init__()
        self.lr = lr
        self.seed = seed

    def generator(self) -> torch.Generator:
        return step_generator(self.seed, self.global_step, self.global_rank, self.device)

    def _log_all(self, prefix: str, values: dict[str, torch.Tensor], batch_size: int) -> None:
        for key, value in values.items():
            self.log(f"{prefix}/{key}", value.detach(), prog_bar=key == "loss", batch_size=batch_size,
                     sync_dist=prefix == "val")

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        losses = self.losses(batch, self.generator())
        self._log_all("train", losses, len(batch["lengths"]))
        return losses["loss"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        generator = step_generator(self.seed, batch_idx, -1, self.device)
        self._log_all("val", self.losses(batch, generator), len(batch["lengths"]))

    def trainable(self) -> torch.nn.Module:
        raise NotImplementedError

    schedule: tuple[str, int] = ("constant", 0)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.trainable().parameters(), lr=self.lr)
        kind, warmup = self.schedule
        if kind == "constant" and warmup <= 0:
            return optimizer
        total = self.trainer.max_steps if self.trainer is not None else -1
        if kind == "cosine" and (total is None or total <= 0):
            raise ValueError("--lr-schedule cosine needs --max-steps (the step where the rate reaches 0)")

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            if kind == "constant":
                return 1.0
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1.0 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class VAEStage(_Stage):
    """Stage 1: feature MSE (+ velocity term) + 1e-4 KL. Validation also logs motion quality of the
    round trip as ratios to the real clips (stride, skating, root-relative joint speed, jerk), so a
    VAE that reconstructs features but not steps shows in the logs."""

    def __init__(self, config: VAEConfig, lr: float = 1e-4, seed: int = 0, normalizer=None,
                 skeleton: str = "humanml3d") -> None:
        super().__init__(lr, seed)
        self.vae = MotionVAE(config)
        self._normalizer = normalizer
        self._skeleton = skeleton

    def trainable(self) -> torch.nn.Module:
        return self.vae

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        super().validation_step(batch, batch_idx)
        if self._normalizer is None:
            return
        from lead.evaluation.motion_quality import LOCOMOTION, motion_metrics
        from lead.motion.features import features_to_joints

        lengths = batch["lengths"]
        with torch.no_grad():
            latent, _, _ = self.vae.encode(batch["features"], lengths, sample=False)
            recon = self.vae.decode(latent, lengths)
        sums = {key: [0.0, 0.0] for key in ("stride", "skate_ratio", "joint_speed", "jerk")}
        for row, length in enumerate(lengths.tolist()):
            pair = []
            for source in (batch["features"], recon):
                raw = self._normalizer.denormalize(source[row, :length].detach().cpu().double())
                pair.append(motion_metrics(features_to_joints(raw, self._skeleton).numpy()))
            for key, total in sums.items():
                if key == "stride" and not LOCOMOTION.search(batch["captions"][row].lower()):
                    continue  # a stride only means something on walks and runs
                total[0] += pair[1][key]
                total[1] += pair[0][key]
        ratios = {f"{key}_ratio": torch.tensor(fake / real) for key, (fake, real) in sums.items() if real > 1e-6}
        for key, value in ratios.items():
            # Not synced across processes: a batch without locomotion has no stride, and a key that only
            # some ranks log would deadlock a synced log under DDP. Under DDP these are rank 0's.
            self.log(f"val/{key}", value, batch_size=len(lengths), sync_dist=False)

    def losses(self, batch: dict, generator: torch.Generator) -> dict[str, torch.Tensor]:
        return self.vae.loss(batch["features"], batch["lengths"], generator)


class _Conditioned(_Stage):
    """Holds the frozen VAE and text encoder; caches each caption's pooled embedding."""

    def __init__(self, vae: MotionVAE, text_encoder: TextEncoder, latent_scale: float, lr: float, seed: int):
        super().__init__(lr, seed)
        self.vae = vae.eval().requires_grad_(False)
        # Kept out of the module tree: the frozen text encoder is never checkpointed or optimised.
        self._text = [text_encoder]
        self._cache: dict[str, torch.Tensor] = {}
        self._posterior: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self.latent_space = LatentSpace(self.vae, latent_scale)

    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()
        return self

    def text_embeddings(self, captions: list[str]) -> torch.Tensor:
        missing = [c for c in dict.fromkeys(captions) if c not in self._cache]
        if missing:
            encoder = self._text[0].to(self.device)
            with torch.no_grad():
                for caption, row in zip(missing, encoder.encode_pooled(missing)):
                    self._cache[caption] = row
        return torch.stack([self._cache[c] for c in captions]).to(self.device)

    def empty_embedding(self) -> torch.Tensor:
        return self.text_embeddings([""])

    @torch.no_grad()
    def latents(self, batch: dict, generator: torch.Generator) -> torch.Tensor:
        """Scaled VAE latents `[B, S, D]`: a posterior sample, as MLD trains its denoiser.

        The frozen VAE gives the same posterior for the same crop, and a clip has only a few
        unit-aligned crops, so (mu, logvar) are cached per crop: after the first epochs these
        stages cost almost nothing but the network being trained.
        """
        keys = [
            (name, int(length), round(float(feats[:length].sum()), 3))
            for name, length, feats in zip(batch["names"], batch["lengths"], batch["features"])
        ]
        missing = [i for i, key in enumerate(dict.fromkeys(keys)) if key not in self._posterior]
        if missing:
            unique = list(dict.fromkeys(keys))
            rows = [keys.index(unique[i]) for i in missing]
            lengths = batch["lengths"][rows]
            mu, logvar = self.latent_space.posterior(batch["features"][rows, : int(lengths.max())], lengths)
            for row_key, m, lv in zip((unique[i] for i in missing), mu, logvar):
                self._posterior[row_key] = (m, lv)
        mu = torch.stack([self._posterior[k][0] for k in keys])
        logvar = torch.stack([self._posterior[k][1] for k in keys])
        return self.latent_space.sample_posterior(mu, logvar, generator)


class DenoiserStage(_Conditioned):
    """Stage 2: MSE to the denoiser's target (ε as MLD, or v / z0) under DDPM noise, 10% condition
    dropout for guidance."""

    def __init__(self, config: DenoiserConfig, vae: MotionVAE, text_encoder: TextEncoder, latent_scale: float,
                 lr: float = 1e-4, seed: int = 0) -> None:
        super().__init__(vae, text_encoder, latent_scale, lr, seed)
        self.denoiser = LatentDenoiser(config)
        self.scheduler = make_training_scheduler()

    def trainable(self) -> torch.nn.Module:
        return self.denoiser

    def losses(self, batch: dict, generator: torch.Generator) -> dict[str, torch.Tensor]:
        latent = self.latents(batch, generator)
        noise = torch.randn(latent.shape, generator=generator, device=latent.device)
        steps = self.scheduler.config.num_train_timesteps
        t = torch.randint(0, steps, (latent.shape[0],), generator=generator, device=latent.device)
        noisy = add_noise(latent, noise, t)
        condition = self.text_embeddings(batch["captions"])
        drop = torch.rand(latent.shape[0], generator=generator, device=latent.device)
        condition = self.denoiser.drop_condition(
            condition, self.empty_embedding(), force_drop=drop < self.denoiser.config.condition_dropout
        )
        target = training_target(latent, noise, t, self.denoiser.config.prediction_type)
        loss = F.mse_loss(self.denoiser(noisy, t, condition), target)
        return {"loss": loss}


class ProjectorStage(_Conditioned):
    """Stage 3: LEAD's realignment losses on frozen VAE latents and text embeddings. With `denoising`
    (a `lead.train.realign.DenoisingInputs`) and the frozen `denoiser`, the projector reads the model's own
    estimate of each latent and reconstructs the true one (a denoising realigner)."""

    def __init__(self, config: ProjectorConfig, vae: MotionVAE, text_encoder: TextEncoder, latent_scale: float,
                 lr: float = 1e-4, seed: int = 0, use_align: bool = True, use_rec: bool = True,
                 use_var: bool = True, denoiser: LatentDenoiser | None = None, denoising=None) -> None:
        super().__init__(vae, text_encoder, latent_scale, lr, seed)
        self.projector = LatentProjector(config)
        self.switches = dict(use_align=use_align, use_rec=use_rec, use_var=use_var)
        if (denoiser is None) != (denoising is None):
            raise ValueError("a denoising realigner needs both the denoiser and its DenoisingInputs")
        # Kept out of the module tree like the text encoder: frozen, never checkpointed.
        self._denoiser = [denoiser.eval().requires_grad_(False)] if denoiser is not None else []
        self.denoising = denoising

    def trainable(self) -> torch.nn.Module:
        return self.projector

    def losses(self, batch: dict, generator: torch.Generator) -> dict[str, torch.Tensor]:
        latent = self.latents(batch, generator)
        text = self.text_embeddings(batch["captions"])
        source = None
        if self.denoising is not None:
            denoiser = self._denoiser[0].to(self.device)
            source = self.denoising.estimate(denoiser, latent, text, self.empty_embedding(), generator)
        return self.projector.loss(latent, text, source=source, **self.switches)
