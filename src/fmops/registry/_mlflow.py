"""MLflow interop: export registered models (versions, status, lineage, aliases) to an MLflow model registry,
and import them back.

An exported version carries the fmops facts as tags (`fmops.spec`, `fmops.args`, `fmops.status`,
`fmops.version`, `fmops.lineage`); its MLflow `source` is `fmops://registry/NAME/VERSION`. Export and import
are idempotent: versions already there (by their `fmops.version` tag, or by their origin on import) are
skipped, and aliases are set to where they point now.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from fmops.core.errors import BadInputError, MissingDependencyError, RunError
from fmops.registry._store import VersionedCatalog, current_actor
from fmops.registry._types import ModelVersionSpec

_TAG = "fmops."


class SyncReport(BaseModel):
    """What an export or import did, per model."""

    created_models: list[str] = Field(default_factory=list)
    versions: dict[str, list[int]] = Field(default_factory=dict)
    skipped: dict[str, list[int]] = Field(default_factory=dict)
    aliases: dict[str, dict[str, int]] = Field(default_factory=dict)


def _client(uri: str) -> Any:
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise MissingDependencyError("mlflow", "mlflow", "MLflow export and import") from None
    if uri.startswith(("http://", "https://")):
        _check_reachable(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _check_reachable(uri: str) -> None:
    """Fail in seconds on a server that is not there (MLflow's client retries for minutes)."""
    import httpx

    try:
        httpx.get(uri.rstrip("/") + "/health", timeout=10)
    except httpx.HTTPError as exc:
        raise RunError(
            f"MLflow at {uri}: unreachable ({exc}); start it with `mlflow server` or fix --mlflow"
        ) from None


def export_to_mlflow(uri: str, names: list[str] | None = None, *, url: str | None = None) -> SyncReport:
    """Register fmops's model versions and aliases in the MLflow model registry at `uri`."""
    from mlflow.exceptions import MlflowException

    registry = VersionedCatalog("model", url)
    client = _client(uri)
    report = SyncReport()
    for name in names or registry.names():
        entry = registry.show(name)
        try:
            try:
                client.get_registered_model(name)
            except MlflowException:
                client.create_registered_model(
                    name, tags={"fmops.origin": "fmops"}, description=f"fmops model {name}"
                )
                report.created_models.append(name)
            existing = {
                int(v.tags[f"{_TAG}version"]): v.version
                for v in client.search_model_versions(f"name='{name}'")
                if f"{_TAG}version" in (v.tags or {})
            }
            mlflow_version: dict[int, str] = dict(existing)
            for version in entry.versions:
                if version.version in existing:
                    report.skipped.setdefault(name, []).append(version.version)
                    continue
                spec = version.model_spec()
                created = client.create_model_version(
                    name,
                    source=f"fmops://registry/{name}/{version.version}",
                    description=version.description,
                    tags={
                        f"{_TAG}version": str(version.version),
                        f"{_TAG}spec": spec.spec,
                        f"{_TAG}args": json.dumps(spec.args, sort_keys=True),
                        f"{_TAG}status": version.status,
                        f"{_TAG}lineage": spec.lineage.model_dump_json(),
                        f"{_TAG}created_by": version.created_by,
                    },
                )
                mlflow_version[version.version] = created.version
                report.versions.setdefault(name, []).append(version.version)
            for version in entry.versions:  # status may have changed since an earlier export
                client.set_model_version_tag(
                    name, mlflow_version[version.version], f"{_TAG}status", version.status
                )
            for alias, number in entry.aliases.items():
                client.set_registered_model_alias(name, alias, mlflow_version[number])
                report.aliases.setdefault(name, {})[alias] = number
        except MlflowException as exc:
            raise RunError(f"MLflow at {uri}: exporting {name!r} failed: {exc.message}") from None
    return report


def import_from_mlflow(
    uri: str, names: list[str] | None = None, *, url: str | None = None, actor: str | None = None
) -> SyncReport:
    """Register MLflow model versions that carry an `fmops.spec` tag (or a model-spec `source`) in fmops."""
    from mlflow.exceptions import MlflowException

    from fmops.models import parse_model_spec

    registry = VersionedCatalog("model", url)
    client = _client(uri)
    who = current_actor(actor)
    report = SyncReport()
    try:
        wanted = names or [m.name for m in client.search_registered_models()]
        for name in wanted:
            model = client.get_registered_model(name)
            known = set(registry.names())
            imported = _imported_origins(registry, name) if name in known else {}
            local: dict[str, int] = {}  # MLflow version -> fmops version
            versions = sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))
            for v in versions:
                origin = f"mlflow:{uri}#{name}/{v.version}"
                tags = v.tags or {}
                if origin in imported:
                    local[v.version] = imported[origin]
                    report.skipped.setdefault(name, []).append(int(v.version))
                    continue
                spec = tags.get(f"{_TAG}spec") or v.source
                try:
                    parse_model_spec(spec)
                except BadInputError:
                    report.skipped.setdefault(name, []).append(int(v.version))
                    continue
                status = tags.get(f"{_TAG}status", "PendingManualApproval")
                payload = ModelVersionSpec(
                    spec=spec,
                    args=json.loads(tags.get(f"{_TAG}args", "{}")),
                    lineage=json.loads(tags.get(f"{_TAG}lineage", "{}")),
                )
                created = registry.register(
                    name,
                    payload.model_dump(),
                    description=origin,
                    status=status,
                    actor=who,
                    reason=f"imported from {uri}",
                )
                local[v.version] = created.version
                report.versions.setdefault(name, []).append(created.version)
            current = registry.show(name).aliases if local else {}
            for alias, mlflow_number in (model.aliases or {}).items():
                number = local.get(str(mlflow_number))
                if number is not None and current.get(alias) != number:
                    registry.promote(name, number, alias, actor=who, reason=f"alias imported from {uri}")
                if number is not None:
                    report.aliases.setdefault(name, {})[alias] = number
    except MlflowException as exc:
        raise RunError(f"MLflow at {uri}: import failed: {exc.message}") from None
    return report


def _imported_origins(registry: VersionedCatalog, name: str) -> dict[str, int]:
    return {
        v.description: v.version
        for v in registry.show(name).versions
        if v.description and v.description.startswith("mlflow:")
    }
