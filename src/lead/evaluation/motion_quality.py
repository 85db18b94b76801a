"""Physical and semantic motion quality, measured on joint positions `(T, 22, 3)` (metres, Y up,
20 fps, the HumanML3D/SMPL joint layout; the floor is y = 0 as in the HumanML3D representation).

Per-motion metrics (each reported as a mean over motions with a 95% interval, 1.96·std/√n):

- ``skate_ratio``: foot skating as GMD / OmniControl define it: the fraction of consecutive frame
  pairs in which a toe (joint 10 or 11) is below 5 cm in both frames while its horizontal
  displacement exceeds 2.5 cm per frame (0.5 m/s at 20 fps). ``skate_speed``: the mean
  horizontal speed (m/s) of the toes over those skating pairs (0 when none).
- ``penetration``: mean depth (m) below the floor of the lowest foot joint (ankles and toes),
  counting frames above the floor as 0. ``float_ratio``: the fraction of frames inside runs of
  more than 0.5 s during which every foot joint is above 10 cm.
- ``jerk`` / ``acceleration``: mean norm of the third / second finite difference of the joint
  positions, in m/s³ / m/s² (all joints, all frames).
- ``stride``: the std over time (m) of the front–back separation of the ankles, measured along
  the body's horizontal facing direction (from the hips and shoulders) — a walk alternates its
  feet, a glide does not. Summarised over locomotion motions only (captions that walk, run, dash,
  jog or march).
- ``joint_speed``: mean speed (m/s) of the joints relative to the pelvis (root-relative).
- ``wrist_range``: the larger of the two wrists' height ranges (max − min, m).

Semantic checks from the captions (booleans; the fraction that pass is reported, with its interval):

- ``named_hand``: a caption naming the left (right) hand raises that wrist higher (height range)
  than the other; ``both hands`` captions are not checked.
- ``run_faster``: a run/dash/jog motion's mean horizontal root speed exceeds the median speed of
  the walk motions of the same set.
- ``turn_sign``: "turn(s) left/right" turns the facing direction that way (accumulated signed yaw).
- ``backwards``: a backwards walk travels against the initial facing direction.
- ``backwards_speed`` (m/s): that travel backwards per second (negative: forwards); reported as a
  value, and ``backwards_walk`` checks ≥ ``BACKWARDS_SPEED`` = 0.2 m/s, so that a figure stepping on
  the spot does not pass (the 18 real Bandai-Namco backwards clips: 0.44–1.24 m/s).
- ``sideways``: "walks left/right" (Bandai's sidestep captions) travels to that side.
- ``kick_lift`` (m): how high the named foot (the higher foot if none is named) rises above its
  starting height; reported as a value, and ``kick_30cm`` checks ≥ 0.30 m.
- ``bow_drop`` (m): how far the head drops below its starting height; ``bow_20cm`` checks ≥ 0.20 m.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

FPS = 20
PELVIS, LEFT_HIP, RIGHT_HIP, HEAD = 0, 1, 2, 15
LEFT_ANKLE, RIGHT_ANKLE, LEFT_TOE, RIGHT_TOE = 7, 8, 10, 11
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_WRIST, RIGHT_WRIST = 16, 17, 20, 21
FOOT_JOINTS = (LEFT_ANKLE, RIGHT_ANKLE, LEFT_TOE, RIGHT_TOE)

SKATE_HEIGHT = 0.05  # m
SKATE_STEP = 0.025  # m per frame at 20 fps
FLOAT_HEIGHT = 0.10  # m
FLOAT_SECONDS = 0.5
BACKWARDS_SPEED = 0.2  # m/s

LOCOMOTION = re.compile(r"\b(walk|walks|walking|run|runs|running|dash|dashes|dashing|jog|jogs|march|marches)\b")
RUNNING = re.compile(r"\b(run|runs|running|dash|dashes|dashing|jog|jogs|jogging|sprint|sprints)\b")
WALKING = re.compile(r"\b(walk|walks|walking)\b")
KICK = re.compile(r"\bkick")
BOW = re.compile(r"\bbow")
BACKWARDS = re.compile(r"\b(backwards?|back)\b")
TURN = re.compile(r"\bturn(s|ing)?\s+(to\s+the\s+)?(left|right)\b")
SIDEWAYS = re.compile(r"\b(walk|walks|walking|steps?)\s+(to\s+the\s+)?(left|right)\b")
HAND = re.compile(r"\b(left|right)\s+(hand|arm)\b")


def _check(joints: np.ndarray) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1] < 22 or joints.shape[2] != 3:
        raise ValueError(f"joints must be (T, 22, 3), got {joints.shape}")
    return joints


def facing(joints: np.ndarray) -> np.ndarray:
    """Unit horizontal facing direction per frame `(T, 3)`: up × (left→right across the body)."""
    across = (joints[:, RIGHT_HIP] - joints[:, LEFT_HIP]) + (joints[:, RIGHT_SHOULDER] - joints[:, LEFT_SHOULDER])
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)
    forward[:, 1] = 0.0
    return forward / np.maximum(np.linalg.norm(forward, axis=-1, keepdims=True), 1e-8)


def heading_change(joints: np.ndarray) -> float:
    """Accumulated signed yaw (degrees) of the facing direction; positive = turning to the body's left."""
    f = facing(joints)
    cross = f[:-1, 2] * f[1:, 0] - f[:-1, 0] * f[1:, 2]  # y of cross(f_t, f_t+1)
    dot = np.sum(f[:-1] * f[1:], axis=-1)
    return float(np.degrees(np.arctan2(cross, dot).sum()))


