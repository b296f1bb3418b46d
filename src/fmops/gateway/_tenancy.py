"""Organisations, teams, keys and budgets: the admin operations (each one audited) and key look-up."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from fmops.core.errors import BadInputError
from fmops.gateway._keys import new_key
from fmops.gateway._tables import ApiKey, AuditEntry, Budget, Org, State, Team
from fmops.store import session_scope

Period = Literal["daily", "monthly"]
VERSION = "version"


class KeyInfo(BaseModel):
    """A key as admins see it (never the secret nor its hash)."""

    model_config = ConfigDict(frozen=True)

    id: str
    team: str
    org: str
    name: str | None
    models: list[str] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    replaced_by: str | None
    created_at: datetime


class CreatedKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    info: KeyInfo


class TeamInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    org: str
    rpm: int | None
    tpm: int | None
    max_concurrency: int | None
    store_content: bool
    budgets: dict[str, float]


@dataclass(frozen=True, slots=True)
class BudgetRule:
    scope: str
    period: Period
    usd: float


@dataclass(frozen=True, slots=True)
class RateRule:
    """Limits of one scope ("key:ID", "team:ID", "model:NAME")."""

    scope: str
    rpm: int | None
    tpm: int | None
    max_concurrency: int | None


@dataclass(slots=True)
class KeyContext:
    """What a request needs to know about its key, cached per replica until the version changes."""

    key_id: str
    salt: str
    hash: str
    team_id: str
    team: str
    org_id: str
    models: frozenset[str] | None
    expires_at: datetime | None
    revoked: bool
    store_content: bool
    guardrail: str | None
    rates: list[RateRule] = field(default_factory=list)
    budgets: list[BudgetRule] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone-aware columns.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Tenancy:
    """Admin operations on one gateway database. `actor` names who acted in the audit log."""

    def __init__(self, engine: Engine, *, org: str = "default", actor: str = "cli") -> None:
        self.engine = engine
        self.default_org = org
        self.actor = actor

    # -- organisations ------------------------------------------------------------------------
    def create_org(self, name: str, *, budget_usd: float | None = None, period: Period = "monthly") -> str:
        with session_scope(self.engine) as s:
            if s.scalar(select(Org).where(Org.name == name)) is not None:
                raise BadInputError(f"organisation {name!r} already exists")
            org = Org(id=_new_id("org"), name=name, created_at=_now())
            s.add(org)
            s.flush()
            if budget_usd is not None:
                _set_budget(s, f"org:{org.id}", period, budget_usd)
            self._audit(s, "org.create", f"org:{org.id}", {"name": name, "budget_usd": budget_usd})
            return org.id

    def list_orgs(self) -> list[dict[str, Any]]:
        with session_scope(self.engine) as s:
            return [{"id": o.id, "name": o.name} for o in s.scalars(select(Org).order_by(Org.name))]

    # -- teams --------------------------------------------------------------------------------
    def create_team(
        self,
        name: str,
        *,
        org: str | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        max_concurrency: int | None = None,
        store_content: bool = False,
        guardrail: str | None = None,
        budget_usd: float | None = None,
        period: Period = "monthly",
        exist_ok: bool = False,
    ) -> TeamInfo:
        with session_scope(self.engine) as s:
            org_row = self._org(s, org or self.default_org, create=True)
            team = s.scalar(select(Team).where(Team.org_id == org_row.id, Team.name == name))
            if team is not None and not exist_ok:
                raise BadInputError(f"team {name!r} already exists in organisation {org_row.name!r}")
            if team is None:
                team = Team(
                    id=_new_id("team"),
                    org_id=org_row.id,
                    name=name,
                    rpm=rpm,
                    tpm=tpm,
                    max_concurrency=max_concurrency,
                    store_content=store_content,
                    guardrail=guardrail,
                    created_at=_now(),
                )
                s.add(team)
                s.flush()
                self._audit(s, "team.create", f"team:{team.id}", {"name": name, "org": org_row.name})
            if budget_usd is not None:
                _set_budget(s, f"team:{team.id}", period, budget_usd)
                self._audit(s, "budget.set", f"team:{team.id}", {"usd": budget_usd, "period": period})
            self._bump(s)
            return _team_info(s, team, org_row.name)

    def update_team(self, name: str, *, org: str | None = None, **changes: Any) -> TeamInfo:
        allowed = {"rpm", "tpm", "max_concurrency", "store_content", "guardrail"}
        unknown = set(changes) - allowed
        if unknown:
            raise BadInputError(f"unknown team setting(s) {', '.join(sorted(unknown))}")
        with session_scope(self.engine) as s:
            team, org_name = self._team(s, name, org)
            for k, v in changes.items():
                setattr(team, k, v)
            self._audit(s, "team.update", f"team:{team.id}", changes)
            self._bump(s)
            return _team_info(s, team, org_name)

    def list_teams(self, org: str | None = None) -> list[TeamInfo]:
        with session_scope(self.engine) as s:
            rows = s.execute(select(Team, Org.name).join(Org, Org.id == Team.org_id).order_by(Team.name))
            return [_team_info(s, t, o) for t, o in rows if org is None or o == org]

    def set_budget(self, scope: str, usd: float, period: Period = "monthly") -> None:
        """`scope`: team:NAME, key:ID, org:NAME or model:ROUTE (names are resolved to ids)."""
        kind, _, name = scope.partition(":")
        with session_scope(self.engine) as s:
            if kind == "team":
                resolved = f"team:{self._team(s, name, None)[0].id}"
            elif kind == "org":
                resolved = f"org:{self._org(s, name, create=False).id}"
            elif kind == "key":
                if s.get(ApiKey, name) is None:
                    raise BadInputError(f"no key with id {name!r}")
                resolved = scope
            elif kind == "model" and name:
                resolved = scope
            else:
                raise BadInputError(
                    f"budget scope {scope!r}: expected team:NAME, org:NAME, key:ID or model:ROUTE"
                )
            _set_budget(s, resolved, period, usd)
            self._audit(s, "budget.set", resolved, {"usd": usd, "period": period})
            self._bump(s)

    # -- keys ---------------------------------------------------------------------------------
    def create_key(
        self,
        team: str,
        *,
        org: str | None = None,
        name: str | None = None,
        models: list[str] | None = None,
        expires_in: timedelta | None = None,
        budget_usd: float | None = None,
        period: Period = "monthly",
        rpm: int | None = None,
        tpm: int | None = None,
        max_concurrency: int | None = None,
    ) -> CreatedKey:
        """A new key for `team` (created when missing); the full key is in the result and nowhere else."""
        self.create_team(team, org=org, exist_ok=True)
        key, key_id, salt, digest = new_key()
        with session_scope(self.engine) as s:
            team_row, org_name = self._team(s, team, org)
            row = ApiKey(
                id=key_id,
                team_id=team_row.id,
                name=name,
                salt=salt,
                hash=digest,
                models=models,
                rpm=rpm,
                tpm=tpm,
                max_concurrency=max_concurrency,
                expires_at=_now() + expires_in if expires_in is not None else None,
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            if budget_usd is not None:
                _set_budget(s, f"key:{key_id}", period, budget_usd)
            self._audit(
                s,
                "key.create",
                f"key:{key_id}",
                {"team": team, "models": models, "budget_usd": budget_usd, "period": period},
            )
            self._bump(s)
            return CreatedKey(key=key, info=_key_info(row, team_row.name, org_name))

    def revoke_key(self, key_id: str) -> KeyInfo:
        with session_scope(self.engine) as s:
            row = self._key(s, key_id)
            if row.revoked_at is None:
                row.revoked_at = _now()
            self._audit(s, "key.revoke", f"key:{key_id}", None)
            self._bump(s)
            return self._info(s, row)

    def rotate_key(self, key_id: str, *, overlap: timedelta = timedelta(hours=24)) -> CreatedKey:
        """A new key with the same team, models and limits; the old one keeps working for `overlap`."""
        with session_scope(self.engine) as s:
            old = self._key(s, key_id)
            if old.revoked_at is not None:
                raise BadInputError(f"key {key_id} is revoked: create a new key instead of rotating it")
            team = s.get(Team, old.team_id)
            assert team is not None
            org = s.get(Org, team.org_id)
            assert org is not None
            budgets = s.scalars(select(Budget).where(Budget.scope == f"key:{key_id}")).all()
            key, new_id, salt, digest = new_key()
            row = ApiKey(
                id=new_id,
                team_id=old.team_id,
                name=old.name,
                salt=salt,
                hash=digest,
                models=old.models,
                rpm=old.rpm,
                tpm=old.tpm,
                max_concurrency=old.max_concurrency,
                expires_at=old.expires_at,
                created_at=_now(),
            )
            s.add(row)
            for b in budgets:
                _set_budget(s, f"key:{new_id}", b.period, b.usd)  # type: ignore[arg-type]
            ends = _now() + overlap
            old_expiry = _aware(old.expires_at)
            old.expires_at = ends if old_expiry is None or old_expiry > ends else old.expires_at
            old.replaced_by = new_id
            self._audit(
                s, "key.rotate", f"key:{key_id}", {"new_key": new_id, "overlap_s": overlap.total_seconds()}
            )
            self._bump(s)
            return CreatedKey(key=key, info=_key_info(row, team.name, org.name))

    def list_keys(self, team: str | None = None) -> list[KeyInfo]:
        with session_scope(self.engine) as s:
            rows = s.execute(
                select(ApiKey, Team.name, Org.name)
                .join(Team, Team.id == ApiKey.team_id)
                .join(Org, Org.id == Team.org_id)
                .order_by(ApiKey.created_at)
            )
            return [_key_info(k, t, o) for k, t, o in rows if team is None or t == team]

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        with session_scope(self.engine) as s:
            rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
            return [
                {
                    "at": _aware(r.at).isoformat(),  # type: ignore[union-attr]
                    "actor": r.actor,
                    "action": r.action,
                    "target": r.target,
                    "detail": r.detail,
                }
                for r in rows
            ]

    # -- what requests read -------------------------------------------------------------------
    def version(self) -> int:
        with self.engine.connect() as conn:
            value = conn.scalar(select(State.value).where(State.name == VERSION))
            return int(value or 0)

    def key_context(self, key_id: str) -> KeyContext | None:
        with session_scope(self.engine) as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                return None
            team = s.get(Team, row.team_id)
            assert team is not None
            scopes = [f"key:{row.id}", f"team:{team.id}", f"org:{team.org_id}"]
            budgets = [
                BudgetRule(b.scope, b.period, b.usd)  # type: ignore[arg-type]
                for b in s.scalars(select(Budget).where(Budget.scope.in_(scopes)))
            ]
            return KeyContext(
                key_id=row.id,
                salt=row.salt,
                hash=row.hash,
                team_id=team.id,
                team=team.name,
                org_id=team.org_id,
                models=frozenset(row.models) if row.models is not None else None,
                expires_at=_aware(row.expires_at),
                revoked=row.revoked_at is not None,
                store_content=team.store_content,
                guardrail=team.guardrail,
                rates=[
                    RateRule(f"key:{row.id}", row.rpm, row.tpm, row.max_concurrency),
                    RateRule(f"team:{team.id}", team.rpm, team.tpm, team.max_concurrency),
                ],
                budgets=budgets,
            )

    def model_budgets(self) -> dict[str, list[BudgetRule]]:
        with session_scope(self.engine) as s:
            out: dict[str, list[BudgetRule]] = {}
            for b in s.scalars(select(Budget).where(Budget.scope.like("model:%"))):
                out.setdefault(b.scope[len("model:") :], []).append(BudgetRule(b.scope, b.period, b.usd))  # type: ignore[arg-type]
            return out

    def team_id(self, name: str, org: str | None = None) -> str:
        with session_scope(self.engine) as s:
            return self._team(s, name, org)[0].id

    # -- helpers ------------------------------------------------------------------------------
    def _org(self, s: Session, name: str, *, create: bool) -> Org:
        org = s.scalar(select(Org).where(Org.name == name))
        if org is None:
            if not create:
                raise BadInputError(f"no organisation named {name!r}")
            org = Org(id=_new_id("org"), name=name, created_at=_now())
            s.add(org)
            s.flush()
            self._audit(s, "org.create", f"org:{org.id}", {"name": name})
        return org

    def _team(self, s: Session, name: str, org: str | None) -> tuple[Team, str]:
        org_row = self._org(s, org or self.default_org, create=False)
        team = s.scalar(select(Team).where(Team.org_id == org_row.id, Team.name == name))
        if team is None:
            raise BadInputError(f"no team named {name!r} in organisation {org_row.name!r}")
        return team, org_row.name

    def _key(self, s: Session, key_id: str) -> ApiKey:
        row = s.get(ApiKey, key_id)
        if row is None:
            raise BadInputError(f"no key with id {key_id!r} (see `fmops keys list`)")
        return row

    def _info(self, s: Session, row: ApiKey) -> KeyInfo:
        team = s.get(Team, row.team_id)
        assert team is not None
        org = s.get(Org, team.org_id)
        assert org is not None
        return _key_info(row, team.name, org.name)

    def _audit(self, s: Session, action: str, target: str, detail: dict[str, Any] | None) -> None:
        s.add(AuditEntry(at=_now(), actor=self.actor, action=action, target=target, detail=detail))

    def _bump(self, s: Session) -> None:
        """Tell every replica to drop its cached keys (they poll this number)."""
        updated = s.execute(update(State).where(State.name == VERSION).values(value=State.value + 1))
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            s.add(State(name=VERSION, value=1))


def _set_budget(s: Session, scope: str, period: str, usd: float) -> None:
    if usd < 0:
        raise BadInputError(f"budget for {scope}: {usd} is negative")
    if period not in ("daily", "monthly"):
        raise BadInputError(f"budget period {period!r}: expected daily or monthly")
    row = s.scalar(select(Budget).where(Budget.scope == scope, Budget.period == period))
    if row is None:
        s.add(Budget(scope=scope, period=period, usd=usd))
    else:
        row.usd = usd


def _team_info(s: Session, team: Team, org_name: str) -> TeamInfo:
    budgets = {b.period: b.usd for b in s.scalars(select(Budget).where(Budget.scope == f"team:{team.id}"))}
    return TeamInfo(
        id=team.id,
        name=team.name,
        org=org_name,
        rpm=team.rpm,
        tpm=team.tpm,
        max_concurrency=team.max_concurrency,
        store_content=team.store_content,
        budgets=budgets,
    )


def _key_info(row: ApiKey, team: str, org: str) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        team=team,
        org=org,
        name=row.name,
        models=row.models,
        expires_at=_aware(row.expires_at),
        revoked_at=_aware(row.revoked_at),
        replaced_by=row.replaced_by,
        created_at=_aware(row.created_at),  # type: ignore[arg-type]
    )


def _new_id(kind: str) -> str:
    return f"{kind}_{secrets.token_hex(6)}"
