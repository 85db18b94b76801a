"""BVH motion files: read (any channel layout, any Euler order), forward kinematics, write.

Conventions (those of the BVH format itself): a joint's local transform is
`T(translation) @ R`, where the translation is its OFFSET, except that position channels
*replace* the matching OFFSET component (root positions are absolute, and skeletons such
as Bandai-Namco's with six channels on every joint carry their bone vectors in the
channels); `R` is the product of the joint's rotation channels in the order they are
listed (`Zrotation Xrotation Yrotation` -> `Rz @ Rx @ Ry`, column vectors, degrees).
Global joint positions are `p[j] = p[parent] + G[parent] @ t[j]`.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from lead.errors import LeadError
from lead.io import atomic_path, open_regular
from lead.motion import rotations as rot

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_CANONICAL = {name.lower(): name for name in POSITION_CHANNELS + ROTATION_CHANNELS}
# Bounds that no real capture comes near (a skeleton in mm is ~2e3 units tall; 10000 fps is far past any
# capture system): past them a file is damaged, and forward kinematics or resampling would overflow.
MAX_OFFSET = 1e6
MAX_CHANNEL_VALUE = 1e7
FRAME_TIME_RANGE = (1e-4, 10.0)


@dataclass
class BvhMotion:
    """A BVH skeleton and its motion, joints in file (depth-first) order so `parents[j] < j`.

    names: joint names [J]; parents: [J] int (-1 for a root); offsets: [J, 3] rest offsets;
    channels: per joint, the channel names in file order; rotations: [T, J, 3, 3] local rotation
    matrices; translations: [T, J, 3] local translations (OFFSET with position channels applied);
    frame_time: seconds per frame; end_sites: joint index -> End Site offset [3].
    """

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    channels: list[tuple[str, ...]]
    rotations: np.ndarray
    translations: np.ndarray
    frame_time: float
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def index(self, name: str) -> int:
        """Index of the joint called `name` (exact match)."""
        try:
            return self.names.index(name)
        except ValueError:
            raise LeadError(f"BVH has no joint {name!r}; joints are: {', '.join(self.names)}") from None

    def global_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Global rotations [T, J, 3, 3] and positions [T, J, 3] (file units)."""
        return forward_kinematics(self.parents, self.rotations, self.translations)

    def global_positions(self) -> np.ndarray:
        """Global joint positions [T, J, 3] in the file's units and axes."""
        return self.global_transforms()[1]


