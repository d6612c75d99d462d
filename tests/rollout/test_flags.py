"""Rollout decisions: deterministic, sticky, close to the configured share; overrides without restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from patchbay.rollout.config import FlagsConfig, RolloutConfig
from patchbay.rollout.flags import Flags, bucket_of


@pytest.fixture
def flags(tmp_path: Path) -> Flags:
    return Flags(sa.create_engine(f"sqlite:///{tmp_path / 'runs.sqlite'}"), FlagsConfig(cache_s=0.2))


def event(key: str, project: str = "SUP") -> dict[str, object]:
    return {"issue": {"key": key, "fields": {"project": {"key": project}}}}


def test_percent_is_deterministic_and_close_to_the_share(flags: Flags) -> None:
    rollout = RolloutConfig(mode="percent", percent=10)
    first = [flags.decide("pilot", rollout, event(f"SUP-{n}")).write for n in range(10_000)]
    again = [flags.decide("pilot", rollout, event(f"SUP-{n}")).write for n in range(10_000)]
    assert first == again  # the same ticket always gets the same answer
    share = sum(first) / len(first)
    assert 0.09 <= share <= 0.11, share


def test_sticky_by_project_puts_a_whole_project_on_one_side(flags: Flags) -> None:
    rollout = RolloutConfig(mode="percent", percent=50, sticky_key="issue.fields.project.key")
    decisions = {flags.decide("pilot", rollout, event(f"X-{n}", project="OPS")).write for n in range(200)}
    assert len(decisions) == 1


def test_modes(flags: Flags) -> None:
    e = event("SUP-1")
    off = flags.decide("pilot", RolloutConfig(mode="off"), e)
    shadow = flags.decide("pilot", RolloutConfig(mode="shadow"), e)
    on = flags.decide("pilot", RolloutConfig(mode="on"), e)
    assert (off.run, off.write) == (False, False) and off.outcome == "off"
    assert (shadow.run, shadow.write) == (True, False) and shadow.outcome == "shadow"
    assert (on.run, on.write) == (True, True) and on.reason == "flag is on"


def test_percent_rest_can_run_in_shadow(flags: Flags) -> None:
    rollout = RolloutConfig(mode="percent", percent=1, rest="shadow")
    outcomes = {flags.decide("pilot", rollout, event(f"SUP-{n}")).outcome for n in range(500)}
    assert outcomes == {"on", "shadow"}


def test_allow_and_deny_lists(flags: Flags) -> None:
    rollout = RolloutConfig(mode="shadow", allow=["SUP-1"], deny=["SUP-2"])
    assert flags.decide("pilot", rollout, event("SUP-1")).write is True
    denied = flags.decide("pilot", RolloutConfig(mode="on", deny=["SUP-2"]), event("SUP-2"))
    assert denied.run is False and "deny" in denied.reason


def test_override_wins_and_applies_within_the_cache_time(flags: Flags) -> None:
    rollout = RolloutConfig(mode="on")
    assert flags.decide("pilot", rollout, event("SUP-1")).write
    flags.set("pilot", mode="off", reason="incident 42", by="test")
    time.sleep(0.25)
    decision = flags.decide("pilot", rollout, event("SUP-1"))
    assert decision.run is False and decision.source == "override"
    flags.clear("pilot")
    assert flags.decide("pilot", rollout, event("SUP-1")).source == "config"


def test_kill_switch_stops_writes_of_runs_already_decided(flags: Flags) -> None:
    rollout = RolloutConfig(mode="on")
    decision = flags.decide("pilot", rollout, event("SUP-1"))
    assert flags.writes_allowed("pilot", rollout, decision)
    flags.set("pilot", mode="off")
    assert not flags.writes_allowed("pilot", rollout, decision)  # set() clears this process's cache


def test_override_is_shared_between_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    one, two = (Flags(sa.create_engine(url), FlagsConfig(cache_s=0.1)) for _ in range(2))
    one.set("pilot", mode="shadow")
    time.sleep(0.15)
    assert two.effective("pilot", RolloutConfig())[0] == "shadow"


def test_bad_values_are_refused(flags: Flags) -> None:
    with pytest.raises(ValueError, match="mode must be"):
        flags.set("pilot", mode="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="percent"):
        flags.set("pilot", mode="percent")
    with pytest.raises(ValidationError, match="percent > 0"):
        RolloutConfig(mode="percent")


def test_buckets_are_stable() -> None:
    assert bucket_of("pilot", "SUP-1") == bucket_of("pilot", "SUP-1")
    assert 0 <= bucket_of("pilot", "SUP-1") < 10_000


def test_openfeature_provider_drives_the_mode(tmp_path: Path) -> None:
    api = pytest.importorskip("openfeature.api")
    from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

    api.set_provider(
        InMemoryProvider(
            {
                "patchbay.pilot.mode": InMemoryFlag("v", {"v": "shadow"}),
                "patchbay.pilot.percent": InMemoryFlag("v", {"v": 0.0}),
            }
        )
    )
    try:
        flags = Flags(
            sa.create_engine(f"sqlite:///{tmp_path / 'r.sqlite'}"), FlagsConfig(source="openfeature")
        )
        decision = flags.decide("pilot", RolloutConfig(mode="on"), event("SUP-1"))
        assert decision.outcome == "shadow" and decision.source == "openfeature"
    finally:
        api.clear_providers()


def test_in_memory_says_when_a_decision_needs_no_database_read(flags: Flags) -> None:
    rollout = RolloutConfig(mode="on")
    assert not flags.in_memory("pilot")  # nothing cached yet: the first decision reads the database
    flags.decide("pilot", rollout, event("SUP-1"))
    assert flags.in_memory("pilot")
    time.sleep(0.25)  # past cache_s (0.2)
    assert not flags.in_memory("pilot")
    flags.decide("pilot", rollout, event("SUP-1"))
    flags.set("pilot", mode="off")  # a change made here drops the cached value at once
    assert not flags.in_memory("pilot")
    openfeature = Flags(flags._engine, FlagsConfig(source="openfeature"))
    openfeature.decide("pilot", rollout, event("SUP-1"))
    assert not openfeature.in_memory("pilot")  # a provider may do I/O on every decision
