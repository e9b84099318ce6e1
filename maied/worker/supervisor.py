"""The supervisor (asyncio, in the daemon): claim -> run in the child -> timeout/cancel -> record.

The API and the supervisor meet only in the store: a cancel is a flag the API sets; every status write
fires the store's listeners, which wake the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from maied.domain import PipelineOutput, TaskStatus, TaskWarning
from maied.pipeline.long_audio import WHOLE_FILE_MAX_SECONDS
from maied.pipeline.sharing import SharingPlan, plan_model_sharing
from maied.settings import Settings
from maied.store import Phase, TaskQueue, TaskRecord
from maied.worker.lease import LeaseKeeper
from maied.worker.process import WorkerProcess, kill_stale_worker
from maied.worker.protocol import Part, TaskInput

log = logging.getLogger(__name__)
HEADER_TRUSTED_SECONDS = WHOLE_FILE_MAX_SECONDS
"""A header's duration is believed up to the longest file the pipeline decodes whole (20 min); longer
recordings are windowed and report their progress."""
PROGRESS_AHEAD_SECONDS = 120.0
"""Audio the next window of a long recording may add (two 60 s windows), allowed for in the limit."""
STORE_RETRY_FIRST = 0.5
STORE_RETRY_MAX = 30.0
"""A write the store refuses (disk full, database locked) is retried from 0.5 s, doubling up to 30 s."""


@dataclass
class Running:
    record: TaskRecord
    started: float
    deadline: float
    stage: str = TaskStatus.PREPROCESSING.value


class Supervisor:
    def __init__(self, store: TaskQueue, settings: Settings, *,
                 on_status: Callable[[str], None] | None = None, sharing: SharingPlan | None = None):
        self.store = store
        self.settings = settings
        self.on_status = on_status
        self.sharing = sharing or plan_model_sharing(settings)
        self.worker: WorkerProcess | None = None
        self._holds: Literal["asr", "llm"] | None = None  # swap: which model the worker child holds
        self._turn = 0  # swap: tasks run since the worker last switched models
        self.running: Running | None = None
        self.model_loads: dict[str, int] = {}
        self._wakeup = asyncio.Event()
        self._interrupt = asyncio.Event()
        self._stopping = False
        self._drain_deadline: float | None = None
        self._pgid_file = settings.DATA_DIR / "run" / "worker.pgid"
        self.store_error: str | None = None
        self._retry = 0.0
        """Set while the store refuses writes (e.g. the disk is full); /health is unhealthy meanwhile."""
        store.add_listener(self._on_store_change)
        self.leases = LeaseKeeper(store, settings, self._running_record, on_lost=self._interrupt.set)

    # --- lifecycle ------------------------------------------------------------------------------
    def recover(self) -> dict[str, TaskStatus]:
        kill_stale_worker(self._pgid_file)
        outcome = self.store.recover_interrupted(max_requeues=self.settings.MAX_REQUEUES)
        if outcome:
            log.warning("recovered %d interrupted task(s): %s", len(outcome),
                        {k: v.value for k, v in outcome.items()})
        return outcome

    async def run_forever(self) -> None:
        heartbeat = asyncio.ensure_future(self._heartbeat())
        leases = asyncio.ensure_future(self.leases.run())
        log.info("models %s: %s", self.sharing.mode, self.sharing.reason,
                 extra={"event": "model_sharing", **self.sharing.to_dict()})
        try:
            while not self._stopping:
                try:
                    claimed = self._claim()
                except Exception as exc:  # the store cannot be read or written: wait, never end
                    self._store_failed("claim the next task", exc)
                    await self._idle_wait(self._retry_after())
                    continue
                self._store_ok()
                if claimed is None:
                    await self._idle_wait()
                    continue
                await self._run(*claimed)
        finally:
            heartbeat.cancel()
            leases.cancel()
            if self.worker is not None:
                await self.worker.stop()
                self.worker = None

    # --- what to run next -----------------------------------------------------------------------
    def _claim(self) -> tuple[TaskRecord, Part] | None:
        """The next task and the part of it to run. Together: oldest first, whole. Swap: see _next_phase."""
        if self.sharing.mode == "together":
            record = self.store.claim_next()
            return None if record is None else (record, "all")
        phase = self._next_phase()
        record = self.store.claim_next(phase) if phase is not None else None
        if record is None:
            return None
        if phase == "llm":
            return record, "llm"
        return record, "asr" if record.request.wants_llm() else "all"

    def _next_phase(self) -> Phase | None:
        """Swap: stay with the model the child holds while it has work, up to MODEL_SWAP_BATCH tasks when
        the other model has work waiting; then switch."""
        work = self.store.waiting_work()
        held = self._holds
        if held is None:
            return "asr" if work["asr"] else "llm" if work["llm"] else None
        other: Phase = "llm" if held == "asr" else "asr"
        if work[held] and (self._turn < self.sharing.batch or not work[other]):
            return held
        return other if work[other] else None

    async def _switch_models(self, part: Part) -> None:
        """Swap: before a part that needs the other model, the child holding this one exits (its memory,
        GPU memory included, goes with it)."""
        needs: Literal["asr", "llm"] = "llm" if part == "llm" else "asr"
        if needs == self._holds:
            self._turn += 1
            return
        if self.worker is not None:
            log.info("switching the worker from %s to %s: its child exits to free the GPU", self._holds, needs,
                     extra={"event": "model_switch", "from": self._holds, "to": needs})
            await self.worker.stop()
            self.worker = None
        self._holds, self._turn = needs, 1

    async def shutdown(self, grace: float) -> None:
        """Stop claiming; the running stage may finish within `grace`, else its task is requeued."""
        self._stopping = True
        self._drain_deadline = time.monotonic() + grace
        self._wakeup.set()
        self._interrupt.set()

    def healthy(self) -> bool:
        """For the systemd watchdog: no child, or a child that answers its heartbeat."""
        worker = self.worker
        return worker is None or not worker.alive or worker.answered_within(3 * self.settings.HEARTBEAT_SECONDS)

    def status_line(self) -> str:
        if self.running is None:
            return f"idle, {self.store.pending_count()} pending"
        return f"task {self.running.record.id}: {self.running.stage}"

    def _running_record(self) -> TaskRecord | None:
        return None if self.running is None else self.running.record

    # --- waiting --------------------------------------------------------------------------------
    def _on_store_change(self, task_id: str, status: TaskStatus) -> None:
        if status in (TaskStatus.PENDING, TaskStatus.PROCESSING_ASR):  # new work, or an ASR part now waits
            self._wakeup.set()                                           # for its LLM part (maybe on another host)
        if self.running is not None and self.running.record.id == task_id:
            self._interrupt.set()

    async def _idle_wait(self, retry: float | None = None) -> None:
        self._wakeup.clear()
        idle = self.settings.WORKER_IDLE_SECONDS
        timeout = retry or (idle if idle > 0 and self.worker is not None else 30.0)
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        except TimeoutError:
            if retry is None and idle > 0 and self.worker is not None:
                log.info("worker idle for %.0f s: stopping it to free its models", idle)
                await self.worker.stop()
                self.worker = None
                self._holds = None

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.HEARTBEAT_SECONDS)
            worker = self.worker
            if worker is None or not worker.alive:
                continue
            if not worker.answered_within(3 * self.settings.HEARTBEAT_SECONDS):
                log.error("worker child %d stopped answering its heartbeat: killing it", worker.pid)
                await worker.kill()  # the running task sees EOF and is requeued as a crash
                continue
            worker.ping()

    # --- one task -------------------------------------------------------------------------------
    async def _run(self, record: TaskRecord, part: Part) -> None:
        elapsed = float((record.asr_output or {}).get("elapsed") or 0.0)  # the ASR part's time counts
        started = time.monotonic() - elapsed
        self.running = Running(record, started, started + self._limit(record.input_duration), record.status.value)
        self._interrupt.clear()
        self._status()
        try:
            if self.sharing.mode == "swap":
                await self._switch_models(part)
            worker = await self._start_worker_for(record)
            if worker is None:
                return
            worker.send({"type": "run", "task": _task_input(record, part).to_dict()})
            await self._follow(worker)
        except Exception as exc:  # the daemon must never die of one task
            log.exception("supervisor error on task %s", record.id)
            await self._record("fail the task", self.store.fail, record.id, "WORKER_CRASHED",
                               f"worker could not run the task: {exc}", token=record.claim_token)
        finally:
            self.running = None
            self._status()

    def _limit(self, audio_seconds: float | None, *, from_header: bool = True) -> float:
        """max(JOB_TIMEOUT, JOB_TIMEOUT_RTF x audio seconds). A file's header is believed up to
        HEADER_TRUSTED_SECONDS (a header claiming days must not buy days); a longer recording's limit grows
        with the audio actually transcribed (progress messages)."""
        seconds = float(audio_seconds or 0.0)
        if from_header:
            seconds = min(seconds, HEADER_TRUSTED_SECONDS)
        return max(self.settings.JOB_TIMEOUT, self.settings.JOB_TIMEOUT_RTF * seconds)

    async def _start_worker_for(self, record: TaskRecord) -> WorkerProcess | None:
        """The child, started if needed; a child that dies while starting counts as a crash under the
        task (requeued up to MAX_ATTEMPTS), not as a failure of the task itself."""
        try:
            return await self._ensure_worker()
        except (RuntimeError, OSError, TimeoutError) as exc:
            self.worker = None
            status = await self._record("requeue after a failed start", self.store.requeue_after_crash, record.id,
                                        max_attempts=self.settings.MAX_ATTEMPTS,
                                        reason=f"the worker child did not start: {exc}",
                                        token=record.claim_token)
            log.error("worker child did not start for task %s (%s): task is now %s", record.id, exc,
                      getattr(status, "value", status))
            return None

    async def _ensure_worker(self) -> WorkerProcess:
        if self.worker is None or not self.worker.alive:
            self.worker = await WorkerProcess.start(self.settings, self._pgid_file)
        return self.worker

    async def _follow(self, worker: WorkerProcess) -> None:
        running = self.running
        assert running is not None
        while True:
            message = await self._next_event(worker, running)
            if message is None:
                return
            if await self._handle(message, running):
                return

    async def _next_event(self, worker: WorkerProcess, running: Running) -> dict[str, Any] | None:
        """The next message of the child, or None once an interruption (crash, timeout, cancel,
        shutdown) was dealt with."""
        get = asyncio.ensure_future(worker.messages.get())
        try:
            while not get.done():
                if await self._interrupted(worker, running):
                    return None
                timeout = self._wait_budget(running)
                interrupt = asyncio.ensure_future(self._interrupt.wait())
                await asyncio.wait({get, interrupt}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                interrupt.cancel()
                self._interrupt.clear()
            message = get.result()
        finally:
            get.cancel()
        if message is None:
            await self._on_crash(worker, running)
        return message

    def _wait_budget(self, running: Running) -> float:
        limits = [running.deadline]
        if self._drain_deadline is not None:
            limits.append(self._drain_deadline)
        return max(0.0, min(limits) - time.monotonic())

    async def _interrupted(self, worker: WorkerProcess, running: Running) -> bool:
        task_id, token = running.record.id, running.record.claim_token
        now = time.monotonic()
        if now >= running.deadline:
            await self._kill(worker)
            limit = running.deadline - running.started
            await self._record("record a timeout", self.store.fail, task_id, "JOB_TIMEOUT",
                               f"the task ran longer than its limit of {limit:.0f} s", stage=running.stage, token=token)
            return True
        current = await self._record("read the task", self.store.get, task_id)
        if current is not None and current.claim_token != token:  # lease lost: another host has the task
            await self._kill(worker)
            log.error("task %s: this host lost its lease; it is not ours to record any more", task_id)
            return True
        if current is None or current.cancel_requested or current.status.is_terminal:
            await self._kill(worker)
            await self._record("record a cancel", self.store.mark_cancelled, task_id, token=token)
            return True
        if self._drain_deadline is not None and now >= self._drain_deadline:
            await self._kill(worker)
            await self._record("requeue for shutdown", self.store.requeue_for_shutdown, task_id, token=token)
            log.warning("shutdown grace expired: task %s put back in the queue", task_id)
            return True
        return False

    async def _on_crash(self, worker: WorkerProcess, running: Running) -> None:
        await worker.kill()
        self.worker = None
        reason = worker.exit_reason()
        status = await self._record("requeue after a crash", self.store.requeue_after_crash, running.record.id,
                                    max_attempts=self.settings.MAX_ATTEMPTS, reason=reason,
                                    token=running.record.claim_token)
        log.error("worker child died during task %s (%s): task is now %s", running.record.id, reason,
                  getattr(status, "value", status))

    async def _kill(self, worker: WorkerProcess) -> None:
        await worker.kill()
        self.worker = None

    async def _handle(self, message: dict[str, Any], running: Running) -> bool:
        """Apply one child message; True when the task is finished. A finished task's result is kept
        here and written again until the store takes it."""
        kind, task_id, token = message["type"], running.record.id, running.record.claim_token
        if kind == "stage":
            running.stage = message["status"]
            duration = message.get("input_duration")
            if duration:
                running.deadline = running.started + self._limit(duration)
            self._try_write("record a stage", self.store.set_stage, task_id, TaskStatus(running.stage),
                            input_duration=duration, token=token)
            self._status()
        elif kind == "progress":  # a long recording: the limit follows the audio really transcribed
            done = float(message.get("audio_seconds") or 0.0) + PROGRESS_AHEAD_SECONDS
            running.deadline = max(running.deadline, running.started + self._limit(done, from_header=False))
        elif kind == "model_load":
            name = str(message.get("kind")).split(":")[0]  # "asr", "llm"
            self.model_loads[name] = self.model_loads.get(name, 0) + 1
            self._try_write("count a model load", self.store.bump_counter, f"model_loads:{name}")
        elif kind == "done":
            await self._record("record the result", self.store.complete, task_id, _output(message["output"]),
                               token=token)
            return True
        elif kind == "asr_done":  # swap: the LLM part runs later, in the child that holds the LLM
            await self._record("record the transcript", self.store.save_asr_output, task_id, message["asr_output"],
                               token=token)
            return True
        elif kind == "asr_part":  # kept before the LLM stage: a failure or crash there loses no transcript
            self._try_write("keep the transcript", self.store.keep_asr_output, task_id, message["asr_output"],
                            token=token)
        elif kind == "failed":
            await self._record("record the failure", self.store.fail, task_id, message["code"], message["message"],
                               stage=message.get("stage"), token=token)
            return True
        return False

    # --- writes the store may refuse (disk full) ----------------------------------------------------
    async def _record(self, what: str, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`write` until the store takes it, backing off; given up only when a shutdown's grace is over
        (the task is then recovered as interrupted at the next start)."""
        while True:
            try:
                result = write(*args, **kwargs)
            except Exception as exc:
                self._store_failed(what, exc)
                if self._drain_deadline is not None and time.monotonic() >= self._drain_deadline:
                    log.error("shutting down: could not %s; the task is recovered at the next start", what)
                    return None
                await asyncio.sleep(self._retry_after())
                continue
            self._store_ok()
            return result

    def _try_write(self, what: str, write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """A write that may be lost (progress, counters): tried once."""
        try:
            write(*args, **kwargs)
        except Exception as exc:
            self._store_failed(what, exc)

    def _store_failed(self, what: str, exc: Exception) -> None:
        if self.store_error is None:
            log.error("the store refuses writes (could not %s: %s): retrying with back-off", what, exc,
                      extra={"event": "store_unwritable"})
        self.store_error = f"could not {what}: {exc}"
        self._retry = min(STORE_RETRY_MAX, max(STORE_RETRY_FIRST, 2 * self._retry))

    def _store_ok(self) -> None:
        if self.store_error is not None:
            log.warning("the store takes writes again", extra={"event": "store_writable"})
        self.store_error = None
        self._retry = 0.0

    def _retry_after(self) -> float:
        return self._retry or STORE_RETRY_FIRST

    def _status(self) -> None:
        if self.on_status is not None:
            with contextlib.suppress(Exception):
                self.on_status(self.status_line())


def _task_input(record: TaskRecord, part: Part = "all") -> TaskInput:
    return TaskInput(id=record.id, kind=record.kind, request=record.request, audio_path=record.audio_path,
                     input_text=record.input_text, phase=part, asr_output=record.asr_output)


def _output(data: dict[str, Any]) -> PipelineOutput:
    return PipelineOutput(
        results=data.get("results") or {},
        metrics=data.get("metrics") or {},
        versions=data.get("versions") or {},
        warnings=[TaskWarning(**w) for w in data.get("warnings") or []],
    )
