"""The postprocess step: short clean text out, or a permanent error and nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from patchbay.errors import ModelOutputError, Permanent, StepError
from patchbay.pipeline.state import ModelAnswer, RunState
from patchbay.pipeline.step import Resources
from patchbay.steps.neutralize import neutralize_mentions
from patchbay.steps.postprocess import Config, PostprocessStep, build, split_sentences

PROMPT = (
    "Summarize this ticket in 2-3 sentences.\nTitle: Checkout times out\n"
    "Since the 2.14.1 deploy the checkout page times out after 30 seconds for customers in the EU. "
    "Reported by <EMAIL_1>, phone <PHONE_1>. Retrying does not help."
)


async def post(text: str, *, prompt: str = PROMPT, safe_fallback: bool = False, **options: Any) -> str:
    step = build(Config.model_validate(options), None)  # type: ignore[arg-type]
    answer = ModelAnswer(text=text, provider="primary", safe_fallback=safe_fallback, fallback=safe_fallback)
    s = RunState(run_id="r1", integration="triage", delivery_id="d1", event={}, prompt=prompt, answer=answer)
    result = await step.run(s, Resources())
    assert result.answer == answer  # the model's answer is kept as it was
    assert result.output is not None
    return result.output


async def test_markdown_and_chatter_are_stripped() -> None:
    answer = """Sure! Here is a summary of the ticket:

