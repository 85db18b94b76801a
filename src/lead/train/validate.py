"""Checks of `lead train` options before anything loads: each bad value is one line naming the option,
what it got and what it accepts (Lightning's own errors are tracebacks)."""

from __future__ import annotations

import math
import re
from pathlib import Path

from lead.errors import LeadError

PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", "64")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
MAX_TIME = re.compile(r"^\d{1,2}:\d{1,2}:\d{1,2}:\d{1,2}$")


def check_train_settings(settings) -> None:
    if settings.batch_size < 1:
        raise LeadError(f"--batch-size must be at least 1, got {settings.batch_size}")
    if not math.isfinite(settings.lr) or settings.lr <= 0:
        raise LeadError(f"--lr must be a positive finite number, got {settings.lr}")
    if settings.max_steps < -1 or settings.max_steps == 0:
        raise LeadError(f"--max-steps must be a positive number of steps (or -1: no limit), got {settings.max_steps}")
    if settings.max_epochs < -1 or settings.max_epochs == 0:
        raise LeadError(f"--max-epochs must be positive (or -1: no limit), got {settings.max_epochs}")
    if not 0 <= settings.seed <= 2**32 - 2:  # Lightning/numpy's seed range; the loader's generator uses seed + 1
        raise LeadError(f"--seed must be in 0..{2**32 - 2}, got {settings.seed}")
    if settings.max_time is not None and not MAX_TIME.match(settings.max_time):
        raise LeadError(f"--max-time must be DD:HH:MM:SS (e.g. 00:01:30:00 for 90 minutes), got {settings.max_time!r}")
    for name in ("checkpoint_every", "val_every", "log_every", "num_nodes"):
        if getattr(settings, name) < 1:
            raise LeadError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(settings, name)}")
    if settings.workers < 0:
        raise LeadError(f"--workers must be 0 (load in the main process) or more, got {settings.workers}")
    if settings.precision not in PRECISIONS:
        raise LeadError(f"--precision {settings.precision!r}: choose one of {', '.join(PRECISIONS)}")
    if settings.accelerator not in ACCELERATORS:
        raise LeadError(f"--accelerator {settings.accelerator!r}: choose one of {', '.join(ACCELERATORS)}")
    _check_devices(settings)
    if settings.min_length < 1 or settings.max_length < settings.min_length:
        raise LeadError(f"--min-length {settings.min_length} / --max-length {settings.max_length}: need "
                        "1 <= min <= max")
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise LeadError(f"--out {out} is a file; give a model folder")
    from lead.io import check_output

    check_output(out)


MAX_BATCH = 1 << 20  # far past any real batch; larger values overflow torch's samplers


def _finite(option: str, value: float | None, low: float = 0.0, high: float = math.inf, low_open: bool = False,
            high_open: bool = False) -> None:
    """`value` (None: not given) must be finite and in the interval; the message names the option and the range."""
    if value is None:
        return
    inside = math.isfinite(value) and (value > low if low_open else value >= low) and (
        value < high if high_open else value <= high)
    if not inside:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        top = "inf" if math.isinf(high) else f"{high:g}"
        raise LeadError(f"{option} must be a finite number in {left}{low:g}, {top}{right}, got {value}")


def _at_least(option: str, value: int | None, low: int = 1, high: int | None = None) -> None:
    if value is not None and (value < low or (high is not None and value > high)):
        span = f"in {low}..{high}" if high is not None else f"at least {low}"
        raise LeadError(f"{option} must be {span}, got {value}")


def parse_boosts(items: tuple[str, ...], field: str | None, entries=None) -> dict[str, tuple[dict[str, str], float]]:
    """`--balance-boost KEY=FACTOR` values -> {KEY: (conditions, factor)}.

    KEY is a label of the --balance field (`walk-back`: conditions {field: "walk-back"}) or a conjunction of
    FIELD:VALUE pairs joined by commas (`content:walk-back,style:sad`: clips with both labels). With `entries`
    (the train clips' label dicts from labels.json), each key must match at least one of them.
    """
    if items and not field:
        raise LeadError("--balance-boost needs --balance FIELD (e.g. --balance content --balance-boost walk-back=4)")
    boost: dict[str, tuple[dict[str, str], float]] = {}
    for item in items:
        key, sep, factor = item.rpartition("=")
        try:
            value = float(factor)
        except ValueError:
            value = math.nan
        if not sep or not key or not math.isfinite(value) or value <= 0:
            raise LeadError(f"--balance-boost {item!r}: expected LABEL=FACTOR with a factor > 0, e.g. walk-back=4 "
                            "or content:walk-back,style:sad=4")
        if ":" in key:
            pairs = [part.partition(":") for part in key.split(",")]
            if any(not name or not sep2 or not label for name, sep2, label in pairs):
                raise LeadError(f"--balance-boost {item!r}: expected FIELD:VALUE pairs joined by commas before '=', "
                                "e.g. content:walk-back,style:sad=4")
            conditions = {name: label for name, _, label in pairs}
        else:
            conditions = {field: key}
        if entries is not None:
            _check_boost_matches(item, conditions, entries)
        boost[key] = (conditions, value)
    return boost


