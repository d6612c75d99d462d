"""API keys for service-to-service calls: created once, stored only as a hash, checked per request.

A key looks like ``pb_live_4k7q2m9x3c1d_<43 random characters>``: the type prefix (``pb_live_`` for
prod, ``pb_test_`` elsewhere) lets secret scanners recognise a leaked key, and the 12 characters after
it are a non-secret lookup id. The database (the run-record database: SQLite file or PostgreSQL via
``PATCHBAY_DATABASE_URL``) keeps the lookup prefix and the SHA-256 of the whole key, never the key:
with 256 random bits a fast hash is as safe as a slow one, and lookups stay O(1).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from patchbay.errors import PatchbayError

Kind = Literal["live", "test"]
SCOPES: dict[str, str] = {
    "admin.manage": "the admin API: list and show runs (and everything the other admin scopes allow)",
    "runs.replay": "replay failed runs through the admin API",
    "prompt.execute": "reserved for the AI Prompt API (not built yet: grants nothing today)",
    "template.manage": "reserved for prompt templates (not built yet: grants nothing today)",
    "analytics.read": "reserved for usage and cost analytics (not built yet: grants nothing today)",
    "flags.manage": "read and change rollout flags (and the kill switch) through the admin API",
    "feedback.submit": "rate runs (useful / not useful) through the API",
}
_KEY = re.compile(r"^pb_(live|test)_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

metadata = sa.MetaData()
keys_table = sa.Table(
    "patchbay_api_keys",
    metadata,
    sa.Column("key_id", sa.String(12), primary_key=True),
    sa.Column("prefix", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(4), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("allow_ips", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rotated_to", sa.String(12), nullable=True),
)


class ApiKeyError(PatchbayError):
    """A key operation was asked for something that cannot be done (unknown key, bad scope...)."""

    code = "api_key_error"


@dataclass(frozen=True)
class ApiKey:
    """A stored key's public record (never the key itself)."""

    key_id: str
    prefix: str
    name: str
    kind: Kind
    key_hash: str
    scopes: tuple[str, ...]
    allow_ips: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_to: str | None

    def active(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def status(self, now: datetime) -> str:
        """'active', 'revoked' or 'expired'."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and now >= self.expires_at else "active"

    def allows_ip(self, address: str) -> bool:
        """True without an allow-list, or when ``address`` is in one of its networks."""
        if not self.allow_ips:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:  # type: ignore[union-attr]
            ip = ip.ipv4_mapped  # type: ignore[union-attr]
        return any(ip in ipaddress.ip_network(net, strict=False) for net in self.allow_ips)


def parse_key(token: str) -> tuple[Kind, str] | None:
    """``(kind, key_id)`` of a well-formed key, else None."""
    match = _KEY.match(token.strip())
    if match is None:
        return None
    return ("live" if match.group(1) == "live" else "test"), match.group(2)


def key_hash(token: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


def check_scopes(scopes: list[str]) -> list[str]:
    """The scopes, de-duplicated; ``ApiKeyError`` naming the known ones for an unknown scope."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ApiKeyError(f"unknown scope {unknown[0]!r}; known scopes: {', '.join(SCOPES)}")
    if not scopes:
        raise ApiKeyError(f"give at least one scope: {', '.join(SCOPES)}")
    return sorted(set(scopes))


def check_networks(networks: list[str]) -> list[str]:
    """CIDRs normalised (``10.1.2.3`` -> ``10.1.2.3/32``); ``ApiKeyError`` for a malformed one."""
    out: list[str] = []
    for net in networks:
        try:
            out.append(str(ipaddress.ip_network(net.strip(), strict=False)))
        except ValueError:
            raise ApiKeyError(f"--allow-ip {net!r} is not an address or CIDR such as 10.0.0.0/8") from None
    return out


def _row(row: Any) -> ApiKey:
    def aware(value: datetime | None) -> datetime | None:  # SQLite returns naive datetimes
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    created = aware(row.created_at)
    assert created is not None
    return ApiKey(
        key_id=row.key_id,
        prefix=row.prefix,
        name=row.name,
        kind="live" if row.kind == "live" else "test",
        key_hash=row.key_hash,
        scopes=tuple(row.scopes),
        allow_ips=tuple(row.allow_ips),
        created_at=created,
        expires_at=aware(row.expires_at),
        revoked_at=aware(row.revoked_at),
        rotated_to=row.rotated_to,
    )


class ApiKeyStore:
    """Creates, finds, lists, revokes and rotates keys in the run-record database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            metadata.create_all(engine)
        except sa.exc.DBAPIError:  # another process created the table at the same moment
            metadata.create_all(engine)

    def create(
        self,
        *,
        name: str,
        scopes: list[str],
        kind: Kind,
        allow_ips: list[str] | None = None,
        expires_at: datetime | None = None,
        now: datetime | None = None,
    ) -> tuple[str, ApiKey]:
        """A new key: returns the key itself (shown once) and its stored record."""
        if not name.strip():
            raise ApiKeyError("give the key a --name so people know what it is for")
        scope_list = check_scopes(scopes)
        networks = check_networks(allow_ips or [])
        key_id = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        token = f"pb_{kind}_{key_id}_{secrets.token_urlsafe(32)}"
        values = {
            "key_id": key_id,
            "prefix": f"pb_{kind}_{key_id}",
            "name": name.strip(),
            "kind": kind,
            "key_hash": key_hash(token),
            "scopes": scope_list,
            "allow_ips": networks,
            "created_at": now or datetime.now(UTC),
            "expires_at": expires_at,
            "revoked_at": None,
            "rotated_to": None,
        }
        with self.engine.begin() as conn:
            conn.execute(keys_table.insert().values(**values))
        record = self.get(key_id)
        assert record is not None
        return token, record

    def get(self, key_id: str) -> ApiKey | None:
        """The record for a lookup id (or a full prefix ``pb_live_<id>``), or None."""
        key_id = key_id.strip().rsplit("_", 1)[-1] if key_id.startswith("pb_") else key_id.strip()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(keys_table).where(keys_table.c.key_id == key_id)).first()
        return _row(row) if row is not None else None

    def list(self) -> list[ApiKey]:
        """Every key, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(keys_table).order_by(keys_table.c.created_at.desc())).all()
        return [_row(r) for r in rows]

    def find(self, token: str) -> ApiKey | None:
        """The record of a presented key when the key is genuine (hash compared in constant time)."""
        parsed = parse_key(token)
        if parsed is None:
            return None
        record = self.get(parsed[1])
        if record is None or record.kind != parsed[0]:
            return None
        return record if hmac.compare_digest(record.key_hash, key_hash(token)) else None

    def revoke(self, key_id: str, *, now: datetime | None = None) -> ApiKey:
        """Revoke a key (idempotent); ``ApiKeyError`` when there is no such key."""
        record = self._existing(key_id)
        if record.revoked_at is None:
            with self.engine.begin() as conn:
                conn.execute(
                    keys_table.update()
                    .where(keys_table.c.key_id == record.key_id)
                    .values(revoked_at=now or datetime.now(UTC))
                )
        revoked = self.get(record.key_id)
        assert revoked is not None
        return revoked

    def rotate(
        self, key_id: str, *, grace: timedelta = timedelta(0), now: datetime | None = None
    ) -> tuple[str, ApiKey]:
        """A new key with the same name, scopes and allow-list; the old one expires after ``grace``."""
        old = self._existing(key_id)
        if old.revoked_at is not None:
            raise ApiKeyError(f"key {old.prefix} is revoked; create a new one instead of rotating it")
        moment = now or datetime.now(UTC)
        token, new = self.create(
            name=old.name,
            scopes=list(old.scopes),
            kind=old.kind,
            allow_ips=list(old.allow_ips),
            expires_at=old.expires_at,
            now=moment,
        )
        ends = moment + grace
        with self.engine.begin() as conn:
            values: dict[str, Any] = {"rotated_to": new.key_id}
            if grace <= timedelta(0):
                values["revoked_at"] = moment
            elif old.expires_at is None or ends < old.expires_at:
                values["expires_at"] = ends
            conn.execute(keys_table.update().where(keys_table.c.key_id == old.key_id).values(**values))
        return token, new

    def _existing(self, key_id: str) -> ApiKey:
        record = self.get(key_id)
        if record is None:
            raise ApiKeyError(f"no API key {key_id!r}; 'patchbay keys list' shows the ids")
        return record


def parse_expiry(text: str, *, now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``90m`` or an ISO date/time (UTC when no zone is given)."""
    now = now or datetime.now(UTC)
    match = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text)
    if match:
        amount = int(match.group(1))
        unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
        try:
            return now + timedelta(**{unit: amount})
        except OverflowError:
            raise ApiKeyError(f"--expires {text!r} is too far away; use at most a few years") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ApiKeyError(f"--expires {text!r}: use 30d, 12h, 90m or a date such as 2026-12-31") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now:
        raise ApiKeyError(f"--expires {text!r} is in the past")
    return moment
