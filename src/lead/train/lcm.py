"""Latent consistency distillation (MotionLCM, after LCM; paper Section 5.4): a student denoiser with a
guidance-scale input learns to map any point of the teacher's guided PF-ODE trajectory to its start.

One step, for a batch of clean latents z0 (posterior samples of the frozen VAE, in z):
  - n ~ U{0..N−1} on the DDIM grid of N timesteps (skip k = 1000/N): t = grid[n], s = t − k (≥ 0);
    w ~ U[w_min, w_max]; z_t = add_noise(z0, ε, t).
  - Teacher, one DDIM step from t to s with CFG in LCM's form (x̂0 = x̂0_c + w·(x̂0_c − x̂0_u), the
    same for ε̂): ẑ_s = √ᾱ_s·x̂0 + √(1−ᾱ_s)·ε̂.
  - Student at (z_t, t, c, w) and the EMA target at (ẑ_s, s, c, w) each give x̂0; with the boundary
    scalings c_skip(t) = σ²/((10t)²+σ²), c_out(t) = 10t/√((10t)²+σ²), σ = 0.5 (so f(z, 0) = z):
    f = c_skip·z + c_out·x̂0.
  - Loss: pseudo-Huber √((f_student − f_target)² + c²) − c; after each step the target is an EMA
    (decay 0.95) of the student.
The student starts as a copy of the teacher (its guidance-embedding projection at zero).
"""

from __future__ import annotations

import copy

import torch

from lead.diffusion import add_noise, alpha_bar, predict_epsilon, predict_x0
from lead.models.denoiser import LatentDenoiser
from lead.models.text import TextEncoder
from lead.models.vae import MotionVAE
from lead.train.stages import _Conditioned


def boundary_scalings(timesteps: torch.Tensor, sigma_data: float = 0.5, timestep_scaling: float = 10.0):
    """(c_skip, c_out) `[B]` of LCM's consistency parameterisation (diffusers' LCMScheduler uses the same)."""
    scaled = timesteps.float() * timestep_scaling
    c_skip = sigma_data**2 / (scaled**2 + sigma_data**2)
    c_out = scaled / (scaled**2 + sigma_data**2) ** 0.5
    return c_skip, c_out


def _expand(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return x.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


class LCMStage(_Conditioned):
    def __init__(self, teacher: LatentDenoiser, student: LatentDenoiser, vae: MotionVAE, text_encoder: TextEncoder,
                 latent_scale: float, lr: float = 2e-4, seed: int = 0, w_min: float = 5.0, w_max: float = 15.0,
                 ddim_timesteps: int = 50, ema_decay: float = 0.95, huber_c: float = 0.001) -> None:
        super().__init__(vae, text_encoder, latent_scale, lr, seed)
        if not 0 < ddim_timesteps <= 1000 or 1000 % ddim_timesteps:
            raise ValueError(f"ddim_timesteps must divide 1000, got {ddim_timesteps}")
        self.teacher = teacher.eval().requires_grad_(False)
        self.student = student
        self.target = copy.deepcopy(student).eval().requires_grad_(False)
        self.w_min, self.w_max, self.ema_decay, self.huber_c = w_min, w_max, ema_decay, huber_c
        self.skip = 1000 // ddim_timesteps
        self.register_buffer("grid", torch.arange(1, ddim_timesteps + 1) * self.skip - 1, persistent=False)

    def trainable(self) -> torch.nn.Module:
        return self.student

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        self.target.eval()
        return self

    def _consistency(self, network: LatentDenoiser, z: torch.Tensor, t: torch.Tensor, condition: torch.Tensor,
                     w: torch.Tensor) -> torch.Tensor:
        output = network(z, t, condition, guidance=w)
        x0 = predict_x0(z, output, t, network.config.prediction_type)
        c_skip, c_out = boundary_scalings(t)
        return _expand(c_skip, z) * z + _expand(c_out, z) * x0

    @torch.no_grad()
    def _teacher_step(self, z_t: torch.Tensor, t: torch.Tensor, s: torch.Tensor, condition: torch.Tensor,
                      empty: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        prediction = self.teacher.config.prediction_type
        pair, steps = torch.cat([z_t, z_t]), torch.cat([t, t])  # conditional and empty-text rows in one pass
        output = self.teacher(pair, steps, torch.cat([condition, empty]))
        x0 = predict_x0(pair, output, steps, prediction)
        eps = predict_epsilon(pair, output, steps, prediction)
        (x0_c, x0_u), (eps_c, eps_u) = x0.chunk(2), eps.chunk(2)
        weight = _expand(w, z_t)
        x0 = x0_c + weight * (x0_c - x0_u)
        eps = eps_c + weight * (eps_c - eps_u)
        a_s = alpha_bar(s, z_t)
        return a_s.sqrt() * x0 + (1 - a_s).sqrt() * eps

    def losses(self, batch: dict, generator: torch.Generator) -> dict[str, torch.Tensor]:
        z0 = self.latents(batch, generator)
        size, device = z0.shape[0], z0.device
        index = torch.randint(0, len(self.grid), (size,), generator=generator, device=device)
        t = self.grid[index]
        s = (t - self.skip).clamp(min=0)
        w = torch.rand(size, generator=generator, device=device) * (self.w_max - self.w_min) + self.w_min
        noise = torch.randn(z0.shape, generator=generator, device=device)
        z_t = add_noise(z0, noise, t)
        condition = self.text_embeddings(batch["captions"])
        empty = self.empty_embedding().expand_as(condition)
        prediction = self._consistency(self.student, z_t, t, condition, w)
        z_s = self._teacher_step(z_t, t, s, condition, empty, w)
        with torch.no_grad():
            target = self._consistency(self.target, z_s, s, condition, w)
        c = self.huber_c
        loss = (torch.sqrt((prediction.float() - target.float()) ** 2 + c**2) - c).mean()
        return {"loss": loss}

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        with torch.no_grad():
            for target, source in zip(self.target.parameters(), self.student.parameters()):
                target.mul_(self.ema_decay).add_(source.detach(), alpha=1 - self.ema_decay)
