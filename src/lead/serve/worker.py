"""One worker thread owns the pipeline: it takes queued jobs, merges those that can share a pipeline call
(same sampler, steps and guidance; concepts that don't clash; up to `max_batch` rows) and runs them as one
batch. A job is one request: `rows` samples, each decoded twice from the same z (LEAD and MLD)."""

from __future__ import annotations

import collections
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import torch

from lead.errors import LeadError

log = logging.getLogger("lead.serve")


class Busy(Exception):
    """The queue is full: the client should retry later (HTTP 503)."""


@dataclass
class Job:
    texts: list[str]  # one per row (the request's text repeated num_samples times)
    lengths: list[int]
    seeds: list[int]
    sampler: str
    steps: int
    guidance: float
    concepts: dict = field(default_factory=dict)  # token → Concept
    future: Future = field(default_factory=Future)
    queued_at: float = field(default_factory=time.perf_counter)

    @property
    def rows(self) -> int:
        return len(self.texts)

    @property
    def key(self) -> tuple:
        return (self.sampler, self.steps, float(self.guidance))


@dataclass
class Motion:
    features: np.ndarray  # (T, F) de-normalised HumanML3D features
    joints: np.ndarray  # (T, J, 3) metres, Y up


@dataclass
class JobResult:
    motions: list[dict[str, Motion]]  # per row: {"lead": Motion, "mld": Motion}
    batch_rows: int  # rows of the pipeline call this job ran in (for the log and the benchmark)
    seconds: float  # time of that pipeline call
    warning: str | None = None  # the text is not what the model was trained on (lead.models.vocabulary)


def _clash(chosen: dict, concepts: dict) -> bool:
    """Two jobs can share a call unless they give the same token different embeddings."""
    for token, concept in concepts.items():
        other = chosen.get(token)
        if other is not None and other is not concept and not torch.equal(other.embedding, concept.embedding):
            return True
    return False


