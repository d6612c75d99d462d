"""Chaos: deliveries (with duplicates) while processes die by SIGKILL and PostgreSQL restarts.

    make chaos                      # 500 deliveries, 50 kills, 3 PostgreSQL restarts
    .venv/bin/python tests/chaos.py --deliveries 100 --kills 4 --backend sqlite

A sender posts signed Jira webhooks to ``patchbay serve`` (SQLite: one all-in-one process; PostgreSQL:
an intake-only process and N workers), re-sending a share of them, and retrying whatever was not
acknowledged (connection refused, 503) as a real webhook sender would. Meanwhile a killer SIGKILLs a
random run-executing process at random moments and restarts it with the same executor id, and (on
PostgreSQL) the database server is restarted a few times. At the end every acknowledged delivery must
have exactly one run record marked done and exactly one write at the recording fake Jira: 0 lost,
0 duplicated. The short version runs in the default suite (tests/runs/test_chaos.py).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import procs  # noqa: E402
from fakes import FakeJira, FakeOpenAI  # noqa: E402
from patchbay.runs.store import RunStore  # noqa: E402
from projects import encode, signed, ticket, write_project  # noqa: E402

RUNTIME = "  heartbeat_s: 0.5\n  dead_after_s: 4\n  workers: 8\n"
SUMMARY = "The checkout page times out for EU customers since the deploy. Retrying does not help."


@dataclass
class Result:
    """What the chaos run found; ``ok`` when nothing was lost or duplicated."""

    backend: str
    sent: int = 0
    acknowledged: int = 0
    records_done: int = 0
    lost: int = 0
    duplicated_records: int = 0
    writes: int = 0
    duplicated_writes: int = 0
    missing_writes: int = 0
    kills: int = 0
    pg_restarts: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated_records or self.duplicated_writes or self.missing_writes)

    def report(self) -> str:
        rows = [
            ("backend", self.backend),
            ("deliveries sent (incl. re-sends)", self.sent),
            ("acknowledged deliveries", self.acknowledged),
            ("run records marked done", self.records_done),
            ("lost", self.lost),
            ("duplicated run records (a UNIQUE constraint also forbids them)", self.duplicated_records),
            ("writes at the fake Jira", self.writes),
            ("duplicated writes", self.duplicated_writes),
            ("acknowledged but never written", self.missing_writes),
            ("processes killed (SIGKILL)", self.kills),
            ("PostgreSQL restarts", self.pg_restarts),
            ("seconds", f"{self.seconds:.0f}"),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines.append(
            "RESULT: " + ("0 lost, 0 duplicated" if self.ok else "FAILED: " + "; ".join(self.problems))
        )
        return "\n".join(lines)


def restart_postgres() -> None:
    """Restart the machine's PostgreSQL cluster (only for `make chaos`, never in the default suite)."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


