"""`lead eval t2m | tsne | motion | inversion`: the paper's evaluations (Tables 1, 2, 6; Fig. 2 right;
Table 3) and motion quality."""

from __future__ import annotations

import argparse

from lead.commands.options import add_sampling_arguments, apply_decoding_arguments, check_sampling_arguments

T2M_EPILOG = """examples:
  lead eval t2m --data data/bandai-hml --model runs/default --evaluator models/evaluator --out runs/eval
  lead eval t2m ... --replications 5 --mm-texts 20 --mm-generations 12     # a quicker, smaller run
  lead eval t2m ... --no-projector                                        # the MLD row only
  lead eval t2m ... --ablation projector-mlp projector-noalign            # Table 6 rows (MODEL/NAME)
  lead eval t2m ... --resume                                              # continue an interrupted run
  lead eval t2m ... --sampler lcm --steps 1 2 4                           # Table 5: MotionLCM, LEAD (MotionLCM)
  lead eval t2m ... --sampler dpm++ --steps 5 10 20                       # a sampler's quality against steps

Rows: Real (test motions vs their own captions; FID between two independent draws), MLD (projector off),
LEAD (projector on; the same sampled latents), and one per --ablation projector. Replication r uses seed+r.
Writes OUT/t2m.json (every replication's raw values + summary) and OUT/t2m.md; OUT/t2m.partial.json holds
the finished replications while it runs."""

TSNE_EPILOG = """example:
  lead eval tsne --data data/bandai-hml --model runs/default --out runs/eval/tsne.png

Writes the PNG and, beside it, a JSON with the silhouette score and k-NN accuracy of the labels in each space."""


MOTION_EPILOG = """examples:
  lead eval motion --data data/bandai-hml --out runs/eval            # the shipped model, test split
  lead eval motion --data data/bandai-hml --model models/mine --sets real vae --split val
  lead eval motion --data data/bandai-hml --limit 64 --seed 3        # a quick look

Sets: real (the split's clips), vae (their VAE round trip: encode to the mean, decode), mld (generated from
each clip's first caption at its length, projector off) and lead (the same latents through the projector).
Metrics (definitions in lead.evaluation.motion_quality): foot skating (GMD/OmniControl), penetration,
floating, jerk, acceleration, stride on locomotion, root-relative joint speed, wrist range, and caption
checks (named hand, run faster than walk, turn sign, backwards, sideways, kick lift, bow drop).
Writes OUT/motion.json and OUT/motion.md."""


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_t2m(subparsers)
    _register_tsne(subparsers)
    _register_motion(subparsers)
    from lead.commands.eval_inversion import register_inversion

    register_inversion(subparsers)


def _register_t2m(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "t2m", help="text-to-motion metrics: FID, R-precision, MM-Dist, Diversity, MModality (Table 1)",
        description="The T2M protocol of Guo et al. as MLD and LEAD report it: replications of one generation "
        "per test caption at the ground-truth length, scored by a text-motion evaluator; mean ± 95% interval.",
        epilog=T2M_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, help="HumanML3D-format dataset folder")
    parser.add_argument("--model", help="model folder (default: the model shipped with lead)")
    parser.add_argument("--evaluator", required=True, metavar="DIR",
                        help="evaluator folder (lead train evaluator) or the published finest.tar / checkpoints folder")
    parser.add_argument("--evaluator-meta", metavar="DIR", help="published evaluator: folder with its mean.npy/std.npy")
    parser.add_argument("--glove", metavar="DIR", help="GloVe folder, for an evaluator with GloVe word vectors")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--paths", nargs="+", choices=("mld", "lead"), default=None,
                       help="generated rows (default: mld lead)")
    which.add_argument("--no-projector", action="store_true", help="the MLD row only (same as --paths mld)")
    parser.add_argument("--ablation", nargs="+", action="extend", default=[], metavar="DIR_OR_NAME",
                        help="extra projector rows: a projector folder, or a component of --model (projector-mlp)")
    parser.add_argument("--replications", type=int, default=20, help="replications (default 20, as published)")
    parser.add_argument("--split", default="test", help="split to evaluate (default test)")
    add_sampling_arguments(parser, several_steps=True)
    parser.add_argument("--batch-size", type=int, default=32, help="generation batch (default 32)")
    parser.add_argument("--mm-texts", type=int, default=100, help="MModality texts (default 100; 0 skips it)")
    parser.add_argument("--mm-generations", type=int, default=30, help="generations per MModality text (default 30)")
    parser.add_argument("--mm-pairs", type=int, default=10, help="pairs per MModality text (default 10)")
    parser.add_argument("--mm-replications", type=int, default=None,
                        help="compute MModality in the first N replications only (default: all)")
    parser.add_argument("--diversity-pairs", type=int, default=300, help="Diversity pairs (default 300)")
    parser.add_argument("--min-length", type=int, default=None,
                        help="shortest test motion in frames (default: the evaluator's training minimum, else 40)")
    parser.add_argument("--seed", type=int, default=0, help="replication r uses seed+r (default 0)")
    parser.add_argument("--padding", choices=("t2m", "mld"), default="t2m",
                        help="how generated motions are padded for the evaluator: t2m (default) to 196 frames, as "
                             "the text-to-motion loader pads real ones and as the evaluator was trained; mld to "
                             "the generation batch's longest motion, as MLD's evaluation code (and the LEAD "
                             "paper's numbers) does — use --batch-size 32 to match it")
    parser.add_argument("--out", default="eval", help="output folder (default ./eval)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/t2m.partial.json (or add "
                        "replications to OUT/t2m.json)")
    parser.set_defaults(func=run_t2m)


