"""The text–motion matching evaluator of Guo et al. (CVPR 2022), as used by T2M, MLD and LEAD.

Architecture (text-to-motion `networks/modules.py`, built as in `networks/evaluator_wrapper.py`):
- `movement_encoder` (MovementConvEncoder): two Conv1d(k=4, s=2, p=1) + Dropout(0.2) + LeakyReLU(0.2)
  over the features without the 4 foot-contact channels, then a Linear; 4 frames → 1 movement latent.
- `motion_encoder` (MotionEncoderBiGRUCo): Linear → bidirectional GRU (learnable initial state) over the
  first `length // unit_length` latents → MLP to the 512-d co-embedding.
- `text_encoder` (TextEncoderBiGRUCo): word vector + Linear(POS one-hot) → Linear → BiGRU over the
  caption length → MLP to 512.
The attribute names match the published `text_mot_match/model/finest.tar`, whose three state dicts
(`movement_encoder`, `text_encoder`, `motion_encoder`) load with strict=True.

Normalisation: the published evaluator expects features normalised with the mean/std of the T2M
checkpoint's meta folder (`checkpoints/t2m/Comp_v6_KLD01/meta/{mean,std}.npy`; KIT: `Comp_v6_KLD005`),
the statistics its own training used (train_tex_mot_match.py) and that the reference test loader applies.
They are close to, but not the same file as, the dataset's Mean.npy/Std.npy; MLD therefore
de-normalises its outputs and re-normalises them with these (`renorm4t2m`). Here the evaluator keeps its
own mean/std: `embed_motions(raw_features, lengths)` takes un-normalised 263/251-d features and applies
them; pass `normalized=True` only for features already normalised with the evaluator's statistics.
Frames past each length are zeroed after normalisation and batches padded to 196 frames, exactly as the
reference test loader pads them (this changes the last movement latent, so it matters).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from lead.errors import LeadError
from lead.evaluation.word_vectorizer import (
    POS_ENUMERATOR,
    GloVeWordVectors,
    WordVectorizer,
    load_word_vectors,
    tokenize_caption,
)
from lead.io import atomic_path, check_regular_input, save_json, save_npy

FORMAT = "lead-t2m-evaluator"
OFFICIAL_KEYS = ("movement_encoder", "text_encoder", "motion_encoder")
_POSE_DIMS = {"t2m": 263, "kit": 251}
_META_RUNS = {"t2m": "Comp_v6_KLD01", "kit": "Comp_v6_KLD005"}  # whose meta/ the evaluator's stats are


@dataclasses.dataclass(frozen=True)
class EvaluatorConfig:
    """Sizes of the evaluator; the defaults are the published T2M evaluator's."""

    dataset: str = "t2m"
    dim_pose: int = 263
    dim_word: int = 300
    dim_pos_ohot: int = len(POS_ENUMERATOR)
    dim_movement_enc_hidden: int = 512
    dim_movement_latent: int = 512
    dim_motion_hidden: int = 1024
    dim_text_hidden: int = 512
    dim_coemb_hidden: int = 512
    unit_length: int = 4
    max_text_len: int = 20
    max_motion_length: int = 196

    @classmethod
    def official(cls, dataset: str = "t2m") -> EvaluatorConfig:
        if dataset not in _POSE_DIMS:
            raise LeadError(f"unknown evaluator dataset {dataset!r}: expected 't2m' (HumanML3D) or 'kit'")
        return cls(dataset=dataset, dim_pose=_POSE_DIMS[dataset])

    @classmethod
    def from_dict(cls, data: dict) -> EvaluatorConfig:
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise LeadError(f"evaluator config.json has unknown fields {sorted(unknown)}")
        return cls(**data)


