"""The OpenAPI 3 description of the API (served at /openapi.json, used by the fuzz tests)."""

from __future__ import annotations

from typing import Any

from maied import __version__
from maied.api.openapi_openai import openai_paths, openai_schemas
from maied.domain import ASR_BACKENDS, Feature, TaskStatus

_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
_TEMPLATE_ID = {"name": "template_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): _json(_ref("Error"), "error") for c in codes}


def _schemas() -> dict[str, Any]:
    nullable_str = {"type": ["string", "null"]}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
        }}},
        "Accepted": {"type": "object", "required": ["task_id", "status"],
                     "properties": {"task_id": {"type": "string"}, "status": {"type": "string"}}},
        "Status": {"type": "object", "required": ["task_id", "status"], "properties": {
            "task_id": {"type": "string"},
            "status": {"type": "string", "enum": [s.value for s in TaskStatus]},
            "stage": nullable_str, "error": nullable_str, "error_code": nullable_str,
            "warnings": {"type": "array", "items": {"type": "object"}},
            "submitted_at": nullable_str, "started_at": nullable_str, "completed_at": nullable_str,
            "queue_position": {"type": ["integer", "null"]},
            "versions": {"type": ["object", "null"]}, "metrics": {"type": ["object", "null"]},
            "results": {"type": ["object", "null"],
                        "description": "COMPLETE: every result; FAILED: what the stages before the failure "
                                       "produced (raw_transcript, segments, language), else null"},
            "source_task_id": {"type": ["string", "null"],
                               "description": "the task whose transcript a summarize task reads"},
            "worker": {**nullable_str, "description": "WORKER_NAME of the host that ran (or runs) the task"},
        }},
        "TaskList": {"type": "object", "required": ["tasks"], "properties": {
            "tasks": {"type": "array", "items": {"type": "object"}}, "next_cursor": nullable_str}},
        "Health": {"type": "object", "required": ["status", "version"], "properties": {
            "status": {"type": "string", "enum": ["healthy", "degraded", "unhealthy"]},
            "version": {"type": "string"}, "queue_depth": {"type": ["integer", "null"]},
            "worker_active": {"type": "boolean"}, "db_ok": {"type": "boolean"},
            "disk_used_percent": {"type": ["number", "null"]}, "asr": {"type": "object"}, "llm": {"type": "object"},
            "model_sharing": {"type": "object"},
            "worker": {"type": "string", "description": "this host's WORKER_NAME"},
            "hosts": {"type": "array", "description": "every host sharing the queue", "items": {
                "type": "object", "properties": {
                    "name": {"type": "string"}, "last_heartbeat": nullable_str,
                    "seconds_since_heartbeat": {"type": "number"}, "running_task": nullable_str,
                    "started_at": nullable_str}}},
        }},
        "Models": {"type": "object", "required": ["object", "data", "asr", "llm"], "properties": {
            "object": {"type": "string", "const": "list"},
            "data": {"type": "array", "items": {"type": "object", "required": ["id", "object", "created", "owned_by"],
                                                "properties": {"id": {"type": "string"}, "object": {"const": "model"},
                                                               "created": {"type": "integer"},
                                                               "owned_by": {"type": "string"}}}},
            "asr": {"type": "array", "items": {"type": "object"}}, "llm": {"type": "object"},
        }},
        "ProcessForm": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "features": {"type": "array", "items": {"type": "string", "enum": [f.value for f in Feature]}},
            "template_id": {"type": "string"}, "asr_backend": {"type": "string", "enum": list(ASR_BACKENDS)},
            "language": {"type": "string"}, "enable_vad": {"type": "boolean"},
            "vad_threshold": {"type": "number", "minimum": 0, "maximum": 1},
            "enable_diarization": {"type": "boolean"}, "vocabulary": {"type": "string"},
            "num_speakers": {"type": "integer", "minimum": 1, "maximum": 20},
            "min_speakers": {"type": "integer", "minimum": 1, "maximum": 20},
            "max_speakers": {"type": "integer", "minimum": 1, "maximum": 20},
        }},
        "Summarize": {"type": "object", "properties": {
            "template_id": {"type": "string", "description": "required with the summary feature (the default)"},
            "features": {"type": "array", "items": {"type": "string", "enum": [f.value for f in Feature]},
                         "description": "default [\"summary\"]"},
        }},
        "ProcessText": {"type": "object", "required": ["text"], "properties": {
            "text": {"type": "string", "minLength": 1},
            "features": {"type": "array", "items": {"type": "string", "enum": [f.value for f in Feature]}},
            "template_id": {"type": "string"}, "vocabulary": {"type": "array", "items": {"type": "string"}},
            "language": {"type": "string"},
        }},
    }