def forward_kinematics(
    parents: np.ndarray, rotations: np.ndarray, translations: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Compose local transforms down the tree.

    parents [J] with parents[j] < j; rotations [T, J, 3, 3]; translations [T, J, 3] or [J, 3].
    Returns global rotations [T, J, 3, 3] and global positions [T, J, 3]. One batched matmul per
    joint, so cost is linear in T with a small constant.
    """
    rotations = np.asarray(rotations)
    translations = np.broadcast_to(np.asarray(translations), rotations.shape[:-2] + (3,))
    global_rot = np.empty_like(rotations)
    global_pos = np.empty(translations.shape, dtype=rotations.dtype)
    for j, parent in enumerate(np.asarray(parents).tolist()):
        if parent < 0:
            global_rot[:, j] = rotations[:, j]
            global_pos[:, j] = translations[:, j]
            continue
        if parent >= j:
            raise LeadError(f"joint {j} has parent {parent}: joints must come after their parent")
        global_rot[:, j] = global_rot[:, parent] @ rotations[:, j]
        global_pos[:, j] = global_pos[:, parent] + np.einsum(
            "tab,tb->ta", global_rot[:, parent], translations[:, j]
        )
    return global_rot, global_pos


def _three_axis_order(rotation_axes: str, joint: str) -> str:
    """Complete a joint's rotation channel axes ("ZX") to a three-axis order ("ZXY").

    The added axes get angle 0, so joints with one or two rotation channels (hinges) compose the
    same rotation; repeated axes (proper Euler orders such as ZXZ) are not supported.
    """
    if len(set(rotation_axes)) != len(rotation_axes):
        raise LeadError(
            f"joint {joint!r}: rotation channels {rotation_axes!r} repeat an axis; "
            "only orders with distinct axes (like ZXY) are supported"
        )
    return rotation_axes + "".join(a for a in "XYZ" if a not in rotation_axes)


# ---------------------------------------------------------------------------------------- reading


def _hierarchy_tokens(lines: list[str]) -> list[tuple[str, int]]:
    """(token, 1-based line) pairs; a ROOT/JOINT name is the rest of its line (names may hold spaces)."""
    tokens: list[tuple[str, int]] = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if parts and parts[0] in ("ROOT", "JOINT"):
            rest = parts[1:]
            brace = bool(rest) and rest[-1] == "{"
            if brace:
                rest = rest[:-1]
            tokens.append((parts[0], number))
            tokens.append((" ".join(rest), number))
            if brace:
                tokens.append(("{", number))
            continue
        tokens.extend((part, number) for part in parts)
    return tokens


class _HierarchyParser:
    def __init__(self, path: str, lines: list[str]):
        self.path = path
        self.tokens = _hierarchy_tokens(lines)
        self.pos = 0
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[list[float]] = []
        self.channels: list[tuple[str, ...]] = []
        self.end_sites: dict[int, np.ndarray] = {}

    def fail(self, expected: str) -> LeadError:
        if self.pos < len(self.tokens):
            found, line = self.tokens[self.pos]
            where, what = f"line {line}", f"found {found!r}"
        else:
            where, what = "end of HIERARCHY", "found the MOTION section or end of file"
        return LeadError(f"{self.path}: {where}: expected {expected}, {what}; is this a valid BVH file?")

    def take(self, expected: str | None = None, what: str | None = None) -> str:
        if self.pos >= len(self.tokens) or (expected is not None and self.tokens[self.pos][0] != expected):
            raise self.fail(what or repr(expected))
        token = self.tokens[self.pos][0]
        self.pos += 1
        return token

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def number(self, what: str, bound: float = MAX_OFFSET) -> float:
        token = self.take(what=what)
        try:
            value = float(token)
        except ValueError:
            self.pos -= 1
            raise self.fail(what) from None
        if not abs(value) <= bound:  # NaN, inf, 1e308
            self.pos -= 1
            raise self.fail(f"{what}, finite and within +-{bound:g}")
        return value

    def offset(self) -> list[float]:
        self.take("OFFSET")
        return [self.number("an OFFSET number (three per OFFSET)") for _ in range(3)]

    def joint(self, parent: int) -> None:
        """A ROOT or JOINT block and everything nested in it, read with an explicit stack (not recursion),
        so a chain of thousands of nested joints is read like any other."""
        open_joints = [self._joint_head(parent)]
        while open_joints:
            index, name = open_joints[-1]
            following = self.peek()
            if following == "JOINT":
                self.take("JOINT")
                open_joints.append(self._joint_head(index))
            elif following == "End":
                self.take("End")
                self.take("Site")
                self.take("{")
                self.end_sites[index] = np.array(self.offset())
                self.take("}")
            else:
                self.take("}", "'}' closing joint " + repr(name) + " (or JOINT / End Site)")
                open_joints.pop()

    def _joint_head(self, parent: int) -> tuple[int, str]:
        """A joint's name, '{', OFFSET and CHANNELS; → (its index, its name)."""
        name = self.take(what="a joint name")
        index = len(self.names)
        self.names.append(name)
        self.parents.append(parent)
        self.take("{")
        self.offsets.append(self.offset())
        channels: tuple[str, ...] = ()
        if self.peek() == "CHANNELS":
            self.take("CHANNELS")
            count = self.number("the channel count after CHANNELS")
            if count != int(count) or not 0 <= count <= 6:
                self.pos -= 1
                raise self.fail("a channel count between 0 and 6")
            names = []
            for _ in range(int(count)):
                token = self.take(what="a channel name (Xposition ... Zrotation)")
                if token.lower() not in _CANONICAL:
                    self.pos -= 1
                    raise self.fail("a channel name (Xposition, Yposition, Zposition, Xrotation, ...)")
                names.append(_CANONICAL[token.lower()])
            channels = tuple(names)
        self.channels.append(channels)
        return index, name

    def parse(self) -> None:
        self.take("HIERARCHY")
        self.take("ROOT")
        self.joint(-1)
        while self.peek() == "ROOT":
            self.take("ROOT")
            self.joint(-1)
        if self.peek() is not None:
            raise self.fail("MOTION after the last joint")


def _bad_motion_line(path: str, data: str, first_line: int, width: int) -> LeadError:
    for number, line in enumerate(data.splitlines(), start=first_line):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != width:
            return LeadError(
                f"{path}: line {number}: expected {width} channel values (one per CHANNELS entry), "
                f"found {len(parts)}"
            )
        for part in parts:
            try:
                float(part)
            except ValueError:
                return LeadError(f"{path}: line {number}: expected a number, found {part!r}")
    return LeadError(f"{path}: the MOTION data does not match the hierarchy's {width} channels per frame")


def read_bvh(path: str | os.PathLike) -> BvhMotion:
    """Read a BVH file. Raises LeadError naming the line and what was expected if it is malformed."""
    path = str(path)
    try:
        with open_regular(path, "BVH file") as handle:
            text = handle.read().decode("utf-8", errors="replace")
    except OSError as error:
        raise LeadError(f"cannot read BVH file {path}: {error.strerror}") from None
    motion_match = re.search(r"^\s*MOTION\s*$", text, re.M)
    if motion_match is None:
        raise LeadError(f"{path}: no MOTION line; expected HIERARCHY ... MOTION ... as in a BVH file")
    hierarchy = _HierarchyParser(path, text[: motion_match.start()].splitlines())
    hierarchy.parse()
    header = re.compile(r"\s*Frames:\s*(\S+)\s*\n\s*Frame Time:\s*(\S+)[ \t]*(\n|$)")
    header_match = header.match(text, motion_match.end())
    line = text.count("\n", 0, motion_match.end()) + 2
    if header_match is None:
        raise LeadError(f"{path}: line {line}: expected 'Frames: N' then 'Frame Time: seconds' after MOTION")
    try:
        num_frames = int(header_match.group(1))
        frame_time = float(header_match.group(2))
    except ValueError:
        raise LeadError(f"{path}: line {line}: 'Frames:' needs an integer, 'Frame Time:' a number") from None
    if num_frames < 1 or not frame_time > 0:
        raise LeadError(f"{path}: line {line}: expected at least one frame and a positive Frame Time")
    low, high = FRAME_TIME_RANGE
    if not low <= frame_time <= high:  # also inf and NaN
        raise LeadError(f"{path}: line {line + 1}: Frame Time {header_match.group(2)} seconds is outside "
                        f"{low:g}..{high:g} ({1 / high:g} to {1 / low:g} frames per second); fix the Frame Time line")

    data = text[header_match.end() :]
    width = sum(len(c) for c in hierarchy.channels)
    first_data_line = text.count("\n", 0, header_match.end()) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(data, sep=" ") if data.strip() else np.zeros(0)
        except (ValueError, DeprecationWarning):
            raise _bad_motion_line(path, data, first_data_line, width) from None
    if values.size != num_frames * width:
        found_lines = sum(1 for row in data.splitlines() if row.strip())
        error = _bad_motion_line(path, data, first_data_line, width)
        if found_lines != num_frames and values.size % max(width, 1) == 0:
            error = LeadError(
                f"{path}: 'Frames: {num_frames}' but the MOTION section has {found_lines} frame lines; "
                "fix the Frames line or the file's data"
            )
        raise error
    table = values.reshape(num_frames, width)
    bad = ~(np.abs(table) <= MAX_CHANNEL_VALUE)  # NaN, inf and values no capture holds
    if bad.any():
        frame, column = (int(i) for i in np.argwhere(bad)[0])
        raise LeadError(f"{path}: line {first_data_line + frame}: channel value {column + 1} is "
                        f"{table[frame, column]:g}; expected finite numbers within +-{MAX_CHANNEL_VALUE:g}")
    return _build_motion(hierarchy, table, frame_time)


def _build_motion(hierarchy: _HierarchyParser, values: np.ndarray, frame_time: float) -> BvhMotion:
    num_frames, num_joints = values.shape[0], len(hierarchy.names)
    offsets = np.asarray(hierarchy.offsets, dtype=np.float64)
    translations = np.repeat(offsets[None], num_frames, axis=0)
    rotations = np.empty((num_frames, num_joints, 3, 3), dtype=np.float64)
    rotations[:] = np.eye(3)
    # Joints sharing a rotation order are converted in one batch.
    by_order: dict[str, tuple[list[int], list[list[int]]]] = {}
    column = 0
    for j, channels in enumerate(hierarchy.channels):
        rotation_columns, axes = [], ""
        for k, name in enumerate(channels):
            if name.endswith("position"):
                translations[:, j, "XYZ".index(name[0])] = values[:, column + k]
            else:
                rotation_columns.append(column + k)
                axes += name[0]
        column += len(channels)
        if axes:
            joints, columns = by_order.setdefault(_three_axis_order(axes, hierarchy.names[j]), ([], []))
            joints.append(j)
            columns.append(rotation_columns + [-1] * (3 - len(rotation_columns)))
    padded = np.concatenate([values, np.zeros((num_frames, 1))], axis=1)  # column -1 reads 0 degrees
    for order, (joints, columns) in by_order.items():
        rotations[:, joints] = rot.euler_to_matrix(padded[:, np.asarray(columns)], order)
    return BvhMotion(
        names=hierarchy.names,
        parents=np.asarray(hierarchy.parents, dtype=np.int64),
        offsets=offsets,
        channels=hierarchy.channels,
        rotations=rotations,
        translations=translations,
        frame_time=frame_time,
        end_sites=hierarchy.end_sites,
    )


# ---------------------------------------------------------------------------------------- writing


def _depth_first(parents: np.ndarray) -> list[int]:
    children: dict[int, list[int]] = {j: [] for j in range(-1, len(parents))}
    for j, parent in enumerate(parents.tolist()):
        children[parent].append(j)
    order: list[int] = []
    stack = list(reversed(children[-1]))
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(children[j]))
    return order


def _channel_values(motion: BvhMotion) -> np.ndarray:
    """The MOTION table [T, C]: joints in depth-first (hierarchy text) order, channels as listed."""
    columns = []
    for j in _depth_first(np.asarray(motion.parents)):
        channels = motion.channels[j]
        axes = "".join(name[0] for name in channels if name.endswith("rotation"))
        if axes:
            # One- and two-channel joints keep only the angles about their own axes.
            angles = rot.matrix_to_euler(motion.rotations[:, j], _three_axis_order(axes, motion.names[j]))
            # Same rotations, but no +-360 degree jumps between frames for tools that interpolate.
            angles = np.unwrap(angles, period=360.0, axis=0)
        elif not np.allclose(motion.rotations[:, j], np.eye(3), atol=1e-6):
            raise LeadError(f"joint {motion.names[j]!r} rotates but has no rotation channels")
        rotation_index = 0
        for name in channels:
            if name.endswith("position"):
                columns.append(motion.translations[:, j, "XYZ".index(name[0])])
            else:
                columns.append(angles[:, rotation_index])
                rotation_index += 1
    if not columns:
        return np.zeros((motion.num_frames, 0))
    return np.stack(columns, axis=1)


def _format_vector(values: np.ndarray, precision: int) -> str:
    return " ".join(f"{float(v):.{precision}f}" for v in values)


def _hierarchy_text(motion: BvhMotion, precision: int) -> str:
    children: dict[int, list[int]] = {j: [] for j in range(-1, motion.num_joints)}
    for j, parent in enumerate(motion.parents.tolist()):
        children[parent].append(j)
    out = ["HIERARCHY"]
    # (joint, depth, opening): an explicit stack, so thousands of nested joints need no recursion
    stack = [(root, 0, True) for root in reversed(children[-1])]
    while stack:
        j, depth, opening = stack.pop()
        pad = "\t" * depth
        if not opening:
            if j in motion.end_sites:
                out.extend([f"{pad}\tEnd Site", f"{pad}\t{{"])
                out.append(f"{pad}\t\tOFFSET {_format_vector(motion.end_sites[j], precision)}")
                out.append(f"{pad}\t}}")
            out.append(pad + "}")
            continue
        out.append(f"{pad}{'ROOT' if motion.parents[j] < 0 else 'JOINT'} {motion.names[j]}")
        out.append(pad + "{")
        out.append(f"{pad}\tOFFSET {_format_vector(motion.offsets[j], precision)}")
        channels = motion.channels[j]
        out.append(f"{pad}\tCHANNELS {len(channels)} {' '.join(channels)}".rstrip())
        stack.append((j, depth, False))
        stack.extend((child, depth + 1, True) for child in reversed(children[j]))
    return "\n".join(out) + "\n"


def write_bvh(path: str | os.PathLike, motion: BvhMotion, precision: int = 6) -> None:
    """Write `motion` as a BVH file (atomically). Rotations are written in each joint's channel order.

    Joints are written depth-first; reading the file back gives them in that order.
    """
    if any(not name or name.strip() != name or "{" in name for name in motion.names):
        raise LeadError(f"write_bvh: joint names must be non-empty without outer spaces: {motion.names}")
    table = _channel_values(motion)
    buffer = io.StringIO()
    buffer.write(_hierarchy_text(motion, precision))
    buffer.write(f"MOTION\nFrames: {motion.num_frames}\nFrame Time: {motion.frame_time:.8g}\n")
    if table.shape[1]:
        np.savetxt(buffer, table, fmt=f"%.{precision}f", delimiter=" ")
    else:
        buffer.write("\n" * motion.num_frames)
    with atomic_path(path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
