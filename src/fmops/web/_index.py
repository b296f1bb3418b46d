"""A SQLite cache of the run folders the console was pointed at: runs and comparisons, and every record with
its scores and a full-text index over inputs, outputs and targets.

Reading JSON Lines on every page view does not scale to a million records; this cache is rebuilt from the
folders (the source of truth) whenever a folder's results changed, so it can be deleted at any time. It is
plain SQLite (FTS5), not the fmops store: it is a per-machine cache, not shared state.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from fmops.core.errors import BadInputError
from fmops.core.results import EvalOutput

if TYPE_CHECKING:
    from fmops.evaluation.manifest import RunManifest

#: Bump when the tables change: an older cache is dropped and rebuilt from the folders.
SCHEMA_VERSION = 3
#: How deep under a --runs folder run folders are looked for (comparison/runs/MODEL/EVAL is 3 deep).
MAX_DEPTH = 6
_SKIP_DIRS = {"records", ".git", "__pycache__", "node_modules"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    algorithm TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    datasets TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT '',
    stamp TEXT NOT NULL,
    num_records INTEGER NOT NULL DEFAULT 0,
    score_names TEXT NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL DEFAULT '{}',
    problem TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    row INTEGER,
    category TEXT,
    input TEXT,
    output TEXT,
    target TEXT,
    error TEXT,
    scores TEXT NOT NULL,
    file TEXT NOT NULL,
    offset INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS records_run ON records(run_id, dataset, id);
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(input, output, target, content='');
"""


@dataclass(frozen=True)
class RunRow:
    """One indexed run or comparison folder, as the runs list shows it."""

    id: int
    path: str
    kind: str
    name: str
    algorithm: str
    model: str
    datasets: list[str]
    created_at: str
    num_records: int
    score_names: list[str]
    summary: dict[str, Any]
    problem: str | None


@dataclass(frozen=True)
class RecordRow:
    id: int
    dataset: str
    row: int | None
    category: str | None
    input: str
    output: str
    target: str
    error: str | None
    scores: dict[str, float | None]


@dataclass(frozen=True)
class RecordQuery:
    """What the records page asks for; every field is optional."""

    dataset: str | None = None
    search: str = ""
    score: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    errors_only: bool = False
    category: str | None = None
    sort: str | None = None  # a score name, or "row"
    descending: bool = False
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class RecordPage:
    records: list[RecordRow]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


