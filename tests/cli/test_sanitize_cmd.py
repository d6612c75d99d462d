"""``patchbay sanitize FILE|-``: redacted text on stdout, a findings table, never the values."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from patchbay.cli.main import app

TEXT = "Hi team,\nCall (415) 555-0132 or mail ann@example.com, card 4111 1111 1111 1111, password=hunter2x\n"


def test_stdin_prints_redacted_text_and_counts() -> None:
    result = CliRunner().invoke(app, ["sanitize", "-"], input=TEXT)
    assert result.exit_code == 0, result.output
    assert "Call <PHONE_1> or mail <EMAIL_1>, card **** **** **** 1111, password=<SECRET_1>" in result.output
    assert "hunter2x" not in result.output and "555-0132" not in result.output
    for row in ("card", "email", "phone", "secret", "pseudonymize", "mask"):
        assert row in result.output


def test_file_with_actions_and_json(tmp_path: Path) -> None:
    path = tmp_path / "ticket.txt"
    path.write_text(TEXT)
    result = CliRunner().invoke(app, ["sanitize", str(path), "--action", "card=redact", "--json"])
    assert result.exit_code == 0, result.output
    assert '"card <CARD_1>' not in result.output and "card <CARD_1>," in result.output
    assert '"findings"' in result.output


def test_misuse_is_an_error_with_the_fix(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["sanitize", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 2 and "pass a text file or '-'" in missing.output
    bad = CliRunner().invoke(app, ["sanitize", "-", "--action", "card=shred"], input="x")
    assert bad.exit_code == 2 and "TYPE=ACTION" in bad.output
