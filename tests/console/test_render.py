"""Console building blocks: signed sessions, CSRF tokens, SVG charts, and what a run page may show."""

from __future__ import annotations

import time
from pathlib import Path

from patchbay.console import charts
from patchbay.console.data import displayable, step_rows
from patchbay.console.render import usd
from patchbay.console.session import SessionCodec, console_key


def test_session_cookie_round_trips_and_refuses_tampering_expiry_and_other_keys(tmp_path: Path) -> None:
    key = console_key(tmp_path)
    assert (tmp_path / "console.key").stat().st_mode & 0o777 == 0o600
    codec = SessionCodec(key)
    session = codec.new(kind="api_key", name="ops", scopes=frozenset({"admin.manage"}), key_id="abc")
    value = codec.encode(session)
    assert codec.decode(value) == session
    mac = value.rsplit(".", 1)[1]
    forged = codec.encode(codec.new(kind="admin_token", name="x", scopes=frozenset({"*"}))).split(".")[0]
    assert codec.decode(f"{forged}.{mac}") is None  # someone else's payload with this signature
    assert codec.decode(value[:-1] + ("0" if value[-1] != "0" else "1")) is None
    assert codec.decode("garbage") is None and codec.decode(None) is None
    assert codec.decode(value, now=time.time() + 9 * 3600) is None  # 8 h sessions
    assert SessionCodec(b"another key").decode(value) is None


def test_csrf_token_belongs_to_one_session(tmp_path: Path) -> None:
    codec = SessionCodec(console_key(tmp_path))
    one = codec.new(kind="local", name="a", scopes=frozenset({"*"}))
    two = codec.new(kind="local", name="a", scopes=frozenset({"*"}))
    assert codec.csrf_ok(one, codec.csrf_token(one))
    assert not codec.csrf_ok(one, codec.csrf_token(two))
    assert not codec.csrf_ok(one, None) and not codec.csrf_ok(one, "")


def test_charts_escape_labels_and_scale_to_round_numbers() -> None:
    svg = str(
        charts.stacked_bars(
            "Runs <b>",
            ["03-01", "<script>"],
            [charts.Series("ok", "s-succeeded", [3, 4]), charts.Series("bad", "s-failed", [1, None])],
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert svg.count("<title>") == 1 + 3  # the chart's title and one per non-empty bar segment
    assert ">5</text>" in svg  # the axis tops out at a round 5 for a largest stack of 4
    line = str(charts.lines("p95", ["a", "b", "c"], [charts.Series("p95", "l-p95", [1.0, None, 2.0])]))
    assert line.count("<circle") == 2 and "<polyline" not in line  # a gap breaks the line
    assert charts.nice_max(0) == 1 and charts.nice_max(7) == 10 and charts.nice_max(0.0031) == 0.005


def test_usd_formats_small_and_large_amounts() -> None:
    assert [usd(v) for v in (None, 0, 0.00213, 0.5, 1234.5)] == ["-", "$0", "$0.0021", "$0.50", "$1,234.50"]


def test_a_run_page_never_gets_the_raw_event_or_the_unsanitized_selection() -> None:
    row = {
        "run_id": "r",
        "event": {"issue": {"description": "call anna@example.org"}},
        "state": {"selected": {"d": "anna@example.org"}, "sanitized": {"d": "<EMAIL_1>"}, "pseudonyms": "x"},
    }
    shown = displayable(row)
    assert "anna@example.org" not in repr(shown)
    assert shown["state"] == {"sanitized": {"d": "<EMAIL_1>"}}


def test_step_rows_mark_the_failed_step_and_the_ones_never_reached() -> None:
    rows = step_rows(["a", "b", "c"], {"a": 1.0}, "b", "failed")
    assert [(r["name"], r["outcome"]) for r in rows] == [("a", "done"), ("b", "failed"), ("c", "not reached")]
