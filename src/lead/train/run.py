"""What `lead train vae|denoiser|projector` does: build the stage, fit, export the component."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import torch

from lead.errors import LeadError
from lead.models.bundle import BundleConfig, read_bundle_config, write_bundle_config
from lead.models.text import build_text_encoder
from lead.train.common import TrainSettings, fit, make_loaders

SKELETON_BY_DIM = {263: "humanml3d", 251: "kit"}


def _schedule(settings: TrainSettings) -> tuple[str, int]:
    if settings.lr_schedule == "cosine" and settings.max_steps <= 0:
        raise LeadError("--lr-schedule cosine decays to 0 at --max-steps: give --max-steps N")
    if settings.warmup_steps < 0:
        raise LeadError(f"--warmup-steps must be >= 0, got {settings.warmup_steps}")
    return settings.lr_schedule, settings.warmup_steps


def _dataset_normalizer(data: Path):
    from lead.motion.features import Normalizer

    return Normalizer.from_dataset(data)


def _skeleton_of(normalizer) -> str:
    dim = int(normalizer.mean.shape[-1])
    if dim not in SKELETON_BY_DIM:
        raise LeadError(f"Mean.npy has {dim} channels; expected 263 (HumanML3D) or 251 (KIT-ML)")
    return SKELETON_BY_DIM[dim]


def _bundle(settings: TrainSettings) -> BundleConfig:
    if (settings.out / "config.json").is_file():
        return read_bundle_config(settings.out)
    return BundleConfig(dataset=settings.data.name)


def train_vae(settings: TrainSettings, overrides: dict | None = None) -> Path:
    from lead.models.vae import VAEConfig
    from lead.train.stages import VAEStage

    normalizer = _dataset_normalizer(settings.data)
    skeleton = _skeleton_of(normalizer)
    overrides = dict(overrides or {})
    config = VAEConfig.preset(settings.preset, feature_dim=int(normalizer.mean.shape[-1]), **overrides)
    if config.layout == "temporal" and "latent_size" not in overrides:
        config = dataclasses.replace(config, latent_size=-(-config.max_length // config.frames_per_token))
    torch.manual_seed(settings.seed)  # the weights' initialisation follows --seed
    module = VAEStage(config, settings.lr, settings.seed, normalizer, skeleton)
    module.schedule = _schedule(settings)
    train_loader, val_loader = make_loaders(settings, skeleton, normalizer)
    trainer = fit(module, settings, "vae", train_loader, val_loader)
    if trainer.is_global_zero:
        module.vae.save(settings.out / "vae", settings.dtype)
        normalizer.save(settings.out)
        bundle = _bundle(settings)
        bundle.skeleton = skeleton
        bundle.dataset = settings.data.name
        license_file = settings.data / "LICENSE"
        if license_file.is_file():
            shutil.copyfile(license_file, settings.out / "LICENSE")
            bundle.license = f"inherited from the training data {settings.data.name} (see LICENSE)"
        write_bundle_config(settings.out, bundle)
    return settings.out / "vae"


def _frozen_parts(settings: TrainSettings):
    """The trained VAE, its bundle config and the normaliser it was trained with."""
    from lead.models.vae import MotionVAE
    from lead.motion.features import Normalizer

    if not (settings.out / "vae").is_dir():
        raise LeadError(f"{settings.out / 'vae'} not found: train the VAE first (lead train vae --out {settings.out})")
    bundle = read_bundle_config(settings.out)
    vae = MotionVAE.load(settings.out / "vae")
    data_dim = int(_dataset_normalizer(settings.data).mean.shape[-1])
    if data_dim != vae.config.feature_dim:
        raise LeadError(f"{settings.data} has {data_dim}-d features, the VAE {vae.config.feature_dim}-d")
    return bundle, vae, Normalizer.load(settings.out)


@torch.no_grad()
def measure_latent_scale(vae, loader, max_batches: int = 50) -> float:
    """1 / std of the VAE latents over training batches (the LDM scale factor)."""
    latents = []
    generator = torch.Generator().manual_seed(0)
    for index, batch in enumerate(loader):
        if index >= max_batches:
            break
        latent, _, _ = vae.eval().encode(batch["features"], batch["lengths"], generator)
        latents.append(latent.flatten())
    std = torch.cat(latents).std().item()
    return 1.0 / max(std, 1e-6)


def _ddpm_denoiser(folder: Path, vae, what: str, fix: str):
    """A DDPM (not distilled) denoiser from `folder` that works on `vae`'s latents; `what` names it in errors."""
    from lead.models.denoiser import LatentDenoiser

    net = LatentDenoiser.load(folder)
    if net.config.guidance_embedding_dim:
        raise LeadError(f"{what} {folder} is a distilled (lcm) denoiser; give the DDPM denoiser")
    if (net.config.latent_size, net.config.latent_dim) != (vae.config.latent_size, vae.config.latent_dim):
        raise LeadError(f"{what} {folder} works on {net.config.latent_size}x{net.config.latent_dim} latents, the "
                        f"VAE in OUT on {vae.config.latent_size}x{vae.config.latent_dim}: {fix}")
    return net


