"""Foot-contact cleanup of generated HumanML3D features: the root is moved so that a foot the
model says is on the ground stays where it is.

A generated walk often slides its planted foot slowly over the floor (foot skating): the decoded
root velocity and the legs' motion relative to the root disagree by a few cm per frame. The
features carry the model's own answer to "which foot is on the ground" (the four contact channels
of each frame), so the cleanup uses them and nothing else:

1. joints from the features; for each foot joint (ankle and toe of both feet) a contact weight
   ``w = clip((c − low) / (high − low), 0, 1)`` from its contact channel ``c``, times a height
   factor that fades the weight out between ``height`` and ``2·height`` above the floor, times a speed
   factor that fades it out between ``speed_low`` and ``speed_high`` of the joint's own horizontal
   speed (a slowly sliding foot is pinned; one moving faster is swinging, whatever its channel says);
2. per frame step t → t+1, the horizontal displacement of the contacting joints, averaged with
   those weights, is the slide; the root step is corrected by ``−slide · min(1, Σw)`` (a foot
   half in contact is half pinned);
3. the correction is low-passed over time (Gaussian, ``sigma`` frames) so that pinning does not
   add jerk where contacts switch, and written back into the root-velocity channels — and the
   joint-velocity channels, which store the same displacement — so features, joints, BVH and the
   evaluator all see the same corrected motion.

Why the speed gate: the generated contact channels often say "planted" for a foot that is already
swinging low over the floor (in the skating frames of generated walks the toe moves at ~1 m/s while its
channel reads 0.73). Pinning such a foot stops the whole body for a frame or two at every step: the
walk loses a sixth of its travel and gains a stop-go root speed that no real walk has (on the
Bandai-Namco test split, FID against real clips 0.82 → 1.61 at strength 1 without the gate; real
clips, whose planted feet do not slide, change by 0.002). A real planted foot slides by millimetres
per frame, so the gate only lets the cleanup act where a foot is nearly still; `scripts/
foot_cleanup_sweep.py` measures the choice (docs/foot_cleanup.md).

Only the root's horizontal path changes: the pose, the root height, the facing and the contact
channels are untouched, so a motion with no contact (a jump in the air, a wave on the spot whose
feet do not move) comes out the same. What it cannot fix: two planted feet sliding apart (that
needs leg IK) and a foot that should lift but shuffles low (the model's pose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lead.defaults import check_foot_cleanup as check_foot_cleanup  # lives with the light checks (no numpy)
from lead.motion import rotations as rot
from lead.motion.features import feature_slices, features_to_joints, recover_root
from lead.motion.skeleton import Skeleton, resolve_skeleton


@dataclass(frozen=True)
class FootCleanup:
    """Settings of `clean_feet`. The defaults were chosen on the Bandai-Namco val split
    (scripts/foot_cleanup_sweep.py, docs/foot_cleanup.md) and reported on the test split (docs/default_model.md)."""

    low: float = 0.3  # contact channel below this: not in contact
    high: float = 0.7  # above this: fully in contact
    height: float = 0.05  # m; the weight fades to 0 between `height` and 2·`height` above the floor
    sigma: float = 0.5  # frames of Gaussian smoothing of the root correction
    strength: float = 1.0  # 0: off, 1: cancel the whole slide
    speed_low: float = 0.6  # m/s; a foot joint slower than this is pinned fully (if in contact)
    speed_high: float | None = 1.6  # m/s; faster than this it is swinging and left alone (None: no gate)

    def __post_init__(self):
        if not 0 <= self.low < self.high <= 1:
            raise ValueError(f"contact thresholds must satisfy 0 <= low < high <= 1, got {self.low}, {self.high}")
        if not (self.height > 0 and self.sigma >= 0 and 0 <= self.strength <= 1):
            raise ValueError("height must be > 0, sigma >= 0 and strength in [0, 1]")
        if self.speed_high is not None and not 0 <= self.speed_low < self.speed_high:
            raise ValueError("speeds must satisfy 0 <= speed_low < speed_high, "
                             f"got {self.speed_low}, {self.speed_high}")


def _gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian low-pass along axis 0 with edge values held (no shrinking at the ends)."""
    if sigma <= 0 or len(x) < 2:
        return x
    radius = max(1, int(round(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.concatenate([np.repeat(x[:1], radius, 0), x, np.repeat(x[-1:], radius, 0)])
    return np.stack([np.convolve(padded[:, k], taps, mode="valid") for k in range(x.shape[1])], axis=1)


def contact_weights(features: np.ndarray, joints: np.ndarray, skel: Skeleton, settings: FootCleanup) -> np.ndarray:
    """`(T, 4)` weights in [0, 1] for the foot joints in the contact channels' order
    (left ankle, left toe, right ankle, right toe)."""
    contact = features[:, feature_slices(skel)["feet"]]
    weight = np.clip((contact - settings.low) / (settings.high - settings.low), 0.0, 1.0)
    feet = list(skel.feet_left) + list(skel.feet_right)
    height = joints[:, feet, 1] * skel.metres_per_unit
    fade = np.clip((2 * settings.height - height) / settings.height, 0.0, 1.0)
    return weight * fade


def speed_gate(step: np.ndarray, skel: Skeleton, settings: FootCleanup) -> np.ndarray:
    """Factors in [0, 1] for the foot joints' horizontal frame steps `step` `(T - 1, 4, 3)` (Y zeroed): 1 below
    `speed_low`, fading to 0 at `speed_high` (the joint's own speed, m/s)."""
    if settings.speed_high is None:
        return np.ones(step.shape[:-1])
    speed = np.linalg.norm(step, axis=-1) * skel.metres_per_unit * skel.fps
    return np.clip((settings.speed_high - speed) / (settings.speed_high - settings.speed_low), 0.0, 1.0)


def clean_feet(features: np.ndarray, skeleton: str | Skeleton = "humanml3d",
               settings: FootCleanup | None = None) -> np.ndarray:
    """De-normalised features `(T, D)` → the same with the root's horizontal path corrected so that
    feet in contact stay planted (see the module docstring). Returns a new float32 array."""
    settings = settings or FootCleanup()
    skel = resolve_skeleton(skeleton)
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 3 or settings.strength == 0:
        return features.astype(np.float32)
    joints = features_to_joints(features, skel)
    feet = list(skel.feet_left) + list(skel.feet_right)
    step = joints[1:, feet] - joints[:-1, feet]  # step t -> t+1, horizontal
    step[..., 1] = 0.0
    weight = contact_weights(features, joints, skel, settings)[:-1] * speed_gate(step, skel, settings)
    total = weight.sum(-1, keepdims=True)
    slide = (weight[..., None] * step).sum(1) / np.maximum(total, 1e-6)
    correction = -settings.strength * slide * np.minimum(total, 1.0)
    correction = _gaussian(correction, settings.sigma)

    quat, _ = recover_root(features)
    out = features.copy()
    # Root step t -> t+1 is stored in frame t's XZ velocity, in frame t+1's facing frame (recover_root).
    local = rot.quat_rotate(quat[1:], correction)
    out[:-1, 1] += local[:, 0]
    out[:-1, 2] += local[:, 2]
    # Joint velocities of frame t: the displacement t -> t+1 in frame t's facing frame, every joint.
    velocity = feature_slices(skel)["vel"]
    shift = rot.quat_rotate(quat[:-1], correction)
    vel = out[:-1, velocity].reshape(len(out) - 1, -1, 3)
    vel += shift[:, None, :]
    out[:-1, velocity] = vel.reshape(len(out) - 1, -1)
    return out.astype(np.float32)