def _task_paths() -> dict[str, Any]:
    return {
        "/v1/process": {"post": {
            "summary": "Submit a recording", "operationId": "process",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _ref("ProcessForm")}}},
            "responses": {"202": _json(_ref("Accepted"), "queued"), **_errors(400, 401, 408, 413, 415, 422, 429, 503, 507)},
        }},
        "/v1/process_text": {"post": {
            "summary": "Run the LLM stages on text", "operationId": "process_text",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ProcessText")}}},
            "responses": {"202": _json(_ref("Accepted"), "queued"), **_errors(400, 401, 408, 415, 422, 429, 503, 507)},
        }},
        "/v1/status/{task_id}": {"get": {
            "summary": "Task status and results (long-poll with wait)", "operationId": "status",
            "parameters": [_ID, {"name": "wait", "in": "query", "required": False,
                                 "schema": {"type": "number", "minimum": 0, "maximum": 60}}],
            "responses": {"200": _json(_ref("Status"), "status"), **_errors(400, 401, 404, 410)},
        }},
        "/v1/tasks": {"get": {
            "summary": "List tasks, newest first", "operationId": "list_tasks",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": [s.value for s in TaskStatus]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
            ],
            "responses": {"200": _json(_ref("TaskList"), "tasks"), **_errors(400, 401)},
        }},
        "/v1/tasks/{task_id}/cancel": {"post": {
            "summary": "Cancel a pending or running task", "operationId": "cancel", "parameters": [_ID],
            "responses": {"202": _json({"type": "object"}, "cancelled or cancel requested"),
                          **_errors(401, 404, 409)},
        }},
        "/v1/tasks/{task_id}": {"delete": {
            "summary": "Delete a finished task with its audio and results", "operationId": "delete",
            "parameters": [_ID],
            "responses": {"200": _json({"type": "object"}, "deleted"), **_errors(401, 404, 409)},
        }},
        "/v1/tasks/{task_id}/summarize": {"post": {
            "summary": "Run the LLM part again on a finished or failed task's stored transcript (a new text task)",
            "operationId": "summarize", "parameters": [_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Summarize")}}},
            "responses": {"202": _json(_ref("Accepted"), "queued"),
                          **_errors(400, 401, 404, 408, 409, 410, 415, 422, 429, 503, 507)},
        }},
        "/v1/tasks/{task_id}/transcript.{fmt}": {"get": {
            "summary": "The transcript as txt, srt, vtt or json", "operationId": "transcript",
            "parameters": [_ID, {"name": "fmt", "in": "path", "required": True,
                                 "schema": {"type": "string", "enum": ["txt", "srt", "vtt", "json"]}}],
            "responses": {"200": {"description": "the transcript", "content": {
                "text/plain": {"schema": {"type": "string"}}, "application/x-subrip": {"schema": {"type": "string"}},
                "text/vtt": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}},
                **_errors(401, 404, 409, 410)},
        }},
    }


def _system_paths() -> dict[str, Any]:
    text = {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "/health": {"get": {"summary": "Health", "operationId": "health",
                            "responses": {"200": _json(_ref("Health"), "health"), "503": _json(_ref("Health"), "unhealthy")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics",
                             "responses": {"200": text, **_errors(401)}}},
        "/v1/models": {"get": {"summary": "ASR and LLM models (also OpenAI's list: object, data)",
                               "operationId": "models",
                               "responses": {"200": _json(_ref("Models"), "models"), **_errors(401)}}},
        "/openapi.json": {"get": {"summary": "This description", "operationId": "openapi",
                                  "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), **_errors(401)}}},
    }


def _template_paths() -> dict[str, Any]:
    obj = _json({"type": "object"}, "template")
    body = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/v1/templates": {
            "get": {"summary": "List templates", "operationId": "list_templates",
                    "responses": {"200": _json({"type": "object"}, "templates"), **_errors(401)}},
            "post": {"summary": "Create a template (admin)", "operationId": "create_template", "requestBody": body,
                     "responses": {"201": obj, **_errors(400, 401, 403, 408, 409, 415, 422)}},
        },
        "/v1/templates/{template_id}": {
            "parameters": [_TEMPLATE_ID],
            "get": {"summary": "A template", "operationId": "get_template", "responses": {"200": obj, **_errors(401, 404)}},
            "put": {"summary": "Replace a template (admin)", "operationId": "replace_template", "requestBody": body,
                    "responses": {"200": obj, **_errors(400, 401, 403, 404, 408, 415, 422)}},
            "delete": {"summary": "Delete a template (admin)", "operationId": "delete_template",
                       "responses": {"200": obj, **_errors(401, 403, 404, 409)}},
        },
        "/v1/templates/{template_id}/schema": {"get": {
            "summary": "A template's JSON Schema", "operationId": "template_schema", "parameters": [_TEMPLATE_ID],
            "responses": {"200": _json({"type": "object"}, "JSON Schema"), **_errors(401, 404)}}},
    }


def openapi_spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "maied", "version": __version__,
                 "description": "maie audio intelligence daemon: transcripts, cleaned transcripts, summaries."},
        "paths": {**_task_paths(), **_system_paths(), **_template_paths(), **openai_paths()},
        "components": {
            "schemas": {**_schemas(), **openai_schemas()},
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                                "bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
