"""Scoring for the sanitizer eval: span-level P/R/F1 per type, character coverage, leak-free share,
hard-negative false positives. Shared by bench/sanitize_eval.py and the Presidio side.

A predicted span counts as a true positive for a gold span when it has the same type and the two
overlap; gold spans of types we do not score are neutral (a prediction over them is neither right
nor wrong). A document is leak-free when every character of every gold span is covered by some
prediction, whatever its type. A hard negative is redacted when any prediction overlaps it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

Span = tuple[int, int, str]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(docs: list[dict[str, Any]], predictions: list[list[Span]], scored: set[str]) -> dict[str, Any]:
    """Metrics for ``predictions`` (one list of (start, end, type) per doc) against ``docs``."""
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    gold_chars = covered_chars = 0
    leak_free = 0
    negatives = negatives_hit = 0
    for doc, predicted in zip(docs, predictions, strict=True):
        gold = [(s["start"], s["end"], s["type"]) for s in doc["spans"]]
        neutral = [(s["start"], s["end"]) for s in doc.get("ignored", [])]
        scored_gold = [g for g in gold if g[2] in scored]
        for g in scored_gold:
            if any(p[2] == g[2] and _overlaps(p[:2], g[:2]) for p in predicted):
                tp[g[2]] += 1
            else:
                fn[g[2]] += 1
        for p in predicted:
            if p[2] not in scored:
                continue
            if any(g[2] == p[2] and _overlaps(p[:2], g[:2]) for g in scored_gold):
                continue
            if any(_overlaps(p[:2], n) for n in neutral):
                continue
            fp[p[2]] += 1
        leaked = False
        for start, end, _ in scored_gold:
            chars = set(range(start, end))
            text = doc["text"]
            # Whitespace and punctuation between words of a multi-line address carry nothing.
            chars = {i for i in chars if text[i].isalnum()}
            hit = {i for i in chars for p in predicted if p[0] <= i < p[1]}
            gold_chars += len(chars)
            covered_chars += len(hit)
            leaked = leaked or len(hit) < len(chars)
        leak_free += not leaked
        for neg in doc.get("negatives", []):
            negatives += 1
            negatives_hit += any(_overlaps(p[:2], (neg["start"], neg["end"])) for p in predicted)
    per_type = {}
    for t in sorted(scored):
        p = tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else 1.0
        r = tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else 1.0
        per_type[t] = {
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "support": tp[t] + fn[t],
        }
    all_tp, all_fp, all_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = all_tp / (all_tp + all_fp) if all_tp + all_fp else 1.0
    recall = all_tp / (all_tp + all_fn) if all_tp + all_fn else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "char_coverage": covered_chars / gold_chars if gold_chars else 1.0,
        "leak_free": leak_free / len(docs) if docs else 1.0,
        "negatives": negatives,
        "negatives_redacted": negatives_hit,
        "negative_fp_rate": negatives_hit / negatives if negatives else 0.0,
        "per_type": per_type,
    }
