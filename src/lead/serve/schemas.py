"""JSON bodies of the API (FastAPI documents them at /docs). Types are checked here; the bounds that
depend on the model and the server's limits are checked by `app.make_job`, with messages that say why."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lead import defaults

Sampler = Literal["ddim", "dpm++", "unipc", "euler", "lcm"]  # lead.defaults.SAMPLERS


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="what the figure does, e.g. 'a person waves with the left hand'")
    seconds: float = Field(defaults.SECONDS, gt=0, allow_inf_nan=False, description="motion length")
    seed: int = Field(0, ge=0, description="sample i uses seed + i; LEAD and MLD share each seed's latent")
    num_samples: int = Field(1, ge=1, description="samples of this text")
    guidance: float | None = Field(None, ge=0, allow_inf_nan=False,
                                   description="classifier-free guidance (default: the model's, /api/info)")
    sampler: Sampler = defaults.SAMPLER
    steps: int = Field(defaults.STEPS, ge=1, description="sampler steps (lcm: 1-4)")
    projector: Literal["both", "lead", "mld"] = Field(
        "both", description="lead: with LEAD's projector; mld: without (the baseline); both: side by side")
    concepts: list[str] | None = Field(None, description="tokens of concepts this session uploaded; tokens "
                                       "that appear in the text are used without being listed")
    session: str | None = Field(None, description="the page's session id (for its uploaded concepts)")


class MotionJSON(BaseModel):
    joints: list[list[list[float]]] = Field(description="[T][J][3] joint positions, metres, Y up")
    files: dict[str, str] = Field(description="kind (npy, joints, bvh, mp4) → download URL")


class SampleJSON(BaseModel):
    index: int
    seed: int
    motions: dict[str, MotionJSON] = Field(description="'lead' and/or 'mld'")


class GenerateResponse(BaseModel):
    id: str
    text: str
    frames: int
    seconds: float
    fps: int
    skeleton: str
    parents: list[int]
    settings: dict
    concepts: list[str]
    batch_rows: int = Field(description="rows of the pipeline call this request was merged into")
    warning: str | None = Field(None, description="set when the text is unlike anything the model was trained on "
                                "(or a motion it did not learn): it names the nearest things the model does")
    samples: list[SampleJSON]


class ConceptResponse(BaseModel):
    token: str
    init_word: str
    session: str
    tokens: list[str]
