"""Options shared by the commands that generate (generate, eval): one definition, defaults from
`lead.defaults`."""

from __future__ import annotations

import argparse

from lead import defaults


def add_sampling_arguments(parser: argparse.ArgumentParser, several_steps: bool = False) -> None:
    parser.add_argument("--guidance", type=float, default=None,
                        help="classifier-free guidance (default: the model's `guidance` in its config.json — 4 for "
                             f"the shipped model, MLD's {defaults.GUIDANCE} for others; {defaults.GUIDANCE} with "
                             "--sampler lcm)")
    parser.add_argument("--sampler", choices=defaults.SAMPLERS, default=defaults.SAMPLER,
                        help=f"diffusion sampler (default {defaults.SAMPLER}, MLD's; dpm++ and unipc need fewer steps)")
    if several_steps:
        parser.add_argument("--steps", type=int, nargs="+", default=[defaults.STEPS],
                            help=f"sampler steps (default {defaults.STEPS}); several (e.g. --sampler lcm "
                                 "--steps 1 2 4) give every row once per step count")
    else:
        parser.add_argument("--steps", type=int, default=defaults.STEPS,
                            help=f"sampler steps (default {defaults.STEPS})")
    parser.add_argument("--foot-cleanup", type=float, default=None, metavar="STRENGTH",
                        help="pin the feet the model puts in contact by correcting the root's path, 0 (off) to 1 "
                             "(default: the model's; see lead.motion.contacts)")
    parser.add_argument("--device", default=defaults.DEVICE, metavar="{auto,cpu,cuda,cuda:N}",
                        help=f"where the networks run (default {defaults.DEVICE})")


def check_sampling_arguments(args: argparse.Namespace):
    """Validate --guidance/--sampler/--steps/--device before any model loads; → the device name ('cpu', 'cuda:0').
    Imports neither torch nor diffusers for the CPU, so a refusal costs no model or library load."""
    import math

    from lead.diffusion.schedules import check_steps
    from lead.errors import LeadError

    for steps in args.steps if isinstance(args.steps, list) else [args.steps]:
        check_steps(args.sampler, steps, "--steps")
    if args.guidance is not None and (not math.isfinite(args.guidance) or args.guidance < 0):
        raise LeadError(f"--guidance must be a finite number >= 0, got {args.guidance}")
    if args.foot_cleanup is not None:
        defaults.check_foot_cleanup(args.foot_cleanup, "--foot-cleanup")
    return defaults.check_device(args.device)


def apply_decoding_arguments(pipeline, args: argparse.Namespace):
    """--foot-cleanup given: it replaces the model's setting for this run (generate, eval); --guidance not
    given: the model's (`TextToMotionPipeline.resolve_guidance`), so reports and manifests name the value."""
    if getattr(args, "foot_cleanup", None) is not None:
        pipeline.config.foot_cleanup = args.foot_cleanup
    if hasattr(args, "guidance"):
        args.guidance = pipeline.resolve_guidance(args.guidance, getattr(args, "sampler", "ddim"))
    return pipeline


MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed's range


def check_seed(seed: int, count: int = 1, option: str = "--seed") -> None:
    """`seed` .. `seed + count - 1` must all be valid generator seeds (item i uses seed + i)."""
    from lead.errors import LeadError

    if not 0 <= seed <= MAX_SEED - count:
        raise LeadError(f"{option} must be in 0..{MAX_SEED - count}, got {seed}")


def check_number(option: str, value: float, minimum: float = 0.0, inclusive: bool = False) -> None:
    """A finite number above `minimum` (or equal to it where `inclusive`)."""
    import math

    from lead.errors import LeadError

    if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
        bound = ">=" if inclusive else ">"
        raise LeadError(f"{option} must be a finite number {bound} {minimum:g}, got {value}")