class BatchWorker:
    """`submit(job)` → a Future of `JobResult`; raises `Busy` when `max_queue` jobs already wait."""

    def __init__(self, pipe, variants: dict, max_batch: int = 32, max_queue: int = 64, gather_s: float = 0.05) -> None:
        self.pipe = pipe
        self.variants = variants  # {"lead": DEFAULT, "mld": None}: how each row's z is decoded
        self.max_batch = max_batch
        self.max_queue = max_queue
        # An idle worker that gets a request waits while more keep arriving (each within gather_s / 5, at most
        # gather_s in all), so a burst starts as one full batch instead of a batch of one and then the rest.
        self.gather_s = gather_s
        self._pending: collections.deque[Job] = collections.deque()
        self._wake = threading.Condition()
        self._running = threading.Event()  # cleared by pause()
        self._running.set()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.requests = 0
        self.batch_sizes: list[int] = []  # requests merged per pipeline call

    # --- control ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop = False
            self._thread = threading.Thread(target=self._loop, name="lead-serve-worker", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        self._running.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._wake:
            while self._pending:
                self._pending.popleft().future.set_exception(LeadError("the server is shutting down"))

    def pause(self) -> None:
        """Finish the running batch, then take no more until `resume()` (queued jobs stay queued)."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()
        with self._wake:
            self._wake.notify_all()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def stats(self) -> dict:
        return {"pending": self.pending, "max_queue": self.max_queue, "max_batch": self.max_batch,
                "batches": self.batches, "requests": self.requests, "paused": not self._running.is_set()}

    # --- queue -----------------------------------------------------------------------------
    def submit(self, job: Job) -> Future:
        if job.rows > self.max_batch:
            raise LeadError(f"{job.rows} samples in one request; at most {self.max_batch}")
        with self._wake:
            if self._stop:
                raise Busy("the server is shutting down")
            if len(self._pending) >= self.max_queue:
                raise Busy(f"the server is busy: {len(self._pending)} requests are already waiting "
                           f"(at most {self.max_queue}); try again in a few seconds")
            self._pending.append(job)
            self._wake.notify()
        return job.future

    def _take(self) -> list[Job]:
        """The oldest job and every later compatible one that fits, in arrival order."""
        first = self._pending.popleft()
        chosen, rows, concepts, left = [first], first.rows, dict(first.concepts), collections.deque()
        while self._pending:
            job = self._pending.popleft()
            if job.key == first.key and rows + job.rows <= self.max_batch and not _clash(concepts, job.concepts):
                chosen.append(job)
                rows += job.rows
                concepts.update(job.concepts)
            else:
                left.append(job)
        self._pending.extendleft(reversed(left))
        return chosen

    def _gather(self) -> None:
        """(Holding the lock) wait briefly while requests are still arriving and the batch is not full."""
        deadline = time.perf_counter() + self.gather_s
        while not self._stop and sum(job.rows for job in self._pending) < self.max_batch:
            seen = len(self._pending)
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            self._wake.wait(min(left, self.gather_s / 5))
            if len(self._pending) == seen:
                return

    def _loop(self) -> None:
        while True:
            self._running.wait()
            with self._wake:
                while not self._pending and not self._stop:
                    self._wake.wait()
                if self._stop:
                    return
                if not self._running.is_set():
                    continue
                self._gather()
                jobs = self._take()
            self._execute(jobs)

    # --- running ---------------------------------------------------------------------------
    def _execute(self, jobs: list[Job]) -> None:
        jobs = [job for job in jobs if job.future.set_running_or_notify_cancel()]
        if not jobs:
            return
        try:
            results = self._run(jobs)
        except Exception as error:  # noqa: BLE001 — one bad job must not fail the jobs merged with it
            if len(jobs) > 1:
                log.info("a merged batch of %d requests failed (%s); running them one by one", len(jobs), error)
                for job in jobs:
                    self._execute_alone(job)
                return
            jobs[0].future.set_exception(error)
            return
        for job, result in zip(jobs, results):
            job.future.set_result(result)

    def _execute_alone(self, job: Job) -> None:
        try:
            job.future.set_result(self._run([job])[0])
        except Exception as error:  # noqa: BLE001 — handed to the request that caused it
            job.future.set_exception(error)

    def _run(self, jobs: list[Job]) -> list[JobResult]:
        texts = [t for job in jobs for t in job.texts]
        lengths = [n for job in jobs for n in job.lengths]
        seeds = [s for job in jobs for s in job.seeds]
        concepts: dict = {}
        for job in jobs:
            concepts.update(job.concepts)
        first = jobs[0]
        start = time.perf_counter()
        rows: list[dict[str, Motion]] = [{} for _ in texts]
        for batch, decoded, _used in self.pipe.generate_batches(
            texts, lengths, seeds, self.variants, batch_size=len(texts), concepts=list(concepts.values()) or None,
            sampler=first.sampler, num_inference_steps=first.steps, guidance_scale=first.guidance,
        ):
            for name, features in decoded.items():
                raw, joints = self.pipe.to_motion(features, lengths[batch])
                for offset, (f, j) in enumerate(zip(raw, joints)):
                    rows[batch.start + offset][name] = Motion(f, j)
        seconds = time.perf_counter() - start
        # here, on the worker's thread: the text encoder is not safe to share with a request thread
        coverage = dict(zip(texts, self.pipe.prompt_coverage(texts)))
        self.batches += 1
        self.requests += len(jobs)
        self.batch_sizes.append(len(jobs))
        log.info("batch %d: %d requests, %d rows, %.2f s", self.batches, len(jobs), len(texts), seconds)
        results, at = [], 0
        for job in jobs:
            found = coverage.get(job.texts[0])
            results.append(JobResult(rows[at:at + job.rows], len(texts), seconds, found and found.warning))
            at += job.rows
        return results
