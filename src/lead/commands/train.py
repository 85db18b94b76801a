"""`lead train vae|denoiser|projector`: the three LEAD stages on a HumanML3D-format folder."""

from __future__ import annotations

import argparse

STAGES = {
    "vae": "stage 1: the motion VAE (feature MSE + KL)",
    "denoiser": "stage 2: the latent denoiser (DDPM, classifier-free guidance dropout); needs OUT/vae",
    "projector": "stage 3: LEAD's realignment projector (align + rec + var losses); needs OUT/vae and OUT/denoiser",
    "lcm": "MotionLCM: distil OUT/denoiser into a 1-4-step consistency model OUT/lcm (then --sampler lcm)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    from lead.train.arguments import add_trainer_arguments

    for stage, help_text in STAGES.items():
        parser = subparsers.add_parser(
            stage, help=help_text, description=help_text,
            epilog=f"Example: lead train {stage} --data data/humanml3d --preset small --out models/mine "
                   "--max-time 00:01:00:00",
        )
        parser.add_argument("--data", required=True, help="HumanML3D-format dataset folder")
        parser.add_argument("--out", required=True, help="model folder (components are written inside it)")
        parser.add_argument("--preset", default="small", choices=["tiny", "small", "mld"],
                            help="model size: mld = the paper's size, small = CPU-trainable (default)")
        if stage == "vae":
            group = parser.add_argument_group("VAE architecture and loss (override the preset)")
            group.add_argument("--latent-size", type=int, default=None,
                               help="latent tokens (MLD: 1; the temporal layout derives it from the frames per token)")
            group.add_argument("--position-init", choices=["uniform", "sinusoidal"], default=None,
                               help="start of the learned positional tables (MLD: uniform)")
            group.add_argument("--velocity-weight", type=float, default=None,
                               help="weight of the frame-difference MSE (MLD: 0)")
            group.add_argument("--acceleration-weight", type=float, default=None,
                               help="weight of the second-difference MSE (MLD: 0)")
            group.add_argument("--kl-weight", type=float, default=None, help="KL weight (MLD: 1e-4)")
            group.add_argument("--dropout", type=float, default=None, help="dropout (MLD: 0.1)")
            group.add_argument("--frames-per-token", type=int, default=None,
                               help="consecutive frames per transformer token (MLD: 1; 4 makes steps ~4x cheaper)")
            group.add_argument("--output-window", choices=["patch", "overlap"], default=None,
                               help="with --frames-per-token > 1: overlap blends neighbouring tokens' frames "
                                    "(smooth), patch does not")
            group.add_argument("--layout", choices=["global", "temporal"], default=None,
                               help="global: MLD's latent tokens; temporal (the small preset): token k holds "
                                    "frames [k*p, (k+1)*p) with p = --frames-per-token")
            group.add_argument("--logvar-bias", type=float, default=None,
                               help="constant added to the encoder's log-variance (MLD: 0; -6 starts the "
                                    "posterior at std 0.05 so the decoder can read the latent early)")
        if stage == "lcm":
            group = parser.add_argument_group("latent consistency distillation (MotionLCM's recipe)")
            group.add_argument("--teacher", default=None, metavar="DIR",
                               help="the teacher denoiser folder (default OUT/denoiser)")
            group.add_argument("--w-min", type=float, default=5.0, help="smallest guidance weight drawn (5)")
            group.add_argument("--w-max", type=float, default=15.0, help="largest guidance weight drawn (15)")
            group.add_argument("--ddim-timesteps", type=int, default=50,
                               help="the teacher's DDIM grid; skip interval 1000/N (default 50)")
            group.add_argument("--ema-decay", type=float, default=0.95, help="target network EMA (0.95)")
            group.add_argument("--huber-c", type=float, default=0.001, help="pseudo-Huber constant (0.001)")
            group.add_argument("--guidance-embedding-dim", type=int, default=256,
                               help="width of the guidance-scale embedding (MotionLCM: 256)")
        if stage == "denoiser":
            parser.add_argument("--dropout", type=float, default=None, help="denoiser dropout (MLD: 0.1)")
            parser.add_argument("--prediction-type", choices=["epsilon", "v_prediction", "sample"], default=None,
                                help="what the denoiser learns to output: epsilon (the noise, MLD's default), "
                                     "v_prediction or sample (z0)")
            parser.add_argument("--text-encoder", default="minilm", choices=["minilm", "clip", "t5"],
                                help="minilm (shipped), clip (MLD/LEAD: a local CLIP folder) or t5 (MotionLCM: a "
                                     "local sentence-t5 folder); the folder goes in --text-encoder-path")
            parser.add_argument("--text-encoder-path", default=None,
                                help="local CLIP or sentence-T5 folder (for --text-encoder clip / t5)")
            parser.add_argument("--init-from", default=None, metavar="MODEL",
                                help="fine-tune: start from MODEL/denoiser's weights and architecture (a model "
                                     "folder, e.g. the shipped default: copy it to OUT first so the VAE and its "
                                     "latent scale match) with a fresh optimiser; --preset and "
                                     "--prediction-type are then taken from it")
        if stage == "projector":
            parser.add_argument("--architecture", default="transformer", choices=["transformer", "skip", "mlp"])
            parser.add_argument("--name", default="projector",
                                help="component folder name (e.g. projector-mlp for an ablation)")
            parser.add_argument("--no-align", action="store_true", help="ablation: drop the alignment loss")
            parser.add_argument("--no-rec", action="store_true", help="ablation: drop the reconstruction loss")
            parser.add_argument("--no-kl", action="store_true", help="ablation: drop the batch-distribution KL")
            group = parser.add_argument_group(
                "realigner variants (docs/realignment.md)",
                "e.g. a denoising realigner fine-tuned from the shipped projector: lead train projector --data "
                "bandai-hml --out models/abl --init-from models/abl --denoise-max-t 301 --name projector-denoise")
            group.add_argument("--align-mode", choices=["mean", "token", "attention"], default=None,
                               help="what L_align compares with the caption for a multi-token latent: the mean of "
                                    "the projected tokens (default), every token, or an attention-pooled summary")
            group.add_argument("--rec-reduction", choices=["mean", "sum"], default=None,
                               help="L_rec as a mean over elements (default) or the paper's squared L2 norm (sum)")
            group.add_argument("--init-from", default=None, metavar="MODEL",
                               help="start from MODEL/projector's weights and architecture (a model or projector "
                                    "folder) with a fresh optimiser")
            group.add_argument("--denoise-max-t", type=int, default=None, metavar="T",
                               help="train a denoising realigner: it reads OUT/denoiser's own estimate of each "
                                    "training latent, noised to a level in 1..T (MLD's DDIM grid, at most 981) and "
                                    "sampled back, and reconstructs the true latent")
            group.add_argument("--denoise-guidance", type=float, default=4.0,
                               help="with --denoise-max-t: the guidance scale of those estimates (default 4)")
            group.add_argument("--denoise-fraction", type=float, default=0.75,
                               help="with --denoise-max-t: share of each batch given the estimate, the rest the "
                                    "clean latent (default 0.75)")
        add_trainer_arguments(parser)
        parser.set_defaults(func=run, stage=stage)


def run(args: argparse.Namespace) -> int:
    from lead.train import run as stages
    from lead.train.common import TrainSettings

    settings = TrainSettings.from_args(args)
    from lead.train.validate import check_stage_options, check_stage_target, check_train_settings

    check_stage_options(args)
    check_train_settings(settings)
    component = {"projector": getattr(args, "name", "projector")}.get(args.stage, args.stage)
    import re

    from lead.errors import LeadError

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", component):
        raise LeadError(f"--name {component!r}: a component folder name of letters, digits, '_', '-' or '.' "
                        "(e.g. projector-mlp)")
    check_stage_target(settings.out, component, settings.resume, settings.overwrite)
    if args.stage == "vae":
        names = ("latent_size", "position_init", "velocity_weight", "acceleration_weight", "kl_weight", "dropout",
                 "logvar_bias", "frames_per_token", "output_window", "layout")
        overrides = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
        path = stages.train_vae(settings, overrides)
    elif args.stage == "denoiser":
        overrides = {name: getattr(args, name) for name in ("dropout", "prediction_type")
                     if getattr(args, name) is not None}
        path = stages.train_denoiser(settings, args.text_encoder, args.text_encoder_path, overrides, args.init_from)
    elif args.stage == "lcm":
        path = stages.train_lcm(settings, args.teacher, args.guidance_embedding_dim, args.w_min, args.w_max,
                                args.ddim_timesteps, args.ema_decay, args.huber_c)
    else:
        overrides = {name: getattr(args, name) for name in ("align_mode", "rec_reduction")
                     if getattr(args, name) is not None}
        denoising = None
        if args.denoise_max_t is not None:
            from lead.train.realign import DenoisingInputs

            try:
                denoising = DenoisingInputs(args.denoise_max_t, args.denoise_guidance, args.denoise_fraction)
            except ValueError as error:
                raise LeadError(f"--denoise-*: {error}") from None
        path = stages.train_projector(
            settings, args.architecture, args.name, not args.no_align, not args.no_rec, not args.no_kl,
            overrides, args.init_from, denoising,
        )
    import os

    if os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0":
        print(f"saved {path}")
    return 0