class RunIndex:
    """The cache file and the folders it indexes. Thread-safe: one connection per thread."""

    def __init__(self, path: Path, roots: Sequence[Path] = ()) -> None:
        self.path = Path(path)
        self.roots = [Path(r).resolve() for r in roots]
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for table in ("records_fts", "records", "runs"):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.commit()

    # ------------------------------------------------------------------------------------------- indexing

    def refresh(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Index new or changed folders under the roots and forget vanished ones; returns how many changed.
        `progress(done, total)` hears about each folder indexed (a first scan of many runs takes a while)."""
        found = {str(p): p for root in self.roots for p in find_run_folders(root)}
        changed = 0
        with self._write_lock, self._connection() as conn:
            known = dict(conn.execute("SELECT path, stamp FROM runs").fetchall())
            for path in set(known) - set(found):
                self._forget(conn, path)
                changed += 1
            stale = [(k, f, s) for k, f in sorted(found.items()) if known.get(k) != (s := _stamp(f))]
            for done, (_key, folder, stamp) in enumerate(stale, 1):
                self._index_folder(conn, folder, stamp)
                conn.commit()  # folder by folder: an interrupted first scan keeps what it indexed
                changed += 1
                if progress is not None:
                    progress(done, len(stale))
            conn.commit()
        return changed

    def _forget(self, conn: sqlite3.Connection, path: str) -> None:
        row = conn.execute("SELECT id FROM runs WHERE path = ?", (path,)).fetchone()
        if row is None:
            return
        ids = [r[0] for r in conn.execute("SELECT id FROM records WHERE run_id = ?", (row[0],))]
        _delete_fts(conn, ids)
        conn.execute("DELETE FROM records WHERE run_id = ?", (row[0],))
        conn.execute("DELETE FROM runs WHERE id = ?", (row[0],))

    def _index_folder(self, conn: sqlite3.Connection, folder: Path, stamp: str) -> None:
        key = str(folder)
        existing = conn.execute("SELECT id FROM runs WHERE path = ?", (key,)).fetchone()
        if existing:
            ids = [r[0] for r in conn.execute("SELECT id FROM records WHERE run_id = ?", (existing[0],))]
            _delete_fts(conn, ids)
            conn.execute("DELETE FROM records WHERE run_id = ?", (existing[0],))
        meta, records = _describe(folder)
        values = (
            key,
            meta["kind"],
            meta["name"],
            meta.get("algorithm", ""),
            meta.get("model", ""),
            ",".join(meta.get("datasets", [])),
            meta.get("created_at", ""),
            stamp,
            json.dumps(meta.get("score_names", [])),
            json.dumps(meta.get("summary", {})),
            meta.get("problem"),
        )
        if existing:
            run_id = existing[0]
            conn.execute(
                "UPDATE runs SET path=?, kind=?, name=?, algorithm=?, model=?, datasets=?, created_at=?, "
                "stamp=?, score_names=?, summary=?, problem=? WHERE id=?",
                (*values, run_id),
            )
        else:
            run_id = conn.execute(
                "INSERT INTO runs (path, kind, name, algorithm, model, datasets, created_at, stamp, "
                "score_names, summary, problem) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                values,
            ).lastrowid
        count = self.add_records(conn, run_id, records)
        conn.execute("UPDATE runs SET num_records = ? WHERE id = ?", (count, run_id))

    @staticmethod
    def add_records(conn: sqlite3.Connection, run_id: int, records: Iterable[tuple[Any, ...]]) -> int:
        """Insert (dataset, row, category, input, output, target, error, scores_json, file, offset) rows."""
        count = 0
        batch: list[tuple[Any, ...]] = []

        def flush() -> None:
            for values in batch:
                rowid = conn.execute(
                    "INSERT INTO records (run_id, dataset, row, category, input, output, target, error, "
                    "scores, file, offset) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, *values),
                ).lastrowid
                conn.execute(
                    "INSERT INTO records_fts (rowid, input, output, target) VALUES (?,?,?,?)",
                    (rowid, values[3], values[4], values[5]),
                )
            batch.clear()

        for values in records:
            batch.append(values)
            count += 1
            if len(batch) >= 2000:
                flush()
        flush()
        return count

    # -------------------------------------------------------------------------------------------- queries

    def runs(
        self,
        *,
        algorithm: str = "",
        dataset: str = "",
        model: str = "",
        date_from: str = "",
        date_to: str = "",
        kind: str = "",
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[RunRow], int]:
        """Runs matching the filters (substring match on model and dataset), newest first, and their count."""
        where, args = ["1=1"], []
        if algorithm:
            where.append("algorithm = ?")
            args.append(algorithm)
        if dataset:
            where.append("(',' || datasets || ',') LIKE ?")
            args.append(f"%{dataset}%")
        if model:
            where.append("model LIKE ?")
            args.append(f"%{model}%")
        if date_from:
            where.append("created_at >= ?")
            args.append(date_from)
        if date_to:
            where.append("substr(created_at, 1, 10) <= ?")
            args.append(date_to)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        clause = " AND ".join(where)
        with self._connection() as conn:
            total = conn.execute(f"SELECT count(*) FROM runs WHERE {clause}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT * FROM runs WHERE {clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [_run_row(r) for r in rows], total

    def algorithms(self) -> list[str]:
        with self._connection() as conn:
            rows = conn.execute("SELECT DISTINCT algorithm FROM runs WHERE algorithm != '' ORDER BY 1")
            return [r[0] for r in rows]

    def run(self, run_id: int) -> RunRow:
        with self._connection() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        return _run_row(row)

    def run_by_path(self, path: str) -> RunRow | None:
        with self._connection() as conn:
            row = conn.execute("SELECT * FROM runs WHERE path = ?", (str(Path(path).resolve()),)).fetchone()
        return _run_row(row) if row else None

    def records(self, run_id: int, query: RecordQuery) -> RecordPage:
        """One page of a run's records, filtered and sorted in SQL (FTS5 for the text search)."""
        where, args = ["r.run_id = ?"], [run_id]
        if query.dataset:
            where.append("r.dataset = ?")
            args.append(query.dataset)
        if query.category:
            where.append("r.category = ?")
            args.append(query.category)
        if query.errors_only:
            where.append("r.error IS NOT NULL")
        if query.score and (query.min_value is not None or query.max_value is not None):
            path = _json_path(query.score)
            if query.min_value is not None:
                where.append("json_extract(r.scores, ?) >= ?")
                args += [path, query.min_value]
            if query.max_value is not None:
                where.append("json_extract(r.scores, ?) <= ?")
                args += [path, query.max_value]
        terms = _fts_query(query.search)
        if terms:
            # A run's records have consecutive ids (inserted together): bounding the search by them lets
            # FTS5 skip every other run's postings instead of matching the whole index.
            with self._connection() as conn:
                low, high = conn.execute(
                    "SELECT min(id), max(id) FROM records WHERE run_id = ?", (run_id,)
                ).fetchone()
            where.append(
                "r.id IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ? AND rowid BETWEEN ? AND ?)"
            )
            args += [terms, low or 0, high or 0]
        order = "r.id"
        if query.sort and query.sort != "row":
            # Records without the score sort last either way.
            direction = "DESC" if query.descending else "ASC"
            order = f"json_extract(r.scores, ?) IS NULL, json_extract(r.scores, ?) {direction}, r.id"
        elif query.descending:
            order = "r.id DESC"
        clause = " AND ".join(where)
        order_args = [_json_path(query.sort)] * 2 if query.sort and query.sort != "row" else []
        page = max(1, query.page)
        with self._connection() as conn:
            total = conn.execute(f"SELECT count(*) FROM records r WHERE {clause}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT r.id, r.dataset, r.row, r.category, r.input, r.output, r.target, r.error, r.scores "
                f"FROM records r WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
                [*args, *order_args, query.page_size, (page - 1) * query.page_size],
            ).fetchall()
        return RecordPage([_record_row(r) for r in rows], total, page, query.page_size)

    def rows(self, run_id: int, dataset: str) -> list[int]:
        """The source rows of a run's records of `dataset`."""
        with self._connection() as conn:
            found = conn.execute(
                "SELECT row FROM records WHERE run_id = ? AND dataset = ? AND row IS NOT NULL",
                (run_id, dataset),
            )
            return [r[0] for r in found]

    def score_values(self, run_id: int, dataset: str, score: str) -> dict[int, float]:
        """Row -> value of one record score (records without it left out)."""
        with self._connection() as conn:
            found = conn.execute(
                "SELECT row, json_extract(scores, ?) FROM records WHERE run_id = ? AND dataset = ?",
                (_json_path(score), run_id, dataset),
            )
            return {r: float(v) for r, v in found if r is not None and v is not None}

    def categories(self, run_id: int, dataset: str | None = None) -> list[str]:
        sql = "SELECT DISTINCT category FROM records WHERE run_id = ? AND category IS NOT NULL"
        args: list[Any] = [run_id]
        if dataset:
            sql += " AND dataset = ?"
            args.append(dataset)
        with self._connection() as conn:
            return sorted(r[0] for r in conn.execute(sql, args))

    def record(self, run_id: int, record_id: int) -> tuple[RecordRow, dict[str, Any]]:
        """A record's indexed row and its full JSON object, read back from its JSON Lines file."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT id, dataset, row, category, input, output, target, error, scores, file, offset "
                "FROM records WHERE run_id = ? AND id = ?",
                (run_id, record_id),
            ).fetchone()
        if row is None:
            raise KeyError(record_id)
        full: dict[str, Any] = {}
        try:
            with open(row[9], "rb") as handle:
                handle.seek(row[10])
                full = json.loads(handle.readline())
        except (OSError, json.JSONDecodeError):
            full = {}
        return _record_row(row[:9]), full

    def record_by_row(self, run_id: int, dataset: str, row: int) -> tuple[RecordRow, dict[str, Any]] | None:
        with self._connection() as conn:
            found = conn.execute(
                "SELECT id FROM records WHERE run_id = ? AND dataset = ? AND row = ?", (run_id, dataset, row)
            ).fetchone()
        return self.record(run_id, found[0]) if found else None

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        yield conn

    def connect_for_bulk_load(self) -> sqlite3.Connection:
        """A connection for tools that fill the cache directly (the benchmark's synthetic runs)."""
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        return conn


# ------------------------------------------------------------------------------------------ folder reading


def find_run_folders(root: Path) -> Iterator[Path]:
    """Run folders (results.json + manifest.json) and comparison folders (comparison.json) under `root`."""
    if not root.is_dir():
        return
    stack = [(root.resolve(), 0)]
    while stack:
        folder, depth = stack.pop()
        if (folder / "comparison.json").is_file() or (
            (folder / "results.json").is_file() and (folder / "manifest.json").is_file()
        ):
            yield folder
        if depth >= MAX_DEPTH:
            continue
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in children:
            if entry.is_dir(follow_symlinks=False) and entry.name not in _SKIP_DIRS:
                stack.append((Path(entry.path), depth + 1))


def _stamp(folder: Path) -> str:
    """Changes whenever a folder's results, manifest or comparison are rewritten."""
    parts = []
    for name in ("comparison.json", "selection.json", "results.json", "manifest.json"):
        try:
            stat = (folder / name).stat()
        except OSError:
            continue
        parts.append(f"{name}:{stat.st_mtime_ns}:{stat.st_size}")
    return "|".join(parts)


def read_outputs(folder: Path) -> list[EvalOutput]:
    """A run folder's results.json as typed EvalOutputs (BadInputError naming the item and field)."""
    file = folder / "results.json"
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except OSError as exc:
        raise BadInputError(f"{file}: cannot read ({exc.strerror})") from None
    if not isinstance(raw, list):
        raise BadInputError(f"{file}: expected a list of EvalOutput objects")
    outputs = []
    for i, item in enumerate(raw):
        try:
            outputs.append(EvalOutput.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadInputError(f"{file}: item {i}: {where}: {first['msg']}") from None
    return outputs


def read_manifest(folder: Path) -> RunManifest | None:
    """The run's manifest through the engine's one reader; None when damaged (the page says so elsewhere)."""
    from fmops.evaluation.manifest import read_run_manifest  # the engine loads on first read, not at startup

    try:
        return read_run_manifest(folder)
    except BadInputError:
        return None


def _describe(folder: Path) -> tuple[dict[str, Any], Iterator[tuple[Any, ...]]]:
    if (folder / "comparison.json").is_file():
        return _describe_comparison(folder), iter(())
    manifest = read_manifest(folder)
    try:
        outputs = read_outputs(folder)
    except BadInputError as exc:
        return {"kind": "run", "name": folder.name, "problem": str(exc)}, iter(())
    model = manifest.model if manifest is not None else None
    model_name = model.name if model is not None else "BYO outputs"
    algorithm = manifest.algorithm if manifest is not None else (outputs[0].eval_name if outputs else "")
    summary = {
        o.dataset_name: {s.name: s.value for s in o.dataset_scores or []} for o in outputs if o.dataset_scores
    }
    names = list(dict.fromkeys(s.name for o in outputs for s in o.dataset_scores or []))
    meta = {
        "kind": "run",
        "name": folder.name,
        "algorithm": algorithm,
        "model": model_name,
        "datasets": [o.dataset_name for o in outputs],
        "created_at": (manifest.created_at if manifest is not None else None) or "",
        "score_names": names,
        "summary": summary,
        "problem": "; ".join(f"{o.dataset_name}: {o.error}" for o in outputs if o.error) or None,
    }
    return meta, _read_records(folder, outputs)


def _describe_comparison(folder: Path) -> dict[str, Any]:
    from fmops.comparison import read_comparison

    try:
        data = read_comparison(folder)
    except BadInputError as exc:
        return {"kind": "comparison", "name": folder.name, "problem": str(exc)}
    return {
        "kind": "comparison",
        "name": data.suite.name or folder.name,
        "algorithm": "comparison",
        "model": ", ".join(m.name for m in data.models),
        "datasets": [e.id for e in data.suite.evaluations],
        "created_at": data.created_at or "",
        "problem": None if data.complete else f"incomplete: {len(data.failures)} run(s) failed",
    }


def _read_records(folder: Path, outputs: Sequence[EvalOutput]) -> Iterator[tuple[Any, ...]]:
    from fmops.evaluation.output import records_file_name

    for output in outputs:
        file = folder / "records" / records_file_name(output.eval_name, output.dataset_name)
        if not file.is_file():
            continue
        with file.open("rb") as handle:
            offset = 0
            for line in handle:
                start, offset = offset, offset + len(line)
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    yield record_values(record, output.dataset_name, str(file), start)


def record_values(record: dict[str, Any], dataset: str, file: str, offset: int) -> tuple[Any, ...]:
    """The indexed columns of one record of the records/*.jsonl contract."""
    scores: dict[str, float | None] = {}
    problems = [str(record[k]) for k in ("error", "judge_error") if record.get(k)]
    for entry in record.get("scores") or []:
        if isinstance(entry, dict) and entry.get("name"):
            scores[str(entry["name"])] = entry.get("value")
            if entry.get("error"):
                problems.append(f"{entry['name']}: {entry['error']}")
    text_in = record.get("model_input")
    if text_in is None and record.get("sent_more_input") is not None:
        text_in = f"{record.get('sent_more_input')}\n{record.get('sent_less_input')}"
    row = record.get("row")
    return (
        dataset,
        row if isinstance(row, int) else None,
        None if record.get("category") is None else str(record["category"]),
        _text(text_in),
        _text(record.get("model_output")),
        _text(record.get("target_output")),
        "; ".join(problems) or None,
        json.dumps(scores),
        file,
        offset,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _delete_fts(conn: sqlite3.Connection, ids: list[int]) -> None:
    # A contentless FTS5 table forgets a row only when told its old values: take them from `records`.
    for rid in ids:
        row = conn.execute("SELECT input, output, target FROM records WHERE id = ?", (rid,)).fetchone()
        if row:
            conn.execute(
                "INSERT INTO records_fts (records_fts, rowid, input, output, target) "
                "VALUES ('delete', ?, ?, ?, ?)",
                (rid, *row),
            )


def _json_path(score: str | None) -> str:
    return '$."' + (score or "").replace('"', "") + '"'


def _fts_query(text: str) -> str:
    """Each word as a quoted FTS5 term (so user text is never FTS syntax), all of them required."""
    words = [w.replace('"', "") for w in text.split()]
    return " AND ".join(f'"{w}"' for w in words if w)


def _run_row(row: Sequence[Any]) -> RunRow:
    return RunRow(
        id=row[0],
        path=row[1],
        kind=row[2],
        name=row[3],
        algorithm=row[4],
        model=row[5],
        datasets=[d for d in row[6].split(",") if d],
        created_at=row[7],
        num_records=row[9],
        score_names=json.loads(row[10]),
        summary=json.loads(row[11]),
        problem=row[12],
    )


def _record_row(row: Sequence[Any]) -> RecordRow:
    return RecordRow(
        id=row[0],
        dataset=row[1],
        row=row[2],
        category=row[3],
        input=row[4] or "",
        output=row[5] or "",
        target=row[6] or "",
        error=row[7],
        scores=json.loads(row[8]),
    )
