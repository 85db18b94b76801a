"""The FastAPI app: JSON API under /api, the page at /, OpenAPI docs at /docs.

Every error is answered as JSON `{"error": message}`: 400 for a request the model cannot serve (with
what to change), 404 for an unknown file, 413 for an oversized upload, 422 for a malformed body,
503 when the queue is full, 500 (message only, the traceback goes to the server log) for a bug."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from lead import __version__
from lead.diffusion import check_steps, get_sampler
from lead.errors import LeadError
from lead.pipeline import DEFAULT
from lead.serve.concepts import ConceptRegistry, check_session
from lead.serve.docs import install_offline_docs
from lead.serve.files import FileStore
from lead.serve.guard import HostAllowList, RequestGuard
from lead.serve.limits import ServeLimits
from lead.serve.schemas import ConceptResponse, GenerateRequest, GenerateResponse
from lead.serve.worker import BatchWorker, Busy, Job
from lead.text_check import clean_text

log = logging.getLogger("lead.serve")
STATIC = Path(__file__).parent / "static"


class Server:
    """What the routes share: the pipeline, its worker, the written files and the uploaded concepts."""

    def __init__(self, pipe, limits: ServeLimits, folder: Path) -> None:
        self.pipe = pipe
        self.limits = limits
        self.fps = int(pipe.config.fps)
        self.variants = {"lead": DEFAULT, "mld": None} if pipe.projector is not None else {"mld": None}
        self.worker = BatchWorker(pipe, self.variants, limits.max_batch, limits.max_queue)
        self.files = FileStore(folder / "files", pipe.config.skeleton, self.fps, limits.max_generations)
        self.concepts = ConceptRegistry(pipe, folder / "concepts", limits.max_upload_bytes, limits.max_sessions,
                                        limits.max_concepts_per_session)

    @property
    def max_seconds(self) -> float:
        return self.pipe.max_frames / self.fps

    def _skeleton(self):
        from lead.motion.skeleton import get_skeleton

        return get_skeleton(self.pipe.config.skeleton)

    def info(self) -> dict:
        skeleton = self._skeleton()
        limits = dict(vars(self.limits), max_seconds=self.max_seconds, max_frames=self.pipe.max_frames)
        samplers = [name for name in ("ddim", "dpm++", "unipc", "euler", "lcm") if self._sampler_problem(name) is None]
        return {"lead_version": __version__, "model": self.pipe.identity, "fps": self.fps,
                "skeleton": self.pipe.config.skeleton, "parents": list(skeleton.parents),
                "joint_names": list(skeleton.joint_names),
                "variants": list(self.variants), "samplers": samplers, "limits": limits,
                "defaults": {"guidance": self.pipe.resolve_guidance(None),
                             "lcm_guidance": self.pipe.resolve_guidance(None, "lcm")},
                "text_encoder": {"identity": self.pipe.text_encoder.identity,  # what a concept file must match
                                 "word_embedding_dim": int(self.pipe.text_encoder.input_embeddings.weight.shape[-1])}}

    def _sampler_problem(self, sampler: str) -> str | None:
        component = get_sampler(sampler).component
        if component == "lcm" and self.pipe.lcm is None:
            return f"the {sampler} sampler needs the model's lcm/ component; this model has none"
        if component != "lcm" and self.pipe.denoiser is None:
            return f"this model has only an lcm/ denoiser: use the lcm sampler, not {sampler}"
        return None

    def make_job(self, request: GenerateRequest) -> Job:
        """Check `request` against the limits and the model; a `LeadError` says what to change."""
        limits = self.limits
        text = clean_text(request.text, limits.max_text_chars)
        # the range first: seconds * fps overflows to inf for 1e308, and round(inf) raises
        frames = round(request.seconds * self.fps) if request.seconds <= self.max_seconds + 1 else 0
        if not 1 <= frames <= self.pipe.max_frames:
            raise LeadError(f"seconds must be in {1 / self.fps:.2f}..{self.max_seconds:.2f} for this model "
                            f"({self.pipe.max_frames} frames at {self.fps} fps), got {request.seconds}")
        if request.num_samples > limits.max_samples:
            raise LeadError(f"num_samples must be in 1..{limits.max_samples}, got {request.num_samples}")
        if request.steps > limits.max_steps:
            raise LeadError(f"steps must be in 1..{limits.max_steps} on this server, got {request.steps}")
        guidance = self.pipe.resolve_guidance(request.guidance, request.sampler)
        if guidance > limits.max_guidance:
            raise LeadError(f"guidance must be in 0..{limits.max_guidance}, got {guidance}")
        if request.seed + request.num_samples - 1 > limits.max_seed:
            raise LeadError(f"seed must be in 0..{limits.max_seed - request.num_samples + 1}, got {request.seed}")
        problem = self._sampler_problem(request.sampler)
        if problem:
            raise LeadError(problem)
        check_steps(request.sampler, request.steps)
        if request.projector != "both" and request.projector not in self.variants:
            raise LeadError("this model has no projector/ component, so only projector='mld' is available")
        concepts = self.concepts.for_request(check_session(request.session), text, request.concepts)
        self.pipe.check_request([text], [frames], concepts)
        n = request.num_samples
        return Job([text] * n, [frames] * n, [request.seed + i for i in range(n)], request.sampler, request.steps,
                   guidance, concepts)

    def respond(self, request: GenerateRequest, job: Job, result) -> dict:
        """Write the files and build the JSON answer (runs in a thread pool, not on the event loop)."""
        wanted = list(self.variants) if request.projector == "both" else [request.projector]
        generation = self.files.new_id()
        samples = [{name: row[name] for name in wanted} for row in result.motions]
        links = self.files.add(generation, job.texts[0], samples, job.seeds)
        parents = list(self._skeleton().parents)
        return {
            "id": generation, "text": job.texts[0], "frames": job.lengths[0], "seconds": job.lengths[0] / self.fps,
            "fps": self.fps, "skeleton": self.pipe.config.skeleton, "parents": parents,
            "settings": {"sampler": job.sampler, "steps": job.steps, "guidance": job.guidance, "seed": job.seeds[0],
                         "num_samples": len(job.seeds), "projector": request.projector,
                         "smoothing": self.pipe.config.smoothing, "foot_cleanup": self.pipe.config.foot_cleanup,
                         "model": self.pipe.identity},
            "concepts": sorted(job.concepts), "batch_rows": result.batch_rows, "warning": result.warning,
            "samples": [
                {"index": index, "seed": seed, "motions": {
                    name: {"joints": np.round(sample[name].joints.astype(np.float64), 4).tolist(),
                           "files": {kind: f"/api/files/{file_id}" for kind, file_id in link[name].items()}}
                    for name in wanted}}
                for index, (seed, sample, link) in enumerate(zip(job.seeds, samples, links))
            ],
        }


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LeadError)
    async def lead_error(_request: Request, error: LeadError):
        return _error(400, str(error))

    @app.exception_handler(Busy)
    async def busy(_request: Request, error: Busy):
        response = _error(503, str(error), busy=True)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError):
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        return _error(422, "; ".join(problems) or "invalid request", detail=jsonable(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException):
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def crash(_request: Request, error: Exception):
        log.exception("internal error", exc_info=error)
        return _error(500, f"internal error ({type(error).__name__}); the server log has the details")


def jsonable(errors) -> list:
    """Validation errors without their inputs (a NaN, an infinity or bytes would not serialise)."""
    return [{"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", "")),
             "type": str(item.get("type", ""))} for item in errors]


def create_app(pipe, limits: ServeLimits | None = None, folder: str | Path | None = None,
               hosts: HostAllowList | None = None) -> FastAPI:
    """The app around `pipe`. Files go under `folder` (default: a temporary folder removed at shutdown).
    The worker starts with the app (lifespan) and `app.state.server` holds the shared state. `hosts`: the Host
    names answered (None: any; `lead serve` passes the loopback names when bound to a loopback address)."""
    owned = folder is None
    root = Path(tempfile.mkdtemp(prefix="lead-serve-")) if owned else Path(folder)
    server = Server(pipe, limits or ServeLimits(), root)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        server.worker.start()
        try:
            yield
        finally:
            server.worker.stop()
            if owned:
                shutil.rmtree(root, ignore_errors=True)

    app = FastAPI(title="lead serve", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Text to 3D human motion with LEAD and the MLD baseline, side by side.")
    app.state.server = server
    upload_limit = server.limits.max_upload_bytes + 64 * 1024  # the file and its multipart framing

    def body_limit(path: str) -> int:
        return upload_limit if path == "/api/concepts" else server.limits.max_json_bytes

    app.add_middleware(RequestGuard, body_limit=body_limit, hosts=hosts)
    _install_error_handlers(app)

    @app.get("/api/info", summary="The model, its skeleton, the samplers and the server's limits")
    async def info() -> dict:
        return server.info()

    @app.get("/api/status", summary="Queue length and how many batches and requests the worker has run")
    async def status() -> dict:
        return server.worker.stats()

    @app.post("/api/generate", response_model=GenerateResponse, summary="Generate motions from a text",
              responses={400: {"description": "a request the model cannot serve"}, 503: {"description": "busy"}})
    async def generate(request: GenerateRequest):
        job = server.make_job(request)
        future = server.worker.submit(job)
        result = await asyncio.wrap_future(future)
        return JSONResponse(await run_in_threadpool(server.respond, request, job, result))

    @app.post("/api/concepts", response_model=ConceptResponse, summary="Upload a concept (.safetensors)")
    async def upload_concept(file: Annotated[UploadFile, File()], session: Annotated[str, Form()]):
        data = await file.read(server.limits.max_upload_bytes + 1)
        if len(data) > server.limits.max_upload_bytes:
            return _error(413, f"{file.filename} is over {server.limits.max_upload_bytes} bytes; a concept file "
                          "from `lead invert` is a few kB")
        concept = await run_in_threadpool(server.concepts.add, session, file.filename or "", data)
        return {"token": concept.token, "init_word": concept.init_word, "session": session,
                "tokens": server.concepts.tokens(session)}

    @app.get("/api/files/{file_id}", summary="Download a file this server wrote (npy, BVH, mp4)")
    async def download(file_id: str):
        try:
            stored = await run_in_threadpool(server.files.get, file_id)
        except KeyError:
            return _error(404, f"no file {file_id!r} on this server (files of old generations are deleted)")
        return FileResponse(stored.path, media_type=stored.media_type, filename=stored.download_name)

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    install_offline_docs(app)  # /docs from the package's own Swagger UI files: works offline
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