def _register_tsne(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tsne", help="t-SNE of the VAE latent space beside the realigned space (Fig. 2 right)",
        description="Encode test clips with the VAE (mu) and the projector (E_proj), embed both with t-SNE and "
        "colour by action label (labels.json when present, else the caption's first verb).",
        epilog=TSNE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, help="HumanML3D-format dataset folder")
    parser.add_argument("--model", help="model folder (default: the model shipped with lead)")
    parser.add_argument("--split", default="test", help="split (default test)")
    parser.add_argument("--max-clips", type=int, default=500, help="clips drawn at most (default 500)")
    parser.add_argument("--label", choices=("content", "style"), default="content",
                        help="labels.json field to colour by (default content)")
    parser.add_argument("--min-length", type=int, default=16, help="shortest clip in frames (default 16)")
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="clip draw and t-SNE seed (default 0)")
    parser.add_argument("--projector", default=None, metavar="NAME",
                        help="projector component inside the model folder (or a folder) for the realigned space "
                             "(default: the model's projector/)")
    parser.add_argument("--out", required=True, help="PNG to write (its .json is written beside it)")
    parser.set_defaults(func=run_tsne)


def _register_motion(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "motion", help="motion quality: foot skating, jerk, stride, joint speed, caption checks, vs real clips",
        description="Physical and semantic motion quality of real clips, their VAE round trips and generations "
        "with and without the projector, each metric as mean ± 95% interval.",
        epilog=MOTION_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", required=True, help="HumanML3D-format dataset folder")
    parser.add_argument("--model", help="model folder (default: the model shipped with lead)")
    parser.add_argument("--split", default="test", help="split (default test)")
    parser.add_argument("--sets", nargs="+", choices=("real", "vae", "mld", "lead"),
                        default=["real", "vae", "mld", "lead"],
                        help="which sets to measure (default all four; real is always included)")
    parser.add_argument("--limit", type=int, default=None, help="first N clips of the split only")
    parser.add_argument("--min-length", type=int, default=20, help="shortest clip in frames (default 20)")
    add_sampling_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=32, help="generation batch (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="clip i is generated with seed+i (default 0)")
    parser.add_argument("--evaluator", metavar="DIR", default=None,
                        help="also report each set's FID against the real clips with this T2M evaluator")
    parser.add_argument("--out", default="eval", help="output folder (default ./eval)")
    parser.set_defaults(func=run_motion)


def run_motion(args: argparse.Namespace) -> int:
    from lead.errors import LeadError
    from lead.evaluation.motion_report import MotionEvalSettings, evaluate_motion, write_report
    from lead.pipeline import TextToMotionPipeline

    if args.limit is not None:
        _positive("--limit", args.limit)
    _positive("--min-length", args.min_length, 4)
    _positive("--batch-size", args.batch_size)
    device = check_sampling_arguments(args)
    from lead.commands.options import check_seed
    from lead.io import check_output

    check_seed(args.seed, 10_000_000)  # clip i uses seed + i
    check_output(args.out)
    _existing_folders(data=args.data)
    sets = tuple(dict.fromkeys(["real", *args.sets]))
    pipeline = apply_decoding_arguments(TextToMotionPipeline.from_pretrained(args.model).to(device), args)
    if "lead" in sets and pipeline.projector is None:
        raise LeadError("this model has no projector/ component: leave 'lead' out of --sets")
    settings = MotionEvalSettings(split=args.split, sets=sets, seed=args.seed, guidance=args.guidance,
                                  steps=args.steps, sampler=args.sampler, batch_size=args.batch_size,
                                  min_length=args.min_length, limit=args.limit)
    evaluator = None
    if args.evaluator:
        from lead.evaluation.protocol import load_evaluator

        dataset = "t2m" if pipeline.config.skeleton == "humanml3d" else "kit"
        evaluator, _ = load_evaluator(args.evaluator, None, None, dataset)
    report = evaluate_motion(pipeline, args.data, settings, evaluator)
    json_path, md_path = write_report(report, args.out)
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path}")
    return 0


def _existing_folders(**folders: str) -> None:
    from pathlib import Path

    from lead.errors import LeadError

    for option, folder in folders.items():
        if not Path(folder).is_dir():
            raise LeadError(f"--{option} {folder} is not a folder; give a HumanML3D-format dataset folder")


def _positive(name: str, value: int, minimum: int = 1) -> None:
    from lead.errors import LeadError

    if value < minimum:
        raise LeadError(f"{name} must be at least {minimum}, got {value}")


