"""API keys: shown once, stored as a hash with a lookup prefix, scoped, IP-restricted, expiring, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from patchbay.auth.apikeys import ApiKeyError, ApiKeyStore, parse_expiry, parse_key
from patchbay.auth.callers import ApiKeyAuthenticator, Denied


@pytest.fixture
def store(tmp_path: Path) -> ApiKeyStore:
    return ApiKeyStore(sa.create_engine(f"sqlite:///{tmp_path / 'runs.sqlite'}"))


def test_key_is_type_prefixed_and_only_its_hash_is_stored(store: ApiKeyStore, tmp_path: Path) -> None:
    token, key = store.create(name="ci", scopes=["runs.replay"], kind="live")
    assert token.startswith(f"{key.prefix}_") and key.prefix.startswith("pb_live_")
    assert parse_key(token) == ("live", key.key_id)
    test_token, _ = store.create(name="local", scopes=["admin.manage"], kind="test")
    assert test_token.startswith("pb_test_")
    raw = (tmp_path / "runs.sqlite").read_bytes()
    assert token.encode() not in raw and token.rsplit("_", 1)[1].encode() not in raw
    assert key.prefix.encode() in raw  # the non-secret lookup prefix is what people see in 'keys list'
    assert store.find(token) == key
    assert store.find(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_bad_scopes_networks_and_expiry_are_refused_with_the_fix(store: ApiKeyStore) -> None:
    with pytest.raises(ApiKeyError, match=r"unknown scope 'admin'.*admin\.manage"):
        store.create(name="x", scopes=["admin"], kind="test")
    with pytest.raises(ApiKeyError, match=r"--allow-ip '10\.0\.0\.0/33'"):
        store.create(name="x", scopes=["runs.replay"], kind="test", allow_ips=["10.0.0.0/33"])
    with pytest.raises(ApiKeyError, match="--expires 'soon'"):
        parse_expiry("soon")
    with pytest.raises(ApiKeyError, match="in the past"):
        parse_expiry("2001-01-01")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_expiry("30d", now=now) == now + timedelta(days=30)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def mono(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.t += seconds
        self.now += timedelta(seconds=seconds)


def auth(store: ApiKeyStore, clock: Clock, environment: str = "dev") -> ApiKeyAuthenticator:
    return ApiKeyAuthenticator(store, environment=environment, clock=clock.mono, now=clock.wall)


def denied(authn: ApiKeyAuthenticator, token: str, ip: str = "127.0.0.1") -> tuple[int, str]:
    with pytest.raises(Denied) as exc:
        authn.authenticate(token, ip)
    return exc.value.status, exc.value.code


def test_revocation_takes_effect_within_the_cache_window(store: ApiKeyStore) -> None:
    clock = Clock()
    authn = auth(store, clock)
    token, key = store.create(name="ci", scopes=["runs.replay"], kind="test")
    assert authn.authenticate(token, "127.0.0.1").scopes == {"runs.replay"}
    store.revoke(key.key_id)
    clock.advance(authn.cache_s + 0.1)
    assert authn.cache_s <= 60
    assert denied(authn, token) == (401, "api_key_revoked")


def test_expiry_applies_without_a_lookup(store: ApiKeyStore) -> None:
    clock = Clock()
    authn = auth(store, clock)
    token, _ = store.create(
        name="tmp", scopes=["runs.replay"], kind="test", expires_at=clock.now + timedelta(seconds=5)
    )
    authn.authenticate(token, "127.0.0.1")
    clock.advance(6)
    assert denied(authn, token) == (401, "api_key_expired")


def test_ip_allow_list(store: ApiKeyStore) -> None:
    authn = auth(store, Clock())
    token, _ = store.create(
        name="ci", scopes=["runs.replay"], kind="test", allow_ips=["10.1.0.0/16", "192.0.2.7"]
    )
    authn.authenticate(token, "10.1.200.3")
    authn.authenticate(token, "192.0.2.7")
    authn.authenticate(token, "::ffff:10.1.0.9")  # IPv4-mapped IPv6 is the same address
    assert denied(authn, token, "10.2.0.1") == (403, "ip_not_allowed")
    assert denied(authn, token, "not-an-ip") == (403, "ip_not_allowed")


def test_test_keys_are_refused_in_prod_and_garbage_is_401(store: ApiKeyStore) -> None:
    token, _ = store.create(name="dev", scopes=["admin.manage"], kind="test")
    assert denied(auth(store, Clock(), "prod"), token) == (401, "invalid_api_key")
    authn = auth(store, Clock())
    for bad in ("pb_live_", "pb_live_abc_def", "pb_test_" + "a" * 12 + "_" + "b" * 43, "x" * 5000):
        assert denied(authn, bad) == (401, "invalid_api_key")


def test_rotate_replaces_the_key_and_keeps_its_grants(store: ApiKeyStore) -> None:
    clock = Clock()
    token, old = store.create(name="ci", scopes=["runs.replay"], kind="test", allow_ips=["10.0.0.0/8"])
    new_token, new = store.rotate(old.key_id)
    assert new_token != token and new.scopes == old.scopes and new.allow_ips == old.allow_ips
    assert store.get(old.key_id).revoked_at is not None  # type: ignore[union-attr]
    assert auth(store, clock).authenticate(new_token, "10.0.0.1").name == "ci"
    # With a grace period the old key keeps working until it ends.
    _, graced = store.rotate(new.key_id, grace=timedelta(hours=1), now=clock.now)
    assert store.get(new.key_id).expires_at == clock.now + timedelta(hours=1)  # type: ignore[union-attr]
    with pytest.raises(ApiKeyError, match="is revoked"):
        store.rotate(old.key_id)
    with pytest.raises(ApiKeyError, match="no API key 'nope'"):
        store.revoke("nope")
    assert graced.key_id != new.key_id