class MovementConvEncoder(nn.Module):
    """[B, T, D-4] → [B, T // 4, latent]."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden_size, 4, 2, 1),
            nn.Dropout(0.2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden_size, output_size, 4, 2, 1),
            nn.Dropout(0.2),
            nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(output_size, output_size)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.out_net(self.main(inputs.permute(0, 2, 1)).permute(0, 2, 1))


def _last_states(
    gru: nn.GRU, inputs: torch.Tensor, lengths: torch.Tensor, hidden: torch.Tensor
) -> torch.Tensor:
    """Run a BiGRU over the first `lengths` steps; [B, 2H] concatenated final forward/backward states.

    The reference sorts its batch by length for pack_padded_sequence; enforce_sorted=False sorts and
    unsorts internally, which gives the same per-sequence results in input order.
    """
    packed = pack_padded_sequence(inputs, lengths.cpu().long(), batch_first=True, enforce_sorted=False)
    _, last = gru(packed, hidden.repeat(1, inputs.shape[0], 1).contiguous())
    return torch.cat([last[0], last[1]], dim=-1)


def _output_net(hidden_size: int, output_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(hidden_size * 2, hidden_size),
        nn.LayerNorm(hidden_size),
        nn.LeakyReLU(0.2),
        nn.Linear(hidden_size, output_size),
    )


class TextEncoderBiGRUCo(nn.Module):
    """word_embs [B, L, W], pos_onehot [B, L, 15], cap_lens [B] → [B, output]."""

    def __init__(self, word_size: int, pos_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.pos_emb = nn.Linear(pos_size, word_size)
        self.input_emb = nn.Linear(word_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = _output_net(hidden_size, output_size)
        self.hidden = nn.Parameter(torch.zeros(2, 1, hidden_size))

    def forward(
        self, word_embs: torch.Tensor, pos_onehot: torch.Tensor, cap_lens: torch.Tensor
    ) -> torch.Tensor:
        inputs = self.input_emb(word_embs + self.pos_emb(pos_onehot))
        return self.output_net(_last_states(self.gru, inputs, cap_lens, self.hidden))


class MotionEncoderBiGRUCo(nn.Module):
    """movement latents [B, T', latent], lengths [B] (in latents) → [B, output]."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = _output_net(hidden_size, output_size)
        self.hidden = nn.Parameter(torch.zeros(2, 1, hidden_size))

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.output_net(_last_states(self.gru, self.input_emb(inputs), lengths, self.hidden))


def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """The reference initialisation (Xavier-normal Conv/Linear, zero bias, N(0,1) initial GRU states;
    PyTorch's default uniform GRU weights), drawn from `generator`."""
    for child in module.modules():
        if isinstance(child, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
            nn.init.xavier_normal_(child.weight, generator=generator)
            if child.bias is not None:
                nn.init.zeros_(child.bias)
        elif isinstance(child, nn.GRU):
            bound = 1.0 / child.hidden_size**0.5
            for weight in child.parameters():
                nn.init.uniform_(weight, -bound, bound, generator=generator)
        if isinstance(getattr(child, "hidden", None), nn.Parameter):
            with torch.no_grad():
                child.hidden.copy_(torch.randn(child.hidden.shape, generator=generator))


def _as_tensor(values, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values) if not torch.is_tensor(values) else values).to(device, dtype)


class T2MEvaluator(nn.Module):
    """The three evaluator networks, the evaluator's own motion statistics and (optionally) word vectors."""

    def __init__(
        self,
        config: EvaluatorConfig | None = None,
        mean: np.ndarray | None = None,
        std: np.ndarray | None = None,
        vectorizer: WordVectorizer | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.config = config = config or EvaluatorConfig()
        # PyTorch's default initialisers draw from the global RNG; fork it so building an evaluator
        # leaves it untouched, then draw every weight from the explicit seed.
        with torch.random.fork_rng(devices=[]):
            self.movement_encoder = MovementConvEncoder(
                config.dim_pose - 4, config.dim_movement_enc_hidden, config.dim_movement_latent
            )
            self.text_encoder = TextEncoderBiGRUCo(
                config.dim_word, config.dim_pos_ohot, config.dim_text_hidden, config.dim_coemb_hidden
            )
            self.motion_encoder = MotionEncoderBiGRUCo(
                config.dim_movement_latent, config.dim_motion_hidden, config.dim_coemb_hidden
            )
        init_weights(self, torch.Generator().manual_seed(seed))
        mean = np.zeros(config.dim_pose, np.float32) if mean is None else np.asarray(mean, np.float32)
        std = np.ones(config.dim_pose, np.float32) if std is None else np.asarray(std, np.float32)
        if mean.shape != (config.dim_pose,) or std.shape != (config.dim_pose,):
            raise LeadError(
                f"evaluator mean/std must have shape ({config.dim_pose},), got {mean.shape}, {std.shape}"
            )
        self.register_buffer("mean", torch.from_numpy(mean.copy()), persistent=False)
        self.register_buffer("std", torch.from_numpy(std.copy()), persistent=False)
        if vectorizer is not None and vectorizer.dim != config.dim_word:
            raise LeadError(
                f"word vectors have {vectorizer.dim} dimensions, the evaluator expects {config.dim_word}"
            )
        self.vectorizer = vectorizer

    @property
    def device(self) -> torch.device:
        return self.mean.device

    # ---- differentiable encoders (training) ----
    def encode_motion(self, normalized: torch.Tensor, lengths: torch.Tensor, pad_to_max: bool = True) -> torch.Tensor:
        """Features normalised with the evaluator's statistics [B, T, D] (D incl. foot contacts),
        lengths [B] in frames (>= unit_length) → co-embeddings [B, C]. `pad_to_max`: zero-pad to
        max_motion_length (196) as the text-to-motion loader does; False keeps the tensor's own length
        (MLD's evaluation of generated motions: padded to the batch's longest)."""
        if normalized.shape[-1] != self.config.dim_pose:
            raise LeadError(
                f"the evaluator expects {self.config.dim_pose}-d features, got {normalized.shape[-1]}"
            )
        lengths = lengths.to(normalized.device).long()
        if int(lengths.min()) < self.config.unit_length or int(lengths.max()) > normalized.shape[1]:
            raise LeadError(
                f"motion lengths must lie in [{self.config.unit_length}, {normalized.shape[1]}] frames"
            )
        valid = torch.arange(normalized.shape[1], device=normalized.device)[None, :] < lengths[:, None]
        motions = normalized * valid[..., None].to(normalized.dtype)
        # The reference pads every motion with zeros to max_motion_length (196); the convolutions' last
        # valid latent sees those zero frames, so shorter padding would change it.
        if pad_to_max and motions.shape[1] < self.config.max_motion_length:
            motions = nn.functional.pad(motions, (0, 0, 0, self.config.max_motion_length - motions.shape[1]))
        movements = self.movement_encoder(motions[..., :-4])
        return self.motion_encoder(movements, lengths // self.config.unit_length)

    def encode_text(
        self, word_embs: torch.Tensor, pos_onehot: torch.Tensor, cap_lens: torch.Tensor
    ) -> torch.Tensor:
        """word_embs [B, L, dim_word], pos_onehot [B, L, 15], cap_lens [B] → co-embeddings [B, C]."""
        return self.text_encoder(word_embs, pos_onehot, cap_lens)

    # ---- inference helpers (no grad, eval mode, input order kept) ----
    def normalize(self, features: torch.Tensor) -> torch.Tensor:
        """Raw features [..., D] → normalised with the evaluator's own mean/std."""
        return (features - self.mean) / self.std

    def _inference(self, function, *args) -> torch.Tensor:
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return function(*args)
        finally:
            self.train(was_training)

    def embed_motions(self, features, lengths, normalized: bool = False, pad_to_max: bool = True) -> torch.Tensor:
        """features [B, T, D] (raw HumanML3D/KIT features unless `normalized`), lengths [B] → [B, C]
        (`pad_to_max`: see `encode_motion`)."""
        features = _as_tensor(features, torch.float32, self.device)
        lengths = _as_tensor(lengths, torch.long, self.device)
        if not normalized:
            features = self.normalize(features)
        return self._inference(self.encode_motion, features, lengths, pad_to_max)

    def embed_texts(self, word_embs, pos_onehot, cap_lens) -> torch.Tensor:
        """word_embs [B, L, dim_word], pos_onehot [B, L, 15], cap_lens [B] → [B, C]."""
        return self._inference(
            self.encode_text,
            _as_tensor(word_embs, torch.float32, self.device),
            _as_tensor(pos_onehot, torch.float32, self.device),
            _as_tensor(cap_lens, torch.long, self.device),
        )

    def text_inputs(self, token_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`word/POS` token lists → (word_embs, pos_onehot, cap_lens) through the evaluator's vectorizer."""
        if self.vectorizer is None:
            raise LeadError(
                "this evaluator has no word vectors loaded: pass the GloVe folder (or use minilm)"
            )
        return self.vectorizer.encode(token_lists)

    def embed_captions(self, captions: Sequence[str] | Sequence[Sequence[str]]) -> torch.Tensor:
        """Captions as `word/POS` token lists (faithful) or plain strings (approximate tagging) → [B, C]."""
        token_lists = [tokenize_caption(c) if isinstance(c, str) else list(c) for c in captions]
        return self.embed_texts(*self.text_inputs(token_lists))

    # ---- the published checkpoint format ----
    def official_state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        return {key: getattr(self, key).state_dict() for key in OFFICIAL_KEYS}

    def load_official_state_dict(self, checkpoint: dict, source: str = "checkpoint") -> None:
        for key in OFFICIAL_KEYS:
            if key not in checkpoint:
                raise LeadError(f"{source} has no '{key}' entry: not a text_mot_match finest.tar")
            try:
                getattr(self, key).load_state_dict(checkpoint[key], strict=True)
            except RuntimeError as error:
                first = str(error).splitlines()[0]
                raise LeadError(
                    f"{source}: '{key}' does not fit the {self.config.dataset} evaluator: {first}"
                ) from error

    def save_official(self, path: str | os.PathLike, epoch: int = 0, iteration: int = 0) -> None:
        """Write a `finest.tar` in the published layout (state dicts + epoch/iter; no optimizer state)."""
        state = {
            key: {k: v.detach().cpu() for k, v in value.items()}
            for key, value in self.official_state_dict().items()
        }
        with atomic_path(path) as tmp:
            torch.save({**state, "epoch": epoch, "iter": iteration}, tmp)

    @classmethod
    def from_official(
        cls,
        checkpoint: str | os.PathLike,
        meta_dir: str | os.PathLike | None = None,
        glove_dir: str | os.PathLike | None = None,
        dataset: str = "t2m",
    ) -> T2MEvaluator:
        """Load the published evaluator.

        checkpoint: `.../text_mot_match/model/finest.tar`, or a folder holding it (as `finest.tar`,
        `model/finest.tar` or `{dataset}/text_mot_match/model/finest.tar`). meta_dir: the folder with the
        evaluator's `mean.npy`/`std.npy` (`checkpoints/t2m/Comp_v6_KLD01/meta`); None looks for that layout
        under a `checkpoint` folder. glove_dir: the folder with `our_vab_*` (None: texts must be given as
        vectors to `embed_texts`).
        """
        path = _find_checkpoint(Path(checkpoint), dataset)
        if meta_dir is None:
            if not Path(checkpoint).is_dir():
                raise LeadError("pass the evaluator's meta folder (checkpoints/t2m/Comp_v6_KLD01/meta)")
            meta_dir = Path(checkpoint) / dataset / _META_RUNS.get(dataset, "") / "meta"
        mean, std = _load_stats(Path(meta_dir))
        vectorizer = WordVectorizer(GloVeWordVectors(glove_dir)) if glove_dir is not None else None
        evaluator = cls(EvaluatorConfig.official(dataset), mean, std, vectorizer)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for a broken or foreign file
            raise LeadError(f"cannot read evaluator checkpoint {path}: {error}") from error
        evaluator.load_official_state_dict(state, source=str(path))
        return evaluator.eval()

    # ---- our own folder format ----
    def save(self, folder: str | os.PathLike, extra: dict | None = None) -> None:
        """config.json + model.safetensors + mean.npy/std.npy + vectorizer.json in `folder`."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        with atomic_path(folder / "model.safetensors") as tmp:
            save_file(state, str(tmp), metadata={"format": FORMAT})
        save_npy(folder / "mean.npy", self.mean.cpu().numpy())
        save_npy(folder / "std.npy", self.std.cpu().numpy())
        if self.vectorizer is not None:
            save_json(folder / "vectorizer.json", self.vectorizer.vectors.describe())
        save_json(
            folder / "config.json", {"format": FORMAT, **dataclasses.asdict(self.config), **(extra or {})}
        )

    @classmethod
    def load(cls, folder: str | os.PathLike, glove_dir: str | os.PathLike | None = None) -> T2MEvaluator:
        """Rebuild an evaluator written by `save` (word vectors too; GloVe ones need `glove_dir`)."""
        from safetensors.torch import load_file

        folder = Path(folder)
        for name in ("config.json", "model.safetensors", "mean.npy", "std.npy"):
            if not (folder / name).is_file():
                raise LeadError(f"evaluator file {folder / name} not found: is {folder} an evaluator folder?")
        from lead.io import read_json
        from lead.models.config import config_from_dict

        source = folder / "config.json"
        data = read_json(source, "evaluator config.json", "retrain the evaluator or copy it again")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LeadError(f"{source} is not a {FORMAT} config (a JSON object with \"format\": \"{FORMAT}\")")
        fields = {field.name for field in dataclasses.fields(EvaluatorConfig)}
        config = config_from_dict(EvaluatorConfig, {k: v for k, v in data.items() if k in fields}, str(source))
        vectorizer = None
        if (folder / "vectorizer.json").is_file():
            spec = read_json(folder / "vectorizer.json", "evaluator vectorizer.json", "retrain the evaluator")
            if not isinstance(spec, dict) or not isinstance(spec.get("dim", 0), int):
                raise LeadError(f"{folder / 'vectorizer.json'}: expected a JSON object with \"kind\" and an "
                                "integer \"dim\"; retrain the evaluator or copy it again")
            if spec.get("kind") != "glove" or glove_dir is not None:
                vectorizer = WordVectorizer(load_word_vectors(spec, glove_dir), config.max_text_len)
        mean, std = _load_stats(folder)
        try:
            evaluator = cls(config, mean, std, vectorizer)
        except (ValueError, TypeError, AssertionError, RuntimeError) as error:
            raise LeadError(f"{source}: cannot build the evaluator from this config ({error})") from None
        check_regular_input(folder / "model.safetensors", "evaluator weights")
        try:
            state = load_file(str(folder / "model.safetensors"))
        except Exception as error:  # safetensors raises several types for a damaged file
            raise LeadError(f"{folder / 'model.safetensors'} is not a readable safetensors file ({error}); "
                            "retrain the evaluator or copy it again") from None
        try:
            evaluator.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise LeadError(
                f"{folder / 'model.safetensors'} does not fit {folder / 'config.json'}: "
                f"{str(error).splitlines()[0]}"
            ) from error
        return evaluator.eval()


def _find_checkpoint(path: Path, dataset: str) -> Path:
    if path.is_file():
        return path
    candidates = [
        path / "finest.tar",
        path / "model" / "finest.tar",
        path / dataset / "text_mot_match" / "model" / "finest.tar",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise LeadError(
        f"evaluator checkpoint not found: {path} is not finest.tar and holds none of "
        f"{', '.join(str(c.relative_to(path)) for c in candidates)}"
    )


def _load_stats(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    stats = []
    for name in ("mean.npy", "std.npy"):
        path = folder / name
        if not path.is_file():
            raise LeadError(
                f"evaluator statistics {path} not found: pass the folder with mean.npy and std.npy "
                "(for the published T2M evaluator: checkpoints/t2m/Comp_v6_KLD01/meta)"
            )
        from lead.io import load_array

        stats.append(load_array(path, "evaluator statistics", ndim=1).astype(np.float32))
    if stats[0].shape != stats[1].shape:
        raise LeadError(f"{folder}: mean.npy has {stats[0].shape[0]} channels but std.npy {stats[1].shape[0]}")
    return stats[0], stats[1]