def skating(joints: np.ndarray) -> tuple[float, float]:
    toes = joints[:, [LEFT_TOE, RIGHT_TOE]]
    if len(toes) < 2:
        return 0.0, 0.0
    low = (toes[:-1, :, 1] < SKATE_HEIGHT) & (toes[1:, :, 1] < SKATE_HEIGHT)
    step = np.linalg.norm((toes[1:] - toes[:-1])[..., [0, 2]], axis=-1)
    skate = low & (step > SKATE_STEP)
    ratio = float(skate.any(axis=1).mean())
    speed = float(step[skate].mean() * FPS) if skate.any() else 0.0
    return ratio, speed


def floating(joints: np.ndarray) -> float:
    above = joints[:, FOOT_JOINTS, 1].min(axis=1) > FLOAT_HEIGHT
    limit = FLOAT_SECONDS * FPS
    flagged = np.zeros(len(above), dtype=bool)
    start = None
    for index, value in enumerate(np.append(above, False)):
        if value and start is None:
            start = index
        elif not value and start is not None:
            if index - start > limit:
                flagged[start:index] = True
            start = None
    return float(flagged.mean())


def stride(joints: np.ndarray) -> float:
    separation = np.sum((joints[:, LEFT_ANKLE] - joints[:, RIGHT_ANKLE]) * facing(joints), axis=-1)
    return float(separation.std())


def motion_metrics(joints: np.ndarray) -> dict[str, float]:
    """The physical metrics of one motion (see the module docstring)."""
    joints = _check(joints)
    skate_ratio, skate_speed = skating(joints)
    relative = joints - joints[:, PELVIS : PELVIS + 1]
    speed = np.linalg.norm(np.diff(relative, axis=0), axis=-1).mean() * FPS if len(joints) > 1 else 0.0
    accel = np.linalg.norm(np.diff(joints, 2, axis=0), axis=-1).mean() * FPS**2 if len(joints) > 2 else 0.0
    jerk = np.linalg.norm(np.diff(joints, 3, axis=0), axis=-1).mean() * FPS**3 if len(joints) > 3 else 0.0
    wrists = joints[:, [LEFT_WRIST, RIGHT_WRIST], 1]
    return {
        "skate_ratio": skate_ratio,
        "skate_speed": skate_speed,
        "penetration": float(np.maximum(-joints[:, FOOT_JOINTS, 1].min(axis=1), 0.0).mean()),
        "float_ratio": floating(joints),
        "jerk": float(jerk),
        "acceleration": float(accel),
        "stride": stride(joints),
        "joint_speed": float(speed),
        "wrist_range": float((wrists.max(axis=0) - wrists.min(axis=0)).max()),
    }


def _root_speed(joints: np.ndarray) -> float:
    if len(joints) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(joints[:, PELVIS, [0, 2]], axis=0), axis=-1).mean() * FPS)


def _rise(track: np.ndarray) -> float:
    """How far a height track rises above its start (the first 5 frames' median)."""
    return float(track.max() - np.median(track[:5]))


def travel_along_facing(joints: np.ndarray) -> float:
    """Pelvis travel (m) along the facing direction of the first 5 frames; negative = backwards."""
    joints = _check(joints)
    travel = joints[-1, PELVIS] - joints[0, PELVIS]
    return float(np.dot(travel, facing(joints[:5]).mean(axis=0)))