def run_chaos(
    workdir: Path,
    *,
    backend: str,
    pg_url: str | None = None,
    deliveries: int = 100,
    duplicate_share: float = 0.2,
    kills: int = 4,
    pg_restarts: int = 0,
    workers: int = 2,
    seed: int = 7,
    settle_s: float = 240.0,
) -> Result:
    """Run one chaos scenario and count what was lost or duplicated."""
    rng = random.Random(seed)
    result = Result(backend=backend)
    jira, model = FakeJira(), FakeOpenAI(SUMMARY)
    jira.server.start()
    model.server.start()
    model.delay_s = 0.02
    root = write_project(
        workdir / "proj", openai_url=model.server.url, jira_url=jira.server.url, runtime=RUNTIME
    )
    env = {"PATCHBAY_DATABASE_URL": pg_url} if backend == "postgres" and pg_url else {}
    port = procs.free_port()
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)

    executors: dict[str, subprocess.Popen[bytes]] = {}
    intake: subprocess.Popen[bytes] | None = None
    lock = threading.Lock()

    def start(executor_id: str) -> subprocess.Popen[bytes]:
        log = logs / f"{executor_id}.log"
        if backend == "postgres":
            return procs.worker(root, executor_id, log, env=env)
        return procs.serve(root, port, log, "--executor-id", executor_id, env=env)

    started = time.monotonic()
    if backend == "postgres":
        intake = procs.serve(
            root, port, logs / "intake.log", "--no-worker", "--executor-id", "intake", env=env
        )
        names = [f"w-{n}" for n in range(workers)]
    else:
        names = ["solo"]
    for name in names:
        executors[name] = start(name)

    plan = [(f"CH-{n + 1}", f"chaos-{n + 1}") for n in range(deliveries)]
    resend = [item for item in plan if rng.random() < duplicate_share]
    queue = plan + resend
    rng.shuffle(queue)
    acked: set[str] = set()
    stop_sending = threading.Event()
    sent = 0

    def send_all() -> None:
        nonlocal sent
        client = httpx.Client(timeout=15)
        pace = max(0.005, (kills * 1.2) / max(len(queue), 1))
        for key, delivery_id in queue:
            body = encode(ticket(key))
            deadline = time.monotonic() + settle_s
            while not stop_sending.is_set() and time.monotonic() < deadline:
                try:
                    resp = client.post(
                        f"http://127.0.0.1:{port}/hooks/ticket-summary",
                        content=body,
                        headers=signed(body, delivery_id=delivery_id),
                    )
                    sent += 1
                    if resp.status_code in (200, 202):
                        acked.add(delivery_id)
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)  # not acknowledged: retry, as Jira does
            time.sleep(pace)
        client.close()

    def kill_some() -> None:
        for _ in range(kills):
            time.sleep(rng.uniform(0.3, 1.5))
            victim = rng.choice(names)
            with lock:
                procs.stop(executors[victim], kill=True)
                result.kills += 1
                try:
                    executors[victim] = start(victim)
                except AssertionError as exc:  # a restart that failed is a finding, not a crash
                    result.problems.append(f"restart of {victim} failed: {str(exc)[:200]}")

    def restart_db() -> None:
        for _ in range(pg_restarts):
            time.sleep(rng.uniform(3, 8))
            restart_postgres()
            result.pg_restarts += 1

    threads = [threading.Thread(target=send_all), threading.Thread(target=kill_some)]
    if backend == "postgres" and pg_restarts:
        threads.append(threading.Thread(target=restart_db))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.sent = sent
    result.acknowledged = len(acked)

    store = RunStore(
        pg_url if backend == "postgres" and pg_url else f"sqlite:///{root / '.patchbay' / 'runs.sqlite'}"
    )
    deadline = time.monotonic() + settle_s
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        rows = store.list(limit=100_000)
        done = {str(r["delivery_id"]) for r in rows if r["status"] == "succeeded"}
        if acked <= done:
            break
        time.sleep(0.5)
    store.close()
    for proc in [*executors.values(), *([intake] if intake else [])]:
        procs.stop(proc)
    jira.server.stop()
    model.server.stop()

    per_delivery = Counter(str(r["delivery_id"]) for r in rows)
    done_ids = {str(r["delivery_id"]) for r in rows if r["status"] == "succeeded"}
    result.records_done = len(done_ids & acked)
    result.lost = len(acked - done_ids)
    result.duplicated_records = sum(1 for n in per_delivery.values() if n > 1)
    written = Counter(r.path.split("?")[0].rsplit("/", 1)[-1] for r in jira.accepted)
    result.writes = sum(written.values())
    result.duplicated_writes = sum(1 for n in written.values() if n > 1)
    acked_keys = {f"CH-{d.removeprefix('chaos-')}" for d in acked}
    result.missing_writes = len(acked_keys - set(written))
    result.seconds = time.monotonic() - started
    if result.lost:
        result.problems.append(f"{result.lost} acknowledged deliveries without a done record")
    if result.duplicated_writes:
        result.problems.append(f"{result.duplicated_writes} issues written more than once")
    if result.missing_writes:
        result.problems.append(f"{result.missing_writes} acknowledged deliveries never written")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--pg-restarts", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import tempfile

    from pg import fresh_database

    failed = False
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix=f"patchbay-chaos-{backend}-") as tmp:
            if backend == "postgres":
                databases = fresh_database()
                pg_url = next(databases)
            else:
                databases, pg_url = None, None
            try:
                result = run_chaos(
                    Path(tmp),
                    backend=backend,
                    pg_url=pg_url,
                    deliveries=args.deliveries,
                    kills=args.kills,
                    workers=args.workers,
                    seed=args.seed,
                    pg_restarts=args.pg_restarts if backend == "postgres" else 0,
                )
                print(result.report(), flush=True)
                print()
            finally:
                if databases is not None:
                    try:
                        databases.close()
                    except Exception as exc:  # dropping the scratch database is housekeeping only
                        print(f"(could not drop the scratch database: {type(exc).__name__})", file=sys.stderr)
            failed = failed or not result.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
