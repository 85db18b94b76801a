"""`lead import mld|motionlcm CKPT`: a released checkpoint → a lead model folder."""

from __future__ import annotations

import argparse

FORMATS = {
    "mld": ("an MLD checkpoint (Chen et al., CVPR 2023) → denoiser/ (DDPM; DDIM and the other samplers)",
            "clip", "a local CLIP ViT-L/14 folder (MLD's text encoder)"),
    "motionlcm": ("a MotionLCM checkpoint (Dai et al., ECCV 2024) → lcm/ (1-4 steps with --sampler lcm)",
                  "t5", "a local sentence-t5-large folder (MotionLCM's text encoder)"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    for name, (help_text, encoder, encoder_help) in FORMATS.items():
        parser = subparsers.add_parser(
            name, help=help_text, description=help_text, formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=f"example:\n  lead import {name} {name}_humanml.ckpt --data datasets/humanml3d "
                   f"--text-encoder-path deps/{'clip-vit-large-patch14' if encoder == 'clip' else 'sentence-t5-large'}"
                   f" --out models/{name}\n  lead generate \"a person jumps\" --model models/{name}"
                   + (" --sampler lcm --steps 1" if name == "motionlcm" else "")
                   + "\n\nThe checkpoint holds no normalisation statistics: --data is the HumanML3D (or KIT) folder it "
                     "was trained on\n(Mean.npy, Std.npy). LEAD's projector can then be trained on top with "
                     "`lead train projector --out MODEL`.",
        )
        parser.add_argument("checkpoint", help="the Lightning .ckpt file (only load checkpoints you trust)")
        parser.add_argument("--data", required=True, help="the dataset folder the checkpoint was trained on")
        parser.add_argument("--text-encoder", default=encoder, choices=["clip", "t5", "minilm"],
                            help=f"its text encoder backend (default {encoder})")
        parser.add_argument("--text-encoder-path", required=encoder != "minilm", help=encoder_help)
        parser.add_argument("--out", required=True, help="a new model folder")
        parser.set_defaults(func=run, format=name)


def run(args: argparse.Namespace) -> int:
    from lead.models.mld_import import import_checkpoint

    out = import_checkpoint(args.checkpoint, args.data, args.out, args.text_encoder, args.text_encoder_path,
                            expected=args.format)
    component = "lcm" if (out / "lcm").is_dir() else "denoiser"
    print(f"wrote {out} ({component}/, vae/, mean/std; latent scale 1)")
    return 0