def _initial_denoiser(init_from: str | Path, vae, encoder, bundle: BundleConfig, overrides: dict):
    """(config, weights) a fine-tune starts from (`--init-from MODEL`), checked against OUT's VAE and text encoder."""
    folder = Path(init_from)
    folder = folder / "denoiser" if (folder / "denoiser" / "config.json").is_file() else folder
    if not (folder / "config.json").is_file():
        raise LeadError(f"--init-from {init_from}: no denoiser there (give a model folder holding denoiser/, or a "
                        "denoiser folder)")
    net = _ddpm_denoiser(folder, vae, "--init-from", "copy the whole model folder to OUT so the VAE matches")
    if net.config.text_dim != encoder.dim:
        raise LeadError(f"--init-from {folder} reads {net.config.text_dim}-d text embeddings, the text encoder "
                        f"gives {encoder.dim}-d: pass the text encoder it was trained with")
    if bundle.latent_scale == 1.0:
        raise LeadError(f"{bundle.dataset}: OUT's config.json has no measured latent scale; for --init-from copy the "
                        "model folder the denoiser comes from to OUT (its VAE and config.json)")
    return dataclasses.replace(net.config, **overrides), net.state_dict()


def train_denoiser(settings: TrainSettings, text_encoder: str, text_encoder_path: str | None,
                   overrides: dict | None = None, init_from: str | Path | None = None) -> Path:
    """Stage 2; with `init_from` a fine-tune of that denoiser on OUT's VAE latents (latent scale kept)."""
    from lead.models.denoiser import DenoiserConfig
    from lead.train.stages import DenoiserStage

    bundle, vae, normalizer = _frozen_parts(settings)
    encoder = build_text_encoder(text_encoder, text_encoder_path)
    weights = None
    if init_from is not None:  # checked before the data is read
        config, weights = _initial_denoiser(init_from, vae, encoder, bundle, overrides or {})
    else:
        config = DenoiserConfig.preset(
            settings.preset, latent_size=vae.config.latent_size, latent_dim=vae.config.latent_dim,
            text_dim=encoder.dim, **(overrides or {}),
        )
    train_loader, val_loader = make_loaders(settings, bundle.skeleton, normalizer)
    if weights is None and (not settings.resume or bundle.latent_scale == 1.0):
        bundle.latent_scale = measure_latent_scale(vae, train_loader)
    bundle.text_encoder, bundle.text_encoder_path = text_encoder, text_encoder_path
    bundle.text_encoder_identity = encoder.identity
    torch.manual_seed(settings.seed)  # the weights' initialisation follows --seed
    module = DenoiserStage(config, vae, encoder, bundle.latent_scale, settings.lr, settings.seed)
    if weights is not None:
        module.denoiser.load_state_dict(weights)
    module.schedule = _schedule(settings)
    trainer = fit(module, settings, "denoiser", train_loader, val_loader)
    if trainer.is_global_zero:
        module.denoiser.save(settings.out / "denoiser", settings.dtype)
        write_bundle_config(settings.out, bundle)
        _write_vocabulary_card(settings, encoder)
    return settings.out / "denoiser"


def _write_vocabulary_card(settings: TrainSettings, encoder) -> None:
    """What the model was trained on, for `lead generate`'s prompt-coverage warning and `lead info`
    (lead.models.vocabulary); only for data with a labels.json. A card that cannot be written is reported, not
    fatal: the trained weights are already saved."""
    import sys

    from lead.models.vocabulary import card_from_dataset, save_card

    def encode(texts: list[str]):
        with torch.no_grad():
            return encoder.encode_pooled(texts).float().cpu().numpy()

    try:
        card = card_from_dataset(settings.data, encode, encoder.identity)
        if card is not None:
            save_card(settings.out, card)
    except LeadError as error:
        print(f"lead: warning: no vocabulary card written ({error})", file=sys.stderr)


