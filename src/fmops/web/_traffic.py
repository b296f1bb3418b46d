"""Review queues from sampled gateway traffic. The answers the gateway stored (teams with `store_content`)
are sampled with a seed and written as a run folder in the run-folder contract (a snapshot under
`FMOPS_HOME/web/traffic`), so a traffic queue is a run queue: the same review pages and agreement, and its
result joins the snapshot run as `human_rating:QUEUE` (a pipeline gate can read it). The snapshot keeps
which requests were drawn (their ids), so the sample can be checked against the ledger."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from fmops.core.errors import BadInputError

#: The snapshot run's algorithm and dataset names (its records file is `gateway_traffic_sampled.jsonl`).
ALGORITHM = "gateway_traffic"
DATASET = "sampled"


class TrafficSample(BaseModel):
    """Which traffic to review: one gateway model's stored answers over a window, `size` drawn by `seed`."""

    model: str = Field(min_length=1, max_length=200)
    size: int = Field(default=20, ge=1, le=10_000)
    seed: int = 0
    window_hours: float = Field(default=168.0, gt=0)
    team_id: str | None = None


def snapshot_traffic(engine: Engine, root: Path, sample: TrafficSample, name: str) -> Path:
    """Draw the sample from the ledger and write it as a run folder under `root`; returns the folder."""
    from fmops import __version__
    from fmops.core.results import EvalOutput
    from fmops.evaluation.manifest import ManifestDataset, ManifestModel, RunManifest
    from fmops.evaluation.output import records_file_name, write_run
    from fmops.gateway import read_ledger

    now = datetime.now(UTC)
    since = now - timedelta(hours=sample.window_hours)
    rows = read_ledger(engine, since=since, models=[sample.model], team_id=sample.team_id, stored_only=True)
    if not rows:
        raise BadInputError(
            f"no stored answers of gateway model {sample.model!r} in the last {sample.window_hours:g} h "
            "(the gateway keeps answers only for teams with store_content)"
        )
    drawn = sorted(random.Random(sample.seed).sample(range(len(rows)), min(sample.size, len(rows))))
    records = [
        {
            "model_input": rows[i].prompt or "",
            "model_output": rows[i].response,
            "scores": [],
            "row": row,
            "request_id": rows[i].request_id,
            "team_id": rows[i].team_id,
            "received_at": rows[i].received_at.isoformat(),
        }
        for row, i in enumerate(drawn)
    ]
    folder = root / f"{_slug(name)}-{now.strftime('%Y%m%dT%H%M%S%f')}"
    manifest = RunManifest(
        fmops_version=__version__,
        created_at=now.isoformat(timespec="seconds"),
        algorithm=ALGORITHM,
        config=sample.model_dump(),
        datasets=[
            ManifestDataset(
                name=DATASET,
                uri=f"gateway:{sample.model}",
                total_rows=len(rows),
                sampling={
                    "seed": sample.seed,
                    "size": len(drawn),
                    "since": since.isoformat(timespec="seconds"),
                    "until": now.isoformat(timespec="seconds"),
                    "request_ids": [rows[i].request_id for i in drawn],
                },
            )
        ],
        model=ManifestModel(name=sample.model, provider="gateway"),
    )
    output = EvalOutput(eval_name=ALGORITHM, dataset_name=DATASET, num_records=len(records))
    write_run(folder, [output], {records_file_name(ALGORITHM, DATASET): records}, manifest)
    return folder


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "queue"