def semantic_checks(joints: np.ndarray, caption: str) -> dict[str, float]:
    """The caption-driven checks that apply to this caption (absent keys do not apply)."""
    joints = _check(joints)
    text = caption.lower()
    out: dict[str, float] = {}
    hand = HAND.findall(text)
    sides = {side for side, _ in hand}
    if len(sides) == 1 and "both" not in text:
        named = LEFT_WRIST if "left" in sides else RIGHT_WRIST
        other = RIGHT_WRIST if named == LEFT_WRIST else LEFT_WRIST
        height = joints[:, :, 1]
        out["named_hand"] = float(np.ptp(height[:, named]) > np.ptp(height[:, other]))
    turn = TURN.search(text)
    if turn:
        change = heading_change(joints)
        out["turn_sign"] = float(change > 0 if turn.group(3) == "left" else change < 0)
    start_facing = facing(joints[:5]).mean(axis=0)
    travel = joints[-1, PELVIS] - joints[0, PELVIS]
    if WALKING.search(text) and BACKWARDS.search(text):
        backwards = travel_along_facing(joints)
        out["backwards"] = float(backwards < 0)
        speed = -backwards / max((len(joints) - 1) / FPS, 1e-6)
        out["backwards_speed"] = speed
        out["backwards_walk"] = float(speed >= BACKWARDS_SPEED)
    side = SIDEWAYS.search(text)
    if side and not turn and not BACKWARDS.search(text):
        left = np.cross(np.array([0.0, 1.0, 0.0]), start_facing)  # up × forward = the body's left
        out["sideways"] = float(np.dot(travel, left) > 0 if side.group(3) == "left" else np.dot(travel, left) < 0)
    if KICK.search(text):
        feet = {"left": LEFT_ANKLE, "right": RIGHT_ANKLE}
        named = re.search(r"\b(left|right)\s+(leg|foot)\b", text)
        lifts = {name: _rise(joints[:, joint, 1]) for name, joint in feet.items()}
        lift = lifts[named.group(1)] if named else max(lifts.values())
        out["kick_lift"] = lift
        out["kick_30cm"] = float(lift >= 0.30)
    if BOW.search(text):
        drop = float(np.median(joints[:5, HEAD, 1]) - joints[:, HEAD, 1].min())
        out["bow_drop"] = drop
        out["bow_20cm"] = float(drop >= 0.20)
    return out


@dataclass
class Interval:
    mean: float
    half_width: float
    count: int

    def __str__(self) -> str:
        return f"{self.mean:.3f}±{self.half_width:.3f}" if self.count else "-"


def interval(values: Sequence[float]) -> Interval:
    values = np.asarray(list(values), dtype=np.float64)
    if values.size == 0:
        return Interval(float("nan"), float("nan"), 0)
    half = 1.96 * values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0
    return Interval(float(values.mean()), float(half), int(values.size))


SUMMARY_KEYS = (
    "skate_ratio", "skate_speed", "penetration", "float_ratio", "jerk", "acceleration", "stride", "joint_speed",
    "wrist_range", "named_hand", "run_faster", "turn_sign", "backwards", "backwards_speed",
    "backwards_walk", "sideways", "kick_lift", "kick_30cm",
    "bow_drop", "bow_20cm",
)


def summarize(motions: Iterable[np.ndarray], captions: Sequence[str]) -> dict[str, Interval]:
    """Every metric over a set of motions with their captions (stride over locomotion only)."""
    motions = list(motions)
    if len(motions) != len(captions):
        raise ValueError(f"{len(motions)} motions but {len(captions)} captions")
    rows: dict[str, list[float]] = {key: [] for key in SUMMARY_KEYS}
    walk_speeds, run_speeds = [], []
    for joints, caption in zip(motions, captions):
        physical = motion_metrics(joints)
        text = caption.lower()
        for key, value in physical.items():
            if key == "stride" and not LOCOMOTION.search(text):
                continue
            rows[key].append(value)
        for key, value in semantic_checks(joints, caption).items():
            rows[key].append(value)
        if RUNNING.search(text):
            run_speeds.append(_root_speed(np.asarray(joints)))
        elif WALKING.search(text) and not BACKWARDS.search(text):
            walk_speeds.append(_root_speed(np.asarray(joints)))
    if walk_speeds and run_speeds:
        median_walk = float(np.median(walk_speeds))
        rows["run_faster"] = [float(s > median_walk) for s in run_speeds]
    return {key: interval(values) for key, values in rows.items()}


def locomotion_stride(motions: Iterable[np.ndarray], captions: Sequence[str]) -> float:
    """Mean stride over the locomotion motions of a set (nan if none)."""
    values = [stride(_check(j)) for j, c in zip(motions, captions) if LOCOMOTION.search(c.lower())]
    return float(np.mean(values)) if values else float("nan")