def run_t2m(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lead.evaluation.protocol import T2MEvalSettings, load_evaluator, resolve_paths
    from lead.evaluation.protocol import run_t2m as run_protocol
    from lead.models.bundle import default_model_path
    from lead.pipeline import TextToMotionPipeline

    for name in ("replications", "batch_size", "mm_pairs", "diversity_pairs", "mm_generations"):
        _positive("--" + name.replace("_", "-"), getattr(args, name))
    _positive("--mm-texts", args.mm_texts, 0)
    if args.mm_replications is not None:
        _positive("--mm-replications", args.mm_replications)
    if args.min_length is not None:
        _positive("--min-length", args.min_length)
    device = check_sampling_arguments(args)
    from lead.commands.options import MAX_SEED
    from lead.errors import LeadError
    from lead.evaluation.protocol import _STREAM
    from lead.io import check_output

    # replication r draws noise seeds ((seed + r) * 2 + stream) * _STREAM + clip: all must stay valid
    highest = (MAX_SEED - 2 * _STREAM) // (2 * _STREAM) - args.replications
    if not 0 <= args.seed <= highest:
        raise LeadError(f"--seed must be in 0..{highest} (noise seeds are derived from it per replication), "
                        f"got {args.seed}")
    check_output(args.out)
    _existing_folders(data=args.data)
    settings = T2MEvalSettings(
        replications=args.replications, split=args.split, guidance=args.guidance,
        steps=args.steps[0] if len(args.steps) == 1 else tuple(args.steps), sampler=args.sampler,
        batch_size=args.batch_size, mm_texts=args.mm_texts, mm_generations=args.mm_generations,
        mm_pairs=args.mm_pairs, mm_replications=args.mm_replications, diversity_pairs=args.diversity_pairs,
        min_length=args.min_length, seed=args.seed, padding=args.padding,
    )
    model_dir = Path(args.model) if args.model else default_model_path()
    from lead.models.bundle import read_bundle_config

    # the evaluator first (a broken one is found in a second, not after the model has loaded)
    dataset = "t2m" if read_bundle_config(model_dir).skeleton == "humanml3d" else "kit"
    evaluator, info = load_evaluator(args.evaluator, args.evaluator_meta, args.glove, dataset)
    pipeline = apply_decoding_arguments(TextToMotionPipeline.from_pretrained(model_dir).to(device), args)
    from dataclasses import replace

    settings = replace(settings, guidance=args.guidance)  # the model's when --guidance was not given
    paths = ["mld"] if args.no_projector else (args.paths or ["mld", "lead"])
    rows = resolve_paths(pipeline, model_dir, list(dict.fromkeys(paths)), args.ablation, args.steps, args.sampler)
    report = run_protocol(pipeline, evaluator, info, args.data, args.out, rows, settings, resume=args.resume)
    out = Path(args.out)
    print((out / "t2m.md").read_text(encoding="utf-8"))
    print(f"wrote {out / 't2m.json'} and {out / 't2m.md'} ({len(report['replications'])} replications)")
    return 0


def run_tsne(args: argparse.Namespace) -> int:
    import json
    import math

    from lead.errors import LeadError
    from lead.evaluation.tsne import run_tsne as make_figure
    from lead.io import check_output
    from lead.pipeline import TextToMotionPipeline

    _positive("--max-clips", args.max_clips, 5)
    _positive("--min-length", args.min_length)
    if not (math.isfinite(args.perplexity) and args.perplexity > 0):
        raise LeadError(f"--perplexity must be a finite number > 0 (t-SNE's usual range is 5..50; it is capped at "
                        f"(clips - 1) / 3), got {args.perplexity}")
    if not args.out.lower().endswith(".png"):
        raise LeadError(f"--out {args.out}: give the name of a .png figure")
    check_output(args.out, "file")
    _existing_folders(data=args.data)
    if not 0 <= args.seed < 2**32:  # scikit-learn's random_state range
        raise LeadError(f"--seed must be in 0..{2**32 - 1}, got {args.seed}")
    pipeline = TextToMotionPipeline.from_pretrained(args.model)
    projector = None
    if args.projector is not None:
        from pathlib import Path

        from lead.models.projector import LatentProjector

        folder = Path(args.projector)
        folder = folder if (folder / "config.json").is_file() else Path(pipeline.identity["path"]) / args.projector
        if not (folder / "config.json").is_file():
            raise LeadError(f"--projector {args.projector}: no projector folder there or in the model folder")
        projector = LatentProjector.load(folder).eval()
    summary = make_figure(pipeline, args.data, args.out, args.split, args.max_clips, args.label,
                          args.min_length, args.seed, args.perplexity, projector)
    print(json.dumps({"clips": summary["clips"], "labels": summary["labels"],
                      "majority_rate": round(summary["majority_rate"], 3), "spaces": summary["spaces"],
                      "caption_retrieval": summary["caption_retrieval"]}, indent=2))
    print(f"wrote {args.out} and {summary['png'][:-4]}.json")
    return 0
