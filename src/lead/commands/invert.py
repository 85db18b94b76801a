"""`lead invert MOTION ... --token "<elderly>"`: motion textual inversion (learn a word from motions)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from lead.errors import LeadError

# Keep in step with lead.inversion.optimize (not imported here: `lead --help` must not load torch).
DEFAULT_STEPS = 200
DEFAULT_LR = 5e-3
DEFAULT_BATCH_SIZE = 4
EVAL_DRAWS = 64
MAX_STEPS = 1_000_000  # far past any useful run (the paper uses 20)
MAX_BATCH_SIZE = 4096

EPILOG = f"""examples:
  lead invert old_walk_1.bvh old_walk_2.bvh --token "<elderly>" --init-word old --out elderly.safetensors
  lead invert clip.npy --token "<zombie>" --init-word walks --objective mld --steps 400
  lead generate "a person <elderly> walks forward" --concept elderly.safetensors

Examples are HumanML3D feature files (.npy, [T, 263]), joint files (.npy, [T, 22, 3], metres, Y up,
20 fps) or BVH takes (retargeted to the SMPL 22-joint skeleton; --map picks the joint map).
Everything in the model stays frozen; only the new word's input embedding is learned, with Adam on
batches of random crops (multiples of 4 frames, at least 40 or the whole clip) and template prompts
("the man <*>", "someone <*>", "a robot <*>", ...).

objectives:
  lead  paper Eq. 9: match the denoised latent in the projector's realigned space (needs projector/)
  mld   match the noise (image textual inversion's loss, in the VAE latent space)
  feat  match the decoded motion features

defaults: {DEFAULT_STEPS} steps at lr {DEFAULT_LR}, batch {DEFAULT_BATCH_SIZE}. The paper uses 20 steps; on the small
Bandai-Namco default model (3 "walk, elderly" clips, objective on fixed held-out draws) lr 5e-3 lowers
the lead objective 0.247 -> 0.114 after 20 steps, 0.085 after 100 and 0.081 after 200 (mld 0.310 ->
0.259, feat 0.348 -> 0.023 after 200). lr 2e-2 converges a little faster but drives the word far from
any real word embedding; 2e-3 is still improving at 200. Details: the lead.inversion module docstring.
After learning, the objective on {EVAL_DRAWS} fixed held-out draws is printed for the init word and for
the learned word."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "invert", help="learn a new word (e.g. <elderly>) from example motions (motion textual inversion)",
        description="Motion textual inversion: learn the embedding of a new placeholder word from a few "
        "example motions, for use in `lead generate --concept`.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("motions", metavar="MOTION", nargs="+", help="example motions: .npy features/joints or .bvh")
    parser.add_argument("--token", required=True, help='the new word, one piece without spaces, e.g. "<elderly>"')
    parser.add_argument("--init-word", required=True, metavar="WORD",
                        help="an existing word close to the concept; the new word starts from its embedding")
    parser.add_argument("--objective", choices=("lead", "mld", "feat"), default="lead",
                        help="what the word is fitted on (default lead, the paper's)")
    parser.add_argument("--out", help="concept file to write (default: the token's name + .safetensors)")
    parser.add_argument("--model", help="model folder (default: the small model shipped with lead)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                        help=f"optimisation steps (default {DEFAULT_STEPS})")
    parser.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"Adam learning rate (default {DEFAULT_LR})")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"crops per step (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--seed", type=int, default=0, help="random seed for crops, noise and prompts (default 0)")
    parser.add_argument("--map", default="auto", choices=("auto", "bandai", "cmu"),
                        help="joint map for BVH examples (default auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def default_output(token: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_-]+", "", token) or "concept"
    return Path(f"{name}.safetensors")


def run(args: argparse.Namespace) -> int:
    from lead.text_check import check_characters

    check_characters(args.token, "--token")
    check_characters(args.init_word, "--init-word")
    out = Path(args.out) if args.out else default_output(args.token)
    if out.is_dir():
        raise LeadError(f"--out {out} is a folder; give a file name such as {default_output(args.token)}")
    from lead.commands.options import check_number, check_seed
    from lead.io import check_output

    check_number("--lr", args.lr)
    check_seed(args.seed)
    for option, highest in (("steps", MAX_STEPS), ("batch_size", MAX_BATCH_SIZE)):
        if not 1 <= getattr(args, option) <= highest:
            raise LeadError(f"--{option.replace('_', '-')} must be in 1..{highest}, got {getattr(args, option)}")
    if not args.init_word.strip():
        raise LeadError("--init-word is empty: give an existing word close to the concept, e.g. --init-word old")
    check_output(out, "file")

    from tqdm import tqdm

    from lead.inversion import MotionInversion, load_examples, save_concept
    from lead.inversion import invert as invert_concept
    from lead.pipeline import TextToMotionPipeline

    pipeline = TextToMotionPipeline.from_pretrained(args.model)
    if args.objective == "lead" and pipeline.projector is None:
        MotionInversion(pipeline, [], args.token, args.init_word, args.objective)  # raises the clear error
    examples = load_examples(args.motions, pipeline.config.skeleton, args.map)
    recent: list[float] = []
    with tqdm(total=args.steps, desc=f"learning {args.token}", unit="step", disable=args.quiet) as bar:
        def progress(step: int, loss: float) -> None:
            recent.append(loss)
            bar.update(1)
            # Single-step losses swing with the random timestep; show a running mean.
            bar.set_postfix(loss=f"{sum(recent[-20:]) / len(recent[-20:]):.4f}")

        concept = invert_concept(
            pipeline, examples, args.token, args.init_word, args.objective, args.steps, args.lr,
            args.batch_size, args.seed, progress,
        )
    save_concept(out, concept)
    before, after = concept.objective_before, concept.objective_after
    print(f"learned {args.token} from {len(examples)} example(s) ({args.objective}, {args.steps} steps): "
          f"objective on {EVAL_DRAWS} fixed held-out draws {before:.4f} (init word) -> {after:.4f} "
          f"({100 * (after - before) / before:+.1f}%)")
    print(f"wrote {out}; use it with: lead generate \"a person {args.token} walks\" --concept {out}")
    return 0
