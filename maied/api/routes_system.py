"""System routes: /health, /metrics (Prometheus), /v1/models, /openapi.json."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from maied import __version__
from maied.api.context import ApiContext, ctx_of
from maied.api.openapi import openapi_spec
from maied.api.routes_tasks import disk_used_percent
from maied.api.views import iso
from maied.models_info import asr_summary, describe_models, llm_summary

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    db_ok = ctx.store.db_ok() and ctx.facts.store_writable()
    used = disk_used_percent(ctx, in_flight=False)
    disk_ok = used is None or used <= ctx.settings.DISK_THRESHOLD
    if not db_ok or not ctx.facts.supervisor_alive():
        state = "unhealthy"
    elif not disk_ok or not ctx.facts.worker_healthy() or ctx.facts.shutting_down():
        state = "degraded"
    else:
        state = "healthy"
    body = {
        "status": state,
        "version": __version__,
        "queue_depth": _pending(ctx),
        "worker_active": ctx.facts.worker_active(),
        "db_ok": db_ok,
        "disk_used_percent": None if used is None else round(used, 1),
        "asr": asr_summary(ctx.settings),
        "llm": llm_summary(ctx.settings),
        "model_sharing": ctx.facts.model_sharing(),
        "worker": ctx.settings.WORKER_NAME,
        "hosts": _hosts(ctx) if db_ok else [],
    }
    return web.json_response(body, status=200 if state != "unhealthy" else 503)


def _pending(ctx: ApiContext) -> int | None:
    try:
        return ctx.store.pending_count()
    except Exception:
        return None


def _hosts(ctx: ApiContext) -> list[dict[str, Any]]:
    """Every host that shares this queue, with its last heartbeat and the task it runs."""
    now = time.time()
    return [{"name": h.name, "last_heartbeat": iso(h.heartbeat_at), "seconds_since_heartbeat": round(now - h.heartbeat_at, 1),
             "running_task": h.running_task, "started_at": iso(h.started_at)} for h in ctx.store.hosts()]


@routes.get("/v1/models")
async def models(request: web.Request) -> web.Response:
    return web.json_response(describe_models(ctx_of(request).settings))


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_spec())


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    lines = _gauge("maie_queue_depth", "Tasks waiting (PENDING).", [({}, ctx.store.pending_count())])
    counts = ctx.store.count_by_status()
    lines += _gauge("maie_tasks", "Tasks in the store by status.", [({"status": s}, n) for s, n in counts.items()])
    loads = _model_loads(ctx)
    lines += _counter("maie_model_loads_total", "Models loaded by the worker.",
                      [({"kind": k}, n) for k, n in sorted(loads.items())])
    lines += _gauge("maie_worker_active", "1 while a task runs.", [({}, int(ctx.facts.worker_active()))])
    lines += _stage_metrics(ctx)
    now = time.time()
    lines += _gauge("maie_host_heartbeat_age_seconds", "Seconds since each host sharing the queue last beat.",
                    [({"host": h.name}, round(now - h.heartbeat_at, 1)) for h in ctx.store.hosts()])
    lines += _gauge("maie_host_running", "1 while the host runs a task (from its heartbeat).",
                    [({"host": h.name}, int(h.running_task is not None)) for h in ctx.store.hosts()])
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


def _model_loads(ctx: ApiContext) -> dict[str, int]:
    stored = {k.removeprefix("model_loads:"): v for k, v in ctx.store.counters().items()
              if k.startswith("model_loads:")}
    return stored


def _stage_metrics(ctx: ApiContext) -> list[str]:
    """Sums and counts of stage seconds and RTF over the finished tasks still in the store."""
    keys = ["preprocess_seconds", "asr_seconds", "llm_seconds", "processing_time_seconds"]
    sums: dict[str, list[float]] = {k: [] for k in keys}
    rtfs: list[float] = []
    for record in ctx.store.list_tasks(status="COMPLETE", limit=1000):
        for key in keys:
            value = record.metrics.get(key)
            if isinstance(value, int | float):
                sums[key].append(float(value))
        rtf = record.metrics.get("rtf")
        if isinstance(rtf, int | float):
            rtfs.append(float(rtf))
    lines = ["# HELP maie_stage_seconds Seconds spent per stage (last 1000 completed tasks).",
             "# TYPE maie_stage_seconds summary"]
    for key, values in sums.items():
        stage = key.removesuffix("_seconds")
        lines.append(f'maie_stage_seconds_sum{{stage="{stage}"}} {sum(values):.3f}')
        lines.append(f'maie_stage_seconds_count{{stage="{stage}"}} {len(values)}')
    mean = sum(rtfs) / len(rtfs) if rtfs else 0.0
    lines += _gauge("maie_rtf_mean", "Mean real-time factor of the last 1000 completed tasks.", [({}, mean)])
    return lines


def _fmt(labels: dict[str, Any]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _gauge(name: str, help_text: str, samples: list[tuple[dict[str, Any], float]]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"] + [f"{name}{_fmt(lbl)} {v}" for lbl, v in samples]


def _counter(name: str, help_text: str, samples: list[tuple[dict[str, Any], float]]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} counter"] + [f"{name}{_fmt(lbl)} {v}" for lbl, v in samples]
