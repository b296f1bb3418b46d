"""Versioned, aliased entries (models, prompts, guardrail policies) in the fmops database, every change audited.

Versions are immutable once registered; only their approval status changes. Aliases move: each move is an
alias event, and rollback replays those events as a stack (promote pushes, rollback pops). Alias moves are
guarded by an optimistic `lock_version` on the entry: a writer that read an older state than the one in the
database gets `RegistryConflictError` instead of silently overwriting a concurrent promotion.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from fmops.core.errors import BadInputError, FmopsError
from fmops.registry._tables import AliasEventRow, AliasRow, AuditRow, EntryRow, VersionRow
from fmops.registry._types import (
    AliasEvent,
    ApprovalStatus,
    AuditEvent,
    EntryInfo,
    Kind,
    VersionInfo,
)
from fmops.store import open_database, session_scope

ACTOR_ENV = "FMOPS_USER"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,99}$")


class RegistryConflictError(FmopsError):
    """Someone else changed the entry between our read and our write (exit code 3): re-read and retry."""

    exit_code = 3


def current_actor(actor: str | None = None) -> str:
    """Who is acting: the argument, $FMOPS_USER, else the login name."""
    if actor:
        return actor
    env = os.environ.get(ACTOR_ENV)
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def check_name(name: str, what: str = "name") -> str:
    if not _NAME.match(name):
        raise BadInputError(f"{what} {name!r}: use letters, digits, '.', '_' or '-' (at most 200)")
    return name


def check_alias(alias: str) -> str:
    if not _ALIAS.match(alias) or alias.isdigit():
        raise BadInputError(f"alias {alias!r}: start with a letter; letters, digits, '.', '_' or '-'")
    return alias


def parse_reference(reference: str) -> tuple[str, str | int | None]:
    """`NAME@ALIAS` -> (NAME, "ALIAS"); `NAME/3` -> (NAME, 3); `NAME` -> (NAME, None: the latest)."""
    if "@" in reference:
        name, _, alias = reference.partition("@")
        return check_name(name), check_alias(alias)
    if "/" in reference:
        name, _, version = reference.partition("/")
        if not version.isdigit() or int(version) < 1:
            raise BadInputError(f"{reference!r}: expected NAME/VERSION with a version number >= 1")
        return check_name(name), int(version)
    return check_name(reference), None


class VersionedCatalog:
    """The registered entries of one kind ("model" or "prompt") in one database."""

    #: Called between reading an entry's state and writing the alias move (tests use it to line two
    #: processes up on the race window).
    _before_alias_write: Callable[[], None] | None = None

    def __init__(self, kind: Kind, url: str | None = None) -> None:
        self.kind: Kind = kind
        self.engine: Engine = open_database(url)

    # -- reading -------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        with Session(self.engine) as s:
            return list(
                s.scalars(select(EntryRow.name).where(EntryRow.kind == self.kind).order_by(EntryRow.name))
            )

    def list(self) -> list[EntryInfo]:
        return [self.show(name) for name in self.names()]

    def show(self, name: str) -> EntryInfo:
        with Session(self.engine) as s:
            entry = self._entry(s, name)
            aliases = self._aliases(s, entry.id)
            rows = s.scalars(
                select(VersionRow).where(VersionRow.entry_id == entry.id).order_by(VersionRow.version)
            )
            versions = [self._info(entry, row, aliases) for row in rows]
            return EntryInfo(
                kind=self.kind,
                name=entry.name,
                created_at=entry.created_at,
                aliases=aliases,
                versions=versions,
            )

    def get(self, name: str, ref: str | int | None = None) -> VersionInfo:
        """A version by number, by alias, or (ref None) the latest."""
        with Session(self.engine) as s:
            entry = self._entry(s, name)
            aliases = self._aliases(s, entry.id)
            if isinstance(ref, str):
                if ref not in aliases:
                    known = ", ".join(sorted(aliases)) or "none"
                    raise BadInputError(f"{self.kind} {name!r} has no alias {ref!r}; aliases: {known}")
                number: int | None = aliases[ref]
            else:
                number = ref
            row = self._version(s, entry, number)
            return self._info(entry, row, aliases)

    def resolve(self, reference: str) -> VersionInfo:
        """`NAME@ALIAS`, `NAME/VERSION` or `NAME` (latest version)."""
        name, ref = parse_reference(reference)
        return self.get(name, ref)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        with Session(self.engine) as s:
            entry = self._entry(s, name)
            query = select(AliasEventRow).where(AliasEventRow.entry_id == entry.id)
            if alias is not None:
                query = query.where(AliasEventRow.alias == alias)
            return [
                AliasEvent(
                    alias=r.alias,
                    action=r.action,  # type: ignore[arg-type]
                    from_version=r.from_version,
                    to_version=r.to_version,
                    actor=r.actor,
                    reason=r.reason,
                    at=r.at,
                )
                for r in s.scalars(query.order_by(AliasEventRow.id))
            ]

    def audit(self, name: str | None = None) -> list[AuditEvent]:
        with Session(self.engine) as s:
            query = select(AuditRow).where(AuditRow.kind == self.kind)
            if name is not None:
                self._entry(s, name)
                query = query.where(AuditRow.name == name)
            return [
                AuditEvent(
                    at=r.at,
                    actor=r.actor,
                    kind=r.kind,  # type: ignore[arg-type]
                    name=r.name,
                    action=r.action,
                    version=r.version,
                    detail=r.detail or {},
                    reason=r.reason,
                )
                for r in s.scalars(query.order_by(AuditRow.id))
            ]

    # -- writing -------------------------------------------------------------------------------------

    def register(
        self,
        name: str,
        payload: dict[str, Any],
        *,
        description: str | None = None,
        status: ApprovalStatus = "PendingManualApproval",
        actor: str | None = None,
        reason: str | None = None,
    ) -> VersionInfo:
        """Add the next version of `name` (creating the entry on first use); returns it."""
        check_name(name)
        who = current_actor(actor)
        self._ensure_entry(name, who)
        with self._writing(), session_scope(self.engine) as s:
            entry = self._entry(s, name)
            # Bumping the lock first takes the row's write lock, so concurrent registers number in turn.
            s.execute(
                update(EntryRow).where(EntryRow.id == entry.id).values(lock_version=EntryRow.lock_version + 1)
            )
            last = s.scalar(select(func.max(VersionRow.version)).where(VersionRow.entry_id == entry.id))
            row = VersionRow(
                entry_id=entry.id,
                version=(last or 0) + 1,
                payload=payload,
                status=status,
                description=description,
                created_by=who,
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            self._audit(s, who, name, "register", row.version, {"payload": payload, "status": status}, reason)
            return self._info(entry, row, self._aliases(s, entry.id))

    def set_status(
        self,
        name: str,
        version: int,
        status: ApprovalStatus,
        *,
        actor: str | None = None,
        reason: str | None = None,
    ) -> VersionInfo:
        who = current_actor(actor)
        with self._writing(), session_scope(self.engine) as s:
            entry = self._entry(s, name)
            row = self._version(s, entry, version)
            before = row.status
            row.status = status
            action = {"Approved": "approve", "Rejected": "reject"}.get(status, "set-status")
            self._audit(s, who, name, action, version, {"from": before, "to": status}, reason)
            return self._info(entry, row, self._aliases(s, entry.id))

    def approve(self, name: str, version: int, **kw: Any) -> VersionInfo:
        return self.set_status(name, version, "Approved", **kw)

    def reject(self, name: str, version: int, **kw: Any) -> VersionInfo:
        return self.set_status(name, version, "Rejected", **kw)

    def promote(
        self, name: str, version: int, alias: str, *, actor: str | None = None, reason: str | None = None
    ) -> AliasEvent:
        """Point `alias` at `version` (a Rejected version cannot be promoted)."""
        check_alias(alias)
        return self._move_alias(name, alias, lambda _events, _current: version, "promote", actor, reason)

    def rollback(
        self, name: str, alias: str, *, actor: str | None = None, reason: str | None = None
    ) -> AliasEvent:
        """Move `alias` back to the version it pointed at before its latest promotion."""

        def previous(events: list[AliasEventRow], current: int | None) -> int:
            stack = alias_stack(events)
            if len(stack) < 2:
                raise BadInputError(
                    f"{self.kind} {name!r}: alias {alias!r} has no previous version to roll back to"
                )
            return stack[-2]

        return self._move_alias(name, alias, previous, "rollback", actor, reason)

    # -- internals -----------------------------------------------------------------------------------

    def _move_alias(
        self,
        name: str,
        alias: str,
        target: Callable[[list[AliasEventRow], int | None], int],
        action: str,
        actor: str | None,
        reason: str | None,
    ) -> AliasEvent:
        who = current_actor(actor)
        # Read the state outside the write transaction, then write only if nobody moved the entry since.
        with Session(self.engine) as s:
            entry = self._entry(s, name)
            seen_lock = entry.lock_version
            current = self._aliases(s, entry.id).get(alias)
            events = list(
                s.scalars(
                    select(AliasEventRow)
                    .where(AliasEventRow.entry_id == entry.id, AliasEventRow.alias == alias)
                    .order_by(AliasEventRow.id)
                )
            )
            version = target(events, current)
            row = self._version(s, entry, version)
            if row.status == "Rejected":
                raise BadInputError(
                    f"{self.kind} {name!r} version {version} is Rejected and cannot be promoted"
                )
            entry_id = entry.id
        if action == "promote" and current == version:  # already there: nothing to record
            return AliasEvent(
                alias=alias, action="promote", from_version=current, to_version=version, actor=who, at=_now()
            )
        if self._before_alias_write is not None:
            self._before_alias_write()
        now = _now()
        with self._writing(conflict=True), session_scope(self.engine) as s:
            moved = s.execute(
                update(EntryRow)
                .where(EntryRow.id == entry_id, EntryRow.lock_version == seen_lock)
                .values(lock_version=seen_lock + 1)
            )
            if moved.rowcount != 1:
                raise RegistryConflictError(
                    f"{self.kind} {name!r} changed while moving alias {alias!r} (another promotion or rollback "
                    "won the race); run `fmops registry show` and try again"
                )
            alias_row = s.scalar(
                select(AliasRow).where(AliasRow.entry_id == entry_id, AliasRow.alias == alias)
            )
            if alias_row is None:
                s.add(AliasRow(entry_id=entry_id, alias=alias, version=version, updated_at=now))
            else:
                alias_row.version = version
                alias_row.updated_at = now
            event = AliasEventRow(
                entry_id=entry_id,
                alias=alias,
                action=action,
                from_version=current,
                to_version=version,
                actor=who,
                reason=reason,
                at=now,
            )
            s.add(event)
            self._audit(
                s, who, name, action, version, {"alias": alias, "from": current, "to": version}, reason
            )
        return AliasEvent(
            alias=alias,
            action=action,  # type: ignore[arg-type]
            from_version=current,
            to_version=version,
            actor=who,
            reason=reason,
            at=now,
        )

    def _writing(self, conflict: bool = False) -> _WriteErrors:
        return _WriteErrors(self.kind, conflict)

    def _ensure_entry(self, name: str, who: str) -> None:
        with Session(self.engine) as s:
            if s.scalar(select(EntryRow.id).where(EntryRow.kind == self.kind, EntryRow.name == name)):
                return
        try:
            with session_scope(self.engine) as s:
                s.add(EntryRow(kind=self.kind, name=name, lock_version=0, created_at=_now()))
                s.flush()
                self._audit(s, who, name, "create", None, {}, None)
        except IntegrityError:  # created concurrently by another process: fine
            pass

    def _entry(self, s: Session, name: str) -> EntryRow:
        entry = s.scalar(select(EntryRow).where(EntryRow.kind == self.kind, EntryRow.name == name))
        if entry is None:
            raise BadInputError(f"no registered {self.kind} named {name!r} (see `fmops {self._cli} list`)")
        return entry

    @property
    def _cli(self) -> str:
        return {"model": "registry", "prompt": "prompts", "policy": "guard policies"}[self.kind]

    def _version(self, s: Session, entry: EntryRow, version: int | None) -> VersionRow:
        query = select(VersionRow).where(VersionRow.entry_id == entry.id)
        if version is None:
            row = s.scalar(query.order_by(VersionRow.version.desc()).limit(1))
        else:
            row = s.scalar(query.where(VersionRow.version == version))
        if row is None:
            which = "any version" if version is None else f"version {version}"
            raise BadInputError(f"{self.kind} {entry.name!r} has no {which}")
        return row

    @staticmethod
    def _aliases(s: Session, entry_id: int) -> dict[str, int]:
        rows = s.execute(select(AliasRow.alias, AliasRow.version).where(AliasRow.entry_id == entry_id))
        return {alias: version for alias, version in sorted(rows)}

    def _info(self, entry: EntryRow, row: VersionRow, aliases: dict[str, int]) -> VersionInfo:
        return VersionInfo(
            kind=self.kind,
            name=entry.name,
            version=row.version,
            status=row.status,  # type: ignore[arg-type]
            description=row.description,
            created_by=row.created_by,
            created_at=row.created_at,
            aliases=sorted(a for a, v in aliases.items() if v == row.version),
            payload=row.payload,
        )

    def _audit(
        self,
        s: Session,
        actor: str,
        name: str,
        action: str,
        version: int | None,
        detail: dict[str, Any],
        reason: str | None,
    ) -> None:
        s.add(
            AuditRow(
                at=_now(),
                actor=actor,
                kind=self.kind,
                name=name,
                action=action,
                version=version,
                detail=detail,
                reason=reason,
            )
        )


def alias_stack(events: list[AliasEventRow] | list[AliasEvent]) -> list[int]:
    """Replay alias events: a promotion pushes its version, a rollback pops the top."""
    stack: list[int] = []
    for event in events:
        if event.action == "rollback" and stack:
            stack.pop()
        elif event.action == "promote":
            stack.append(event.to_version)
    return stack


class _WriteErrors:
    """SQLite reports a writer that lost the race as 'database is locked': say it as a conflict."""

    def __init__(self, kind: str, conflict: bool) -> None:
        self.kind = kind
        self.conflict = conflict

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: object) -> bool:
        if isinstance(exc, OperationalError) and "locked" in str(exc):
            if self.conflict:
                raise RegistryConflictError(
                    f"{self.kind} registry busy: another process is changing it; try again"
                ) from None
            raise FmopsError(f"the fmops database is locked by another process: {exc.orig}") from None
        return False
