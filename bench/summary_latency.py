"""Benchmark: how long the embedded model takes per ticket summary, against the no-model baseline.

    make bench            # or: .venv/bin/python bench/summary_latency.py [--tickets 12] [--threads 2]

Runs real tickets (bench/data/tickets.jsonl) through the pilot's steps twice, once with the embedded
model (`local`, Qwen2.5-Coder-1.5B Q4_K_M) and once with the `extractive` summarizer measured in the
same run, and prints medians, p90, the ratio between them, how many model answers passed the output
guards (no fallback), model load time and peak memory. Quote medians and ratios, never one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from patchbay.config.loader import load_project
from patchbay.pipeline.build import build_runtime
from patchbay.pipeline.runner import run_inline
from patchbay.pipeline.state import RunState

HERE = Path(__file__).parent

PROJECT = """\
project: bench
providers:
  local: {type: local, threads: __THREADS__}
  extractive: {type: extractive, sentences: 2}
targets:
  out: {type: memory}
integrations:
__INTEGRATIONS__
"""

INTEGRATION = """\
  __NAME__:
    trigger: {source: jira, allow_unsigned: true}
    steps:
      - select: {fields: {title: issue.fields.summary, description: issue.fields.description}}
      - sanitize: {}
      - prompt:
          system: You are a support triage assistant. You write short, factual summaries for engineers.
          template: |
            Summarize this support ticket in 2-3 sentences for internal triage: what is broken,
            who is affected, and what has been tried.

            Title: {{ ticket.title }}
            Description:
            {{ ticket.description }}
      - model: {providers: [__PROVIDER__], max_tokens: 160}
      - postprocess: {min_sentences: 1, max_sentences: 3}
"""


def tickets(limit: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (HERE / "data" / "tickets.jsonl").read_text().splitlines()]
    return [{"webhookEvent": "jira:issue_created",
             "issue": {"key": f"BENCH-{i + 1}", "fields": {"summary": r["title"], "description": r["body"]}}}
            for i, r in enumerate(rows[:limit])]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(runtime: Any, name: str, events: list[dict[str, Any]]) -> tuple[list[float], int, list[str]]:
    integration = runtime.integration(name)
    times: list[float] = []
    clean = 0
    outputs: list[str] = []
    for index, event in enumerate(events):
        state = RunState(run_id=f"{name}-{index}", integration=name, delivery_id=str(index), event=event)
        final, failure = await run_inline(integration.steps, state, runtime.resources)
        times.append(final.timings_ms.get("model", 0.0))
        if failure is None and final.answer is not None and not final.answer.fallback:
            clean += 1
        outputs.append(final.output or f"<{failure.code if failure else 'no output'}>")
        print(f"  {name:10s} {index + 1:2d}/{len(events)}  {times[-1] / 1000:6.2f} s", file=sys.stderr)
    return times, clean, outputs


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=12, help="How many tickets (max 12).")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the embedded model.")
    parser.add_argument("--show", action="store_true", help="Print each summary.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        integrations = "".join(
            INTEGRATION.replace("__NAME__", n).replace("__PROVIDER__", n) for n in ("local", "extractive"))
        text = PROJECT.replace("__THREADS__", str(args.threads)).replace("__INTEGRATIONS__", integrations)
        (Path(tmp) / "patchbay.yaml").write_text(text)
        runtime = build_runtime(load_project(Path(tmp), env={}))
        events = tickets(args.tickets)

        started = time.perf_counter()
        await runtime.resources.providers["local"].load()  # type: ignore[attr-defined]
        load_s = time.perf_counter() - started

        base, base_ok, _ = await measure(runtime, "extractive", events)
        local, local_ok, outputs = await measure(runtime, "local", events)
        await runtime.aclose()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    med_local, med_base = statistics.median(local), statistics.median(base)
    print(f"\nSummary latency per ticket, {len(events)} real tickets, {args.threads} threads")
    print(f"{'':22s}{'median':>10s}{'p90':>10s}{'clean answers':>16s}")
    print(f"{'local (Qwen2.5 1.5B)':22s}{med_local / 1000:9.2f}s{pct(local, 0.9) / 1000:9.2f}s"
          f"{local_ok:>10d}/{len(events)}")
    print(f"{'extractive baseline':22s}{med_base:8.2f}ms{pct(base, 0.9):8.2f}ms{base_ok:>10d}/{len(events)}")
    print(f"ratio local/extractive (median): {med_local / max(med_base, 1e-6):,.0f}x")
    print(f"model load (assemble/verify cached, mmap): {load_s:.2f} s; peak RSS: {peak_mb:,.0f} MB")
    if args.show:
        for event, out in zip(events, outputs, strict=True):
            print(f"\n{event['issue']['fields']['summary']}\n  -> {out}")


if __name__ == "__main__":
    asyncio.run(main())