def boost_matches(conditions: dict[str, str], entry: dict) -> bool:
    """Whether a clip's labels (one labels.json entry) have every FIELD:VALUE of a --balance-boost key."""
    return all(str(entry.get(name)) == label for name, label in conditions.items())


def _check_boost_matches(item: str, conditions: dict[str, str], entries) -> None:
    if any(boost_matches(conditions, entry) for entry in entries):
        return
    for name, label in conditions.items():
        names = sorted({str(entry[name]) for entry in entries if name in entry})
        if not names:
            raise LeadError(f"--balance-boost {item!r}: no train clip has a {name!r} label in labels.json")
        if label not in names:
            known = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise LeadError(f"--balance-boost {item!r}: no train clip has {name} {label!r} (labels: {known})")
    wanted = " and ".join(f"{name} {label!r}" for name, label in conditions.items())
    raise LeadError(f"--balance-boost {item!r}: no train clip has {wanted} together")


def check_stage_options(args) -> None:
    """The stage-specific numbers of `lead train vae|denoiser|projector|lcm` (architecture and loss overrides,
    distillation settings), before anything loads: each bad value is one line naming the option."""
    _at_least("--batch-size", args.batch_size, 1, MAX_BATCH)
    _finite("--balance-power", args.balance_power)
    parse_boosts(tuple(args.balance_boost or ()), args.balance)
    get = lambda name: getattr(args, name, None)  # noqa: E731 - each stage has its own options
    _at_least("--latent-size", get("latent_size"))
    _at_least("--frames-per-token", get("frames_per_token"), 1, args.max_length)
    for option in ("kl_weight", "velocity_weight", "acceleration_weight"):
        _finite("--" + option.replace("_", "-"), get(option))
    _finite("--dropout", get("dropout"), 0.0, 1.0, high_open=True)
    _finite("--logvar-bias", get("logvar_bias"), -math.inf)
    if args.stage == "lcm":
        _finite("--w-min", args.w_min)
        _finite("--w-max", args.w_max)
        _finite("--huber-c", args.huber_c, low_open=True)
        _at_least("--guidance-embedding-dim", get("guidance_embedding_dim"))
    if args.stage == "projector":
        _at_least("--denoise-max-t", get("denoise_max_t"), 1, 981)
        _finite("--denoise-guidance", get("denoise_guidance"))
        _finite("--denoise-fraction", get("denoise_fraction"), 0.0, 1.0, low_open=True)


def _check_devices(settings) -> None:
    import torch

    gpu = settings.accelerator in ("gpu", "cuda")
    if gpu and not torch.cuda.is_available():
        raise LeadError(f"--accelerator {settings.accelerator}: no CUDA GPU is visible to this torch build; "
                        "use --accelerator cpu (or auto)")
    if settings.devices == "auto":
        return
    try:
        count = int(settings.devices)
    except ValueError:
        raise LeadError(f"--devices must be a number or 'auto', got {settings.devices!r}") from None
    if count < 1:
        raise LeadError(f"--devices must be at least 1, got {count}")
    on_gpu = gpu or (settings.accelerator == "auto" and torch.cuda.is_available())
    ddp = settings.strategy.startswith("ddp")
    if on_gpu:
        available, where = torch.cuda.device_count(), "CUDA GPUs"
    elif ddp:
        available, where = torch.multiprocessing.cpu_count(), "CPU cores for ddp"
    else:
        available, where = 1, "device without --strategy ddp on CPU"
    if count > available:
        raise LeadError(f"--devices {count}: this machine has {available} {where}")


def check_stage_target(out: Path, component: str, resume: bool, overwrite: bool) -> None:
    """Refuse to train `component` into a folder that already holds it, unless --resume or --overwrite."""
    if (out / component / "model.safetensors").is_file() and not (resume or overwrite):
        raise LeadError(f"{out / component} already holds a trained {component}: pass --resume to continue its run, "
                        "--overwrite to replace it, or choose another --out")
