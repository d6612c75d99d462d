"""Jira, both ways: the ``jira`` source (inbound webhooks) and the ``jira`` target (write-back).

Inbound (:mod:`.source`): Jira Cloud admin webhooks with a secret are signed with
``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>``; the source checks it against
``secret`` (and ``previous_secret`` during a rotation) and takes the delivery id from
``X-Atlassian-Webhook-Identifier``, or a hash of the body when the sender (Data Center) sends none.
Webhook bodies are REST v2-shaped on both Cloud and Data Center: rich text arrives as wiki-markup
strings (:func:`.adf.adf_to_text` flattens ADF where it does appear).

Outbound (:mod:`.target`): ``PUT /rest/api/3/issue/{key}`` on Cloud (rich-text fields take Atlassian
Document Format, built by :func:`.adf.text_to_adf`; single-line fields a plain string) or
``PUT /rest/api/2/issue/{key}`` on Data Center (strings). Each write is recorded in an issue
property so a retried run does not write twice. Errors come back as ``TargetUnavailable``
(retryable: 429, 5xx, timeouts) or ``TargetRejected`` (fix the config or permissions).

Adding another connector: create ``patchbay/connectors/<name>.py`` (or a package like this one
when it needs more than ~300 lines) exposing ``Config`` (pydantic, ``extra="forbid"``, a
description on every field) and ``build(config, ctx)`` returning an object that satisfies
:class:`patchbay.connectors.base.Source` or :class:`~patchbay.connectors.base.Target`. Send every
request through ``ctx.http.client(...)`` so tests can pass an ``httpx.MockTransport``, map the
remote's errors onto :mod:`patchbay.errors`, make writes idempotent on
``WriteRequest.idempotency_key``, write ``tests/connectors/test_<name>.py``, and add one line to
``patchbay.registry.BUILTINS``.
"""