## Summary
- **EU checkout** times out since the *2.14.1* deploy.
- Retries fail; see [the runbook](https://wiki.example.com/runbook).

```
ERR_TIMEOUT
```

Let me know if you need anything else!"""
    assert await post(answer) == (
        "EU checkout times out since the 2.14.1 deploy. Retries fail; see the runbook. ERR_TIMEOUT."
    )


async def test_summary_label_and_sign_off_go_plain_text_stays() -> None:
    answer = "Summary: Checkout fails for EU users. The 2.14.1 deploy is the likely cause. I hope this helps!"
    assert await post(answer) == "Checkout fails for EU users. The 2.14.1 deploy is the likely cause."


async def test_sentences_are_capped_and_prefix_added() -> None:
    answer = (
        "One thing broke today. Two users saw it happen. Three teams are looking now. Four is too many here."
    )
    assert await post(answer, max_sentences=2, prefix="AI summary: ") == (
        "AI summary: One thing broke today. Two users saw it happen."
    )


async def test_length_is_cut_on_a_sentence_boundary() -> None:
    answer = (
        "Checkout fails for users in the EU region. "
        + "The deploy of version 2.14.1 is the cause of it. " * 3
    )
    output = await post(answer, max_chars=80, max_sentences=3)
    assert output == "Checkout fails for users in the EU region."


async def test_a_single_overlong_sentence_is_cut_at_a_word() -> None:
    answer = "Checkout fails " + " ".join(f"on node{i} and" for i in range(30)) + " everywhere else."
    output = await post(answer, max_chars=60)
    assert len(output) <= 60 and output.endswith("…")
    assert output.startswith("Checkout fails on node0 and on node1 and")


def test_splitter_keeps_abbreviations_versions_decimals_and_urls_together() -> None:
    text = (
        "Mr. Smith saw errors in e.g. Chrome and i.e. v1.2.3 builds at 3.5 s latency. "
        "See https://status.example.com/a.b?c=1.2 for details! Was it 2.14.1? Yes."
    )
    assert split_sentences(text) == [
        "Mr. Smith saw errors in e.g. Chrome and i.e. v1.2.3 builds at 3.5 s latency.",
        "See https://status.example.com/a.b?c=1.2 for details!",
        "Was it 2.14.1?",
        "Yes.",
    ]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("", "empty answer"),
        ("   \n\n  ", "empty answer"),
        ("Sure! Here is a summary:", "empty answer once markdown and chatter are removed"),
        ("!!! ??? ...", "answer too short"),
        ("<EMAIL_1> <PHONE_1> <CARD_1>", "only redaction placeholders"),
        ("<EMAIL_1>, <PHONE_1>.", "answer too short"),
        ("<EMAIL_1> <PHONE_1> <CARD_1>.", "only redaction placeholders"),
        (
            "Since the 2.14.1 deploy the checkout page times out after 30 seconds for customers in the EU.",
            "copies the input",
        ),
        ("the page is down the page is down the page is down the page is down the page is down.", "repeats"),
    ],
)
async def test_unusable_answers_are_rejected_permanently(answer: str, reason: str) -> None:
    with pytest.raises(ModelOutputError) as info:
        await post(answer)
    assert reason in info.value.message
    assert isinstance(info.value, Permanent)


async def test_min_sentences_is_enforced() -> None:
    with pytest.raises(ModelOutputError, match="1 usable sentence"):
        await post("Checkout fails for EU users since the deploy.", min_sentences=2)


async def test_safe_fallback_passes_through_unchanged() -> None:
    message = "Sorry, I'm having trouble accessing that data. Please try again shortly."
    assert await post(message, safe_fallback=True, prefix="AI summary: ") == message


async def test_rescan_masks_values_the_model_invented_but_keeps_prompt_placeholders() -> None:
    answer = (
        "Checkout fails for <EMAIL_1>. Contact bob@example.com or use key sk_live_4eC39HqLyjWDarjtT1zdp7dc."
    )
    output = await post(answer)
    assert output == "Checkout fails for <EMAIL_1>. Contact <EMAIL_2> or use key <SECRET_1>."


async def test_rescan_keeps_values_the_prompt_showed_and_can_be_switched_off() -> None:
    prompt = PROMPT + " Escalate to support@example.com."
    answer = "Checkout fails for EU users. Escalation goes to support@example.com today."
    assert await post(answer, prompt=prompt) == answer
    leaky = "Checkout fails for EU users. Customer is bob@example.com today."
    assert await post(leaky, rescan=False) == leaky


async def test_missing_answer_is_a_step_error() -> None:
    step = build(Config(), None)  # type: ignore[arg-type]
    with pytest.raises(StepError, match="put a 'model' step before it"):
        await step.run(RunState(run_id="r", integration="i", delivery_id="d", event={}), Resources())


def test_inconsistent_limits_are_config_errors() -> None:
    with pytest.raises(ValidationError, match="min_sentences"):
        Config.model_validate({"min_sentences": 4, "max_sentences": 3})
    with pytest.raises(ValidationError, match="prefix"):
        Config.model_validate({"max_chars": 40, "prefix": "x" * 30})


def test_echoed_field_labels_are_removed() -> None:
    step = PostprocessStep(Config(min_sentences=1, max_sentences=3))
    text = (
        "Title: Issue after upgrading to webpack 4. Description: A user reports that the build fails after "
        "the upgrade. The plugin uses the deprecated Tapable.plugin API."
    )
    assert step.clean(text, source="Title: Issue after upgrading to webpack 4") == (
        "A user reports that the build fails after the upgrade. "
        "The plugin uses the deprecated Tapable.plugin API."
    )


def test_placeholder_only_answer_with_punctuation_is_rejected() -> None:
    step = PostprocessStep(Config(min_sentences=1))
    with pytest.raises(ModelOutputError, match="placeholders"):
        step.clean("<EMAIL_1> <PHONE_1> <CARD_1>.", source="")


async def test_pseudonyms_are_restored_for_the_write_back_but_secrets_never(tmp_path: Path) -> None:
    from patchbay.sanitize.vault import Vault

    sealed = Vault.from_key_file(tmp_path).seal({"<PERSON_1>": "Ann Lee", "<EMAIL_1>": "ann@example.com"})
    answer = ModelAnswer(
        text="person_1's checkout fails for EU users. Reply to [Email_1] after rotating <SECRET_1>.",
        provider="primary",
    )
    base = RunState(
        run_id="r",
        integration="i",
        delivery_id="d",
        event={},
        prompt=PROMPT,
        answer=answer,
        pseudonyms=sealed,
    )
    on = await PostprocessStep(Config(), data_dir=tmp_path).run(base, Resources())
    assert (
        on.output
        == "Ann Lee's checkout fails for EU users. Reply to ann@example.com after rotating <SECRET_1>."
    )
    off = await PostprocessStep(Config(restore=False), data_dir=tmp_path).run(base, Resources())
    assert off.output == answer.text
    assert "Ann Lee" not in (off.output or "")


async def test_a_wrong_vault_key_is_a_step_error_saying_how_to_fix(tmp_path: Path) -> None:
    from patchbay.sanitize.vault import Vault

    sealed = Vault("sanitize-key").seal({"<PERSON_1>": "Ann Lee"})
    answer = ModelAnswer(text="<PERSON_1> cannot log in since the upgrade to 2.14.", provider="primary")
    s = RunState(
        run_id="r",
        integration="i",
        delivery_id="d",
        event={},
        prompt=PROMPT,
        answer=answer,
        pseudonyms=sealed,
    )
    with pytest.raises(StepError, match="same vault_key"):
        await PostprocessStep(Config(vault_key="other-key"), data_dir=tmp_path).run(s, Resources())  # type: ignore[arg-type]


async def test_new_values_in_the_output_are_counted_never_listed() -> None:
    step = build(Config(), None)
    answer = ModelAnswer(
        text="Checkout fails for EU users. Customer is bob@example.com, SSN 123-45-6789.", provider="p"
    )
    s = RunState(run_id="r", integration="i", delivery_id="d", event={}, prompt=PROMPT, answer=answer)
    result = await step.run(s, Resources())
    assert result.output == "Checkout fails for EU users. Customer is <EMAIL_2>, SSN <SSN_1>."
    assert result.output_findings == {"email": 1, "ssn": 1}


def test_held_credentials_are_masked_by_value_in_every_encoding() -> None:
    import base64
    from urllib.parse import quote

    token = "jira-pat-plain-words-no-format"  # no pattern would catch it
    step = PostprocessStep(Config(min_sentences=1), held_secrets=frozenset({token, "short"}))
    text = (
        f"The Jira token is {token}. Encoded it is {base64.b64encode(token.encode()).decode()} and "
        f"{quote(token + '/x', safe='')}. A short word stays."
    )
    out, findings = step.clean_with_findings(text, source="")
    assert token not in out and base64.b64encode(token.encode()).decode().rstrip("=") not in out
    # the plain value twice (alone and inside its URL-encoded form); the base64 form is long and random
    # enough for the entropy check, which masks it first as a <SECRET_n>
    assert "<CREDENTIAL_1>" in out and findings["held_secret"] == 2 and findings["secret"] == 1
    assert "short word" in out  # values under 8 characters are not masked by value


async def test_mentions_that_would_notify_people_are_removed() -> None:
    text = (
        "Checkout times out for EU customers since 2.14.1 @channel @here. "
        "<!channel> <!everyone> <@U024BE7LH|anna> and [~accountid:5b10ac8d82e05b] should look at it."
    )
    out = await post(text)
    for mention in ("@channel", "@here", "<!channel>", "<!everyone>", "<@U024BE7LH", "[~accountid"):
        assert mention not in out, out
    assert out.startswith("Checkout times out for EU customers since 2.14.1.")
    # An address's '@' is not a mention: it is left alone.
    assert neutralize_mentions("Mail ops@here.example.com or a@channel.io.") == (
        "Mail ops@here.example.com or a@channel.io.",
        0,
    )


async def test_links_not_in_the_input_are_removed_and_labels_kept() -> None:
    prompt = PROMPT + " Runbook: https://wiki.example.com/runbook"
    text = (
        "Checkout times out since 2.14.1, see https://wiki.example.com/runbook. "
        "Log in at https://evil.example/login, www.evil.example or <https://evil.example/x|the portal> "
        "or [the form|http://evil.example/f] to fix it."
    )
    out = await post(text, prompt=prompt)
    assert "evil.example" not in out, out
    assert "https://wiki.example.com/runbook" in out  # it was in the input
    assert "the portal" in out and "the form" in out  # a link's label stays as text


async def test_mention_and_link_removal_can_be_switched_off() -> None:
    text = "Checkout times out for EU customers @channel, see https://status.example/eu."
    out = await post(text, neutralize_mentions=False, strip_new_links=False)
    assert "@channel" in out and "https://status.example/eu" in out


async def test_removed_mentions_and_links_are_counted_in_findings() -> None:
    step = build(Config(), None)  # type: ignore[arg-type]
    answer = ModelAnswer(text="Checkout fails @here, see https://evil.example/a now.", provider="primary")
    s = RunState(run_id="r1", integration="t", delivery_id="d1", event={}, prompt=PROMPT, answer=answer)
    result = await step.run(s, Resources())
    assert result.output_findings == {"mention": 1, "new_link": 1}
    assert result.output == "Checkout fails, see now."
