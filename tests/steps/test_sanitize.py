"""The sanitize step: selected fields in, placeholders and per-type counts out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from patchbay.pipeline.state import RunState
from patchbay.pipeline.step import Resources
from patchbay.sanitize import ENTITY_TYPES
from patchbay.sanitize.vault import Vault, VaultError
from patchbay.steps.sanitize import Config, Entity, SanitizeStep, build


def step(**options: Any) -> Any:
    return build(Config.model_validate(options), None)  # type: ignore[arg-type]


def state(event: dict[str, Any], selected: dict[str, Any] | None = None) -> RunState:
    return RunState(run_id="r1", integration="triage", delivery_id="d1", event=event, selected=selected)


async def test_sanitizes_selected_fields_with_one_numbering() -> None:
    selected = {
        "title": "Refund for ann@example.com",
        "description": "ann@example.com, card 4111-1111-1111-1111",
    }
    event = {"issue": {"fields": {"summary": "Refund for ann@example.com"}}}
    result = await step().run(state(event, selected), Resources())
    # Default actions: emails are pseudonymized, cards keep their last four.
    assert result.sanitized == {
        "title": "Refund for <EMAIL_1>",
        "description": "<EMAIL_1>, card ****-****-****-1111",
    }
    assert result.findings == {"email": 2, "card": 1}
    assert result.selected == selected  # select's slot is untouched
    assert result.event == event


async def test_without_a_select_step_the_event_is_sanitized() -> None:
    result = await step().run(state({"body": "password=hunter2"}), Resources())
    assert result.sanitized == {"body": "password=<SECRET_1>"}
    assert result.findings == {"secret": 1}


async def test_allow_list_entities_and_region_are_applied() -> None:
    s = step(
        entities=["email", "phone"],
        phone_region="gb",
        allow=["support@example.com"],
        allow_patterns=[r".*@noreply\.example\.com"],
    )
    selected = {"t": "support@example.com, bot@noreply.example.com, ann@x.io, 020 7946 0958, password=x1y2z3"}
    result = await s.run(state({}, selected), Resources())
    assert result.sanitized == {
        "t": "support@example.com, bot@noreply.example.com, <EMAIL_1>, <PHONE_1>, password=x1y2z3"
    }


def test_default_entities_are_all_types() -> None:
    assert Config().entities == list(ENTITY_TYPES)
    assert set(get_args(Entity)) == set(ENTITY_TYPES)


def test_bad_regex_is_a_config_error_naming_the_pattern() -> None:
    with pytest.raises(ValidationError) as info:
        Config.model_validate({"allow_patterns": ["ok", "(unclosed"]})
    assert "allow_patterns[1] '(unclosed' is not a valid regular expression" in str(info.value)


def test_unknown_entity_is_a_config_error_listing_allowed_ones() -> None:
    with pytest.raises(ValidationError) as info:
        Config.model_validate({"entities": ["passport"]})
    assert "url_credentials" in str(info.value)


def run_state(event: dict[str, Any], selected: dict[str, Any]) -> RunState:
    return RunState(run_id="r1", integration="triage", delivery_id="d1", event=event, selected=selected)


async def test_actions_per_type_are_configurable(tmp_path: Path) -> None:
    s = SanitizeStep(
        Config.model_validate(
            {
                "actions": {"email": "hash", "card": "redact", "phone": "drop", "ip": "mask"},
                "hash_key": "tenant-a-key",
            }
        ),
        data_dir=tmp_path,
    )
    text = "ann@example.com card 4111 1111 1111 1111 call +1 415-555-0132 from 10.20.30.40"
    result = await s.run(run_state({}, {"t": text}), Resources())
    out = result.sanitized["t"]  # type: ignore[index]
    assert re.fullmatch(r"<EMAIL:[0-9a-f]{10}> card <CARD_1> call  from \*\*\.\*\*\.30\.40", out), out
    # The hash is stable for the same tenant key and differs for another tenant.
    again = await s.run(run_state({}, {"t": "ANN@example.com"}), Resources())
    assert again.sanitized["t"] == out.split()[0]  # type: ignore[index]
    other = SanitizeStep(
        Config.model_validate({"actions": {"email": "hash"}, "hash_key": "tenant-b-key"}), data_dir=tmp_path
    )
    assert (
        await other.run(run_state({}, {"t": "ann@example.com"}), Resources())
    ).sanitized != again.sanitized
    assert result.pseudonyms is None  # nothing was pseudonymized


def test_hash_without_a_key_fails_at_load_with_the_fix() -> None:
    with pytest.raises(
        ValidationError, match=r"'hash' for email but no hash_key is set; add hash_key: \$\{secret:"
    ):
        Config.model_validate({"actions": {"email": "hash"}})


def test_secrets_cannot_be_made_restorable() -> None:
    with pytest.raises(ValidationError, match="credentials are always redacted"):
        Config.model_validate({"actions": {"secret": "pseudonymize"}})


async def test_pseudonyms_are_kept_encrypted_in_the_state(tmp_path: Path) -> None:
    s = SanitizeStep(Config(), data_dir=tmp_path)
    event = {"issue": {"fields": {"reporter": {"displayName": "Ann Lee", "emailAddress": "ann@example.com"}}}}
    selected = {"description": "Hi, Ann Lee here (ann@example.com). Ann says token=s3cr3tvalue9 fails."}
    result = await s.run(run_state(event, selected), Resources())
    assert result.sanitized == {
        "description": "Hi, <PERSON_1> here (<EMAIL_1>). <PERSON_1> says token=<SECRET_1> fails."
    }
    assert "Ann Lee" not in result.model_dump_json(exclude={"event", "selected"})
    assert result.pseudonyms is not None and "ann@example.com" not in result.pseudonyms
    key_file = tmp_path / "vault.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    mapping = Vault.from_key_file(tmp_path).open(result.pseudonyms)
    assert mapping == {"<PERSON_1>": "Ann Lee", "<EMAIL_1>": "ann@example.com"}  # no secret in it
    with pytest.raises(VaultError, match="same vault_key"):
        Vault("another key").open(result.pseudonyms)


async def test_known_values_can_be_switched_off(tmp_path: Path) -> None:
    event = {"reporter": {"name": "Zed Quill"}}
    selected = {"d": "Zed Quill reports slow search."}
    on = await SanitizeStep(Config(), data_dir=tmp_path).run(run_state(event, selected), Resources())
    off = await SanitizeStep(Config(known_values=False), data_dir=tmp_path).run(
        run_state(event, selected), Resources()
    )
    assert on.sanitized == {"d": "<PERSON_1> reports slow search."}
    assert off.sanitized == selected


def test_ner_requested_but_missing_degrades_with_a_warning() -> None:
    with capture_logs() as logs:
        s = SanitizeStep(Config(ner=True, ner_model="no_such_spacy_model"))
    assert s.sanitizer.ner is None
    assert any(e["event"] == "sanitize.ner_missing" and "patchbay[ner]" in e["message"] for e in logs)
