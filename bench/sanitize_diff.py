"""Differential check: two versions of the sanitizer must find exactly the same things.

Speed work on the sanitizer must not change a single finding. This runs the same texts through
two source trees (each in its own interpreter) and compares, text by text: ``Sanitizer().detect``
in three configurations, ``sanitize_text``, ``sanitize_data`` and every built-in detector alone.

    python bench/sanitize_diff.py --old ../old-checkout/src --new src       # old vs new code (e.g. a git worktree of main)
    python bench/sanitize_diff.py --old src --new src --new-env PATCHBAY_NO_HYPERSCAN=1

Texts: the eval's 400 tickets (seed 7), 200 more (seed 3), the Presidio set, and mutated tickets
(characters swapped for digits, Unicode digits and spaces, separators, case traps; pieces spliced).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
PRESIDIO = BENCH / "data" / "presidio_synth_dataset_v2.json"
# Characters that stress the class translations and the trigger searches.
NOISE = [
    *"0123456789 -./()+:#_@=\n\t",
    "\u0663", "\u0966", "\uff11", "\u00a0", "\u2007", "\u3000", "\u2028", "\u20ac", "\u00e9", "\u00df",
    "\u017f", "\u0131", "\u0130", "K", "\u00b2", "\u2460", "x", "Q~", "sk-", "ghp_", "::", "'",
]  # fmt: skip


def texts(mutants: int) -> list[tuple[str, Any]]:
    """(text, event fields) pairs; written once and read by both runs (the generator's timestamps
    follow the clock)."""
    sys.path.insert(0, str(BENCH))
    from sanitize_tickets import generate

    docs = generate(400) + generate(200, seed=3)
    out: list[tuple[str, Any]] = [(d["text"], d["fields"]) for d in docs]
    if PRESIDIO.exists():
        out += [(row["full_text"], {}) for row in json.loads(PRESIDIO.read_text())]
    rng = random.Random(11)
    for _ in range(mutants):
        text, fields = rng.choice(out[:600])
        chars = list(text)
        for _ in range(rng.randint(1, 12)):
            op = rng.random()
            i = rng.randrange(len(chars) + 1)
            if op < 0.4 and i < len(chars):
                chars[i] = rng.choice(NOISE)
            elif op < 0.7:
                chars.insert(i, rng.choice(NOISE))
            elif op < 0.85 and i < len(chars):
                del chars[i]
            else:
                other = rng.choice(out[:600])[0]
                j = rng.randrange(len(other))
                chars[i:i] = list(other[j : j + rng.randint(5, 60)])
        out.append(("".join(chars), fields))
    return out


def run(corpus: list[tuple[str, Any]]) -> list[Any]:
    """Every result for every text, as JSON-able lists."""
    from patchbay.sanitize import Sanitizer
    from patchbay.sanitize.context import known_values
    from patchbay.sanitize.scan import forget

    configs = [
        Sanitizer(),
        Sanitizer(phone_region="GB", allow=["Acme Cloud", "support@acme.example"]),
        Sanitizer(entities=["phone", "card", "ssn", "ip", "iban", "address"], allow_patterns=[r"ORD-\d+"]),
    ]
    results: list[Any] = []
    for text, fields in corpus:
        known = known_values(fields)
        row: list[Any] = [[list(s) for s in c.detect(text, known=known)] for c in configs]
        done = configs[0].sanitize_text(text, known=known)
        row.append([done.text, done.findings, done.mapping])
        data = configs[0].sanitize_data({"a": text, "b": [text[: len(text) // 2]]}, known=known)
        row.append([data.data, data.findings, data.mapping])
        for detector in configs[0].detectors:
            row.append([list(s) for s in detector.detect(text)])
            forget(text)
        results.append(row)
    return results


def main() -> None:
    """Run both trees and report every text where they differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="src/ of the reference tree")
    parser.add_argument("--new", required=True, help="src/ of the tree under test")
    parser.add_argument("--new-env", action="append", default=[], help="NAME=VALUE for the new run")
    parser.add_argument("--mutants", type=int, default=5000)
    parser.add_argument("--dump", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        corpus, out = args.dump
        Path(out).write_text(json.dumps(run(json.loads(Path(corpus).read_text()))))
        return
    outputs = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "texts.json"
        corpus.write_text(json.dumps(texts(args.mutants)))
        for label, src, extra in (("old", args.old, []), ("new", args.new, args.new_env)):
            env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
            env.update(item.split("=", 1) for item in extra)
            out = Path(tmp) / f"{label}.json"
            cmd = [sys.executable, __file__, "--old", "-", "--new", "-", "--dump", str(corpus), str(out)]
            subprocess.run(cmd, check=True, env=env)
            outputs.append(json.loads(out.read_text()))
    old, new = outputs
    differing = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    print(f"{len(old)} texts, {sum(len(r) for r in old)} results compared; {len(differing)} texts differ")
    for i in differing[:10]:
        for j, (a, b) in enumerate(zip(old[i], new[i], strict=True)):
            if a != b:
                print(f"  text {i}, result {j}:\n    old {a}\n    new {b}")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
