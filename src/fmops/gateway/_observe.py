"""Structured JSON logs (one line per request, with its id) and OpenTelemetry spans (GenAI conventions)."""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, datetime
from typing import Any


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Deferred(logging.handlers.QueueHandler):
    """Hands records to the writer thread as they are: formatting and writing happen there, not on the
    request path (the stock QueueHandler formats in the caller, for records that cross processes)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for the gateway's loggers, written by a thread of their own (idempotent)."""
    logger = logging.getLogger("fmops.gateway")
    if any(isinstance(h, _Deferred) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler)
    listener.start()
    atexit.register(listener.stop)  # what is queued is written before the process exits
    logger.addHandler(_Deferred(records))
    logger.setLevel(level.upper())
    logger.propagate = False


class Tracer:
    """One span per request, named and attributed as the OpenTelemetry GenAI conventions say."""

    def __init__(self, endpoint: str) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

        if endpoint == "console":
            exporter: Any = ConsoleSpanExporter()
        else:
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError:
                from fmops.core.errors import MissingDependencyError

                raise MissingDependencyError(
                    "opentelemetry-exporter-otlp-proto-http", "otel", "Sending gateway traces to OTLP"
                ) from None
            exporter = OTLPSpanExporter(endpoint=endpoint)
        self.provider = TracerProvider(resource=Resource.create({"service.name": "fmops-gateway"}))
        self.processor = BatchSpanProcessor(exporter)
        self.provider.add_span_processor(self.processor)
        self.tracer = self.provider.get_tracer("fmops.gateway")

    def record(self, row: Any) -> None:
        start = int(row.received_at.timestamp() * 1e9)
        end = int(row.done_at.timestamp() * 1e9)
        operation = "chat" if row.endpoint == "chat/completions" else "text_completion"
        span = self.tracer.start_span(f"{operation} {row.model}", start_time=start)
        span.set_attributes(
            {
                "gen_ai.operation.name": operation,
                "gen_ai.system": row.provider or "unknown",
                "gen_ai.request.model": row.model or "",
                "gen_ai.usage.input_tokens": row.input_tokens,
                "gen_ai.usage.output_tokens": row.output_tokens,
                "http.response.status_code": row.status,
                "fmops.request_id": row.request_id,
                "fmops.team_id": row.team_id or "",
                "fmops.cost_usd": row.cost,
                "fmops.deployment": row.deployment or "",
                "fmops.streamed": row.streamed,
            }
        )
        span.end(end_time=end)

    def close(self) -> None:
        self.provider.shutdown()