def train_projector(
    settings: TrainSettings, architecture: str, name: str, use_align: bool, use_rec: bool, use_var: bool,
    overrides: dict | None = None, init_from: str | Path | None = None, denoising=None,
) -> Path:
    """Stage 3. `overrides`: ProjectorConfig fields (align_mode, rec_reduction); `init_from`: a model or
    projector folder whose weights start the run; `denoising`: a `DenoisingInputs` for a denoising realigner
    (reads OUT/denoiser's estimates of the training latents)."""
    from lead.models.projector import LatentProjector, ProjectorConfig
    from lead.train.stages import ProjectorStage

    bundle, vae, normalizer = _frozen_parts(settings)
    if not bundle.text_encoder_identity:
        raise LeadError(f"{settings.out}: train the denoiser before the projector (it fixes the text encoder)")
    encoder = build_text_encoder(bundle.text_encoder, bundle.text_encoder_path)
    weights = None
    if init_from is not None:
        folder = Path(init_from)
        folder = folder / "projector" if (folder / "projector" / "config.json").is_file() else folder
        if not (folder / "config.json").is_file():
            raise LeadError(f"--init-from {init_from}: no projector there (give a model folder holding projector/, "
                            "or a projector folder)")
        start = LatentProjector.load(folder)
        if (start.config.latent_size, start.config.latent_dim, start.config.text_dim) != (
                vae.config.latent_size, vae.config.latent_dim, encoder.dim):
            raise LeadError(f"--init-from {folder} maps {start.config.latent_size}x{start.config.latent_dim} latents "
                            f"to {start.config.text_dim}-d text; this model needs {vae.config.latent_size}x"
                            f"{vae.config.latent_dim} and {encoder.dim}-d")
        config = dataclasses.replace(start.config, **(overrides or {}))
        weights = start.state_dict()
    else:
        config = ProjectorConfig.preset(
            settings.preset, latent_size=vae.config.latent_size, latent_dim=vae.config.latent_dim,
            text_dim=encoder.dim, architecture=architecture, **(overrides or {}),
        )
    denoiser = None
    if denoising is not None:
        denoiser = _ddpm_denoiser(settings.out / "denoiser", vae, "the denoiser",
                                  "a denoising realigner reads OUT/denoiser: train it on this VAE first")
    torch.manual_seed(settings.seed)  # the weights' initialisation follows --seed
    module = ProjectorStage(config, vae, encoder, bundle.latent_scale, settings.lr, settings.seed,
                            use_align, use_rec, use_var, denoiser, denoising)
    if weights is not None:
        missing, _ = module.projector.load_state_dict(weights, strict=False)  # a new attention pool starts fresh
        if any(not key.startswith("pool_") for key in missing):
            raise LeadError(f"--init-from {init_from}: its weights do not fit this projector ({missing[:3]})")
    module.schedule = _schedule(settings)
    train_loader, val_loader = make_loaders(settings, bundle.skeleton, normalizer)
    trainer = fit(module, settings, name, train_loader, val_loader)
    if trainer.is_global_zero:
        module.projector.save(settings.out / name, settings.dtype)
    return settings.out / name


def train_lcm(settings: TrainSettings, teacher: Path | None = None, guidance_embedding_dim: int = 256,
              w_min: float = 5.0, w_max: float = 15.0, ddim_timesteps: int = 50, ema_decay: float = 0.95,
              huber_c: float = 0.001) -> Path:
    """Distil OUT/denoiser (or `teacher`, a denoiser folder) into OUT/lcm (`lead.train.lcm`)."""
    from lead.models.denoiser import LatentDenoiser
    from lead.train.lcm import LCMStage

    bundle, vae, normalizer = _frozen_parts(settings)
    teacher_dir = Path(teacher) if teacher is not None else settings.out / "denoiser"
    if not (teacher_dir / "config.json").is_file():
        raise LeadError(f"teacher {teacher_dir} not found: train the denoiser first (lead train denoiser --out "
                        f"{settings.out}) or pass --teacher DIR")
    if not w_min <= w_max:
        raise LeadError(f"--w-min {w_min} must not exceed --w-max {w_max}")
    if not 0 <= ema_decay < 1:
        raise LeadError(f"--ema-decay must be in [0, 1), got {ema_decay}")
    if ddim_timesteps < 1 or 1000 % ddim_timesteps:
        raise LeadError(f"--ddim-timesteps must divide 1000 (e.g. 50 as MotionLCM v1, 10 as v2), got {ddim_timesteps}")
    teacher_net = _ddpm_denoiser(teacher_dir, vae, "teacher", "give the teacher trained on this VAE (--teacher DIR)")
    encoder = build_text_encoder(bundle.text_encoder, bundle.text_encoder_path)
    config = dataclasses.replace(teacher_net.config, guidance_embedding_dim=guidance_embedding_dim,
                                 condition_dropout=0.0)
    student = LatentDenoiser(config)
    student.load_state_dict(teacher_net.state_dict(), strict=False)  # all but the new cond_proj (zero)
    module = LCMStage(teacher_net, student, vae, encoder, bundle.latent_scale, settings.lr, settings.seed,
                      w_min, w_max, ddim_timesteps, ema_decay, huber_c)
    module.schedule = _schedule(settings)
    train_loader, val_loader = make_loaders(settings, bundle.skeleton, normalizer)
    trainer = fit(module, settings, "lcm", train_loader, val_loader)
    if trainer.is_global_zero:
        module.student.save(settings.out / "lcm", settings.dtype)
    return settings.out / "lcm"
