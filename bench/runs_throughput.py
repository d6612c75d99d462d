"""Benchmark: webhook acknowledgements and durable runs, on SQLite and PostgreSQL, with 1 and 2 workers.

    make bench-runs                 # or: .venv/bin/python bench/runs_throughput.py [--quick]
    .venv/bin/python bench/runs_throughput.py --ack-only    # only intake's ack latency on SQLite
    .venv/bin/python bench/runs_throughput.py --runs-only   # only runs/s (section 2), ~5 minutes

1. Ack latency: an open-loop sender posts signed Jira webhooks at a fixed rate to `patchbay serve`
   (intake and runs in one process, instant fake model). Baseline in the same run: a bare ASGI app on
   the same server that answers 202 without doing anything.
2. Runs per second with an instant model: deliveries are queued through an intake-only process, then
   1 or 2 `patchbay worker` processes drain the queue; each case three times on fresh databases
   (interleaved), the median shown.
3. Many runs in flight: 500 runs against a model that takes 2 s each, in one worker; peak memory.

Machines here are shared and noisy: read medians and ratios, not single absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import procs  # noqa: E402
from fakes import FakeJira, FakeOpenAI  # noqa: E402
from patchbay.runs.store import FINAL_STATUSES, RunStore  # noqa: E402
from pg import fresh_database  # noqa: E402
from projects import encode, signed, ticket, write_project  # noqa: E402

RUNS_CONCURRENCY = 64  # runtime.workers of each worker process in the runs/s scenario
ACK_REPEATS = 3  # each ack scenario runs this many times; the table shows the median p50 and p99
RUNS_REPEATS = 3  # each runs/s scenario too, on fresh databases each time; the median is shown
WARMUP_S = 1.0  # sent before each ack measurement, not counted (see open_loop)
ANSWER = "EU checkout times out since the deploy. Retrying does not help."  # the instant fake model
NO_INBOUND_LIMITS = "limits:\n  per_client: null\n  per_integration: null\n"


def project(root: Path, model: FakeOpenAI, jira: FakeJira, workers: int) -> Path:
    path = write_project(
        root, openai_url=model.server.url, jira_url=jira.server.url, runtime=f"  workers: {workers}\n"
    )
    cfg = path / "patchbay.yaml"
    cfg.write_text(NO_INBOUND_LIMITS + cfg.read_text().replace("server:\n", "server:\n", 1))
    return path


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def open_loop(
    url: str, rate: float, seconds: float, *, prefix: str, sign: bool = True, warmup_s: float = 0.0
) -> tuple[list[float], int]:
    """Send at a fixed rate regardless of answers; returns ack latencies (ms) and the count of non-2xx.

    The first ``warmup_s`` seconds are sent at the same rate but not counted: their requests open
    the client's connections and warm the server (first imports, connection pools), which is not the
    steady state a receiving server is in.
    """
    latencies: list[float] = []
    errors = 0
    skip = int(rate * warmup_s)
    total = skip + int(rate * seconds)
    # aiohttp, not httpx: httpx's connection pool spends CPU per request on every pooled connection
    # and queued request, and with a few hundred in flight the generator itself saturated a core
    # (14 s of CPU to send 1,200 requests in 15 s), which read as seconds of server latency.
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
        bodies = [encode(ticket(f"B-{n + 1}")) for n in range(total)]  # Jira issue numbers start at 1

        async def one(n: int) -> None:
            nonlocal errors
            body = bodies[n]
            headers = signed(body, delivery_id=f"{prefix}-{n}") if sign else {}
            started = time.perf_counter()
            try:
                async with client.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    ok = resp.status in (200, 202)
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if n >= skip:
                latencies.append((time.perf_counter() - started) * 1000)
                errors += 0 if ok else 1

        tasks = []
        # The load generator's own collection pauses (tens of ms with thousands of requests in
        # flight) would be counted as the server's latency: none while sending.
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
        gc.enable()
    return latencies, errors


def baseline_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn\n"
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n        return\n"
        "    while (await receive()).get('more_body'):\n        pass\n"
        "    headers = [(b'content-type', b'application/json')]\n"
        "    await send({'type': 'http.response.start', 'status': 202, 'headers': headers})\n"
        "    await send({'type': 'http.response.body', 'body': b'{}'})\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/", content=b"{}", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("baseline server did not start")


def finished(store: RunStore) -> int:
    """Runs in a final status (counts only: the workers share these two cores with this process)."""
    return sum(store.count(status=status) for status in FINAL_STATUSES)


def wait_done(store: RunStore, count: int, timeout: float) -> list[dict[str, Any]]:
    """Poll with counts until ``count`` runs finished, then read the rows once."""
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        done = finished(store)
        if done >= count:
            return store.list(limit=count + 10)
        time.sleep(0.3)
    raise RuntimeError(f"only {done}/{count} runs finished")


@contextlib.contextmanager
def queued_runs(
    tmp: Path,
    name: str,
    count: int,
    rate: float,
    *,
    workers: int,
    delay_s: float = 0.0,
    env: dict[str, str] | None = None,
) -> Iterator[Path]:
    """A fake model (answering after ``delay_s``) and a fake Jira on 127.0.0.1, a project using them,
    and ``count`` deliveries accepted by an intake-only process that is stopped again: the runs wait
    in the queue for the workers the scenario starts. Yields the project folder."""
    model, jira = FakeOpenAI(ANSWER), FakeJira()
    model.delay_s = delay_s
    model.server.start()
    jira.server.start()
    try:
        root = project(tmp / name, model, jira, workers=workers)
        port = procs.free_port()
        intake = procs.serve(root, port, tmp / f"{name}-intake.log", "--no-worker", env=env)
        try:
            url = f"http://127.0.0.1:{port}/hooks/ticket-summary"
            asyncio.run(open_loop(url, rate, count / rate, prefix=name))
        finally:
            procs.stop(intake)
        yield root
    finally:
        model.server.stop()
        jira.server.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ack_scenario(
    tmp: Path, backend: str, pg_url: str | None, rate: float, seconds: float, *, intake_only: bool
) -> dict[str, float]:
    model, jira = FakeOpenAI(ANSWER), FakeJira()
    model.server.start()
    jira.server.start()
    label = f"ack-{backend}-{'intake' if intake_only else 'all'}"
    root = project(tmp / label, model, jira, workers=8)
    env = {"PATCHBAY_DATABASE_URL": pg_url} if pg_url else {}
    port = procs.free_port()
    extra = ["--no-worker"] if intake_only else []
    server = procs.serve(root, port, tmp / f"{label}.log", *extra, env=env)
    cpu_before = cpu_seconds(server.pid)
    try:
        lat, errors = asyncio.run(
            open_loop(
                f"http://127.0.0.1:{port}/hooks/ticket-summary",
                rate,
                seconds,
                prefix=label,
                warmup_s=WARMUP_S,
            )
        )
        # Per delivery sent, warm-up included: what one delivery costs the server process (intake,
        # plus the runs that a `serve` process executes meanwhile).
        cpu_ms = (cpu_seconds(server.pid) - cpu_before) * 1000 / (int(rate * WARMUP_S) + int(rate * seconds))
    finally:
        procs.stop(server)
        model.server.stop()
        jira.server.stop()
    return {
        "p50": statistics.median(lat),
        "p99": pct(lat, 0.99),
        "errors": errors,
        "sent": len(lat),
        "cpu_ms": cpu_ms,
    }


def runs_scenario(
    tmp: Path, backend: str, pg_url: str | None, workers: int, count: int, repeat: int = 0
) -> float:
    env = {"PATCHBAY_DATABASE_URL": pg_url} if pg_url else {}
    name = f"runs-{backend}-{workers}-{repeat}"  # a fresh project folder (and SQLite files) each time
    with queued_runs(tmp, name, count, 400, workers=RUNS_CONCURRENCY, env=env) as root:
        started = [
            procs.worker(root, f"bench-{n}", tmp / f"{name}-w{n}.log", env=env) for n in range(workers)
        ]
        store = RunStore(pg_url or f"sqlite:///{root / '.patchbay' / 'runs.sqlite'}")
        try:
            rows = wait_done(store, count, timeout=600)
        finally:
            store.close()
            for proc in started:
                procs.stop(proc)
    begin = min(r["started_at"] for r in rows if r["started_at"])
    end = max(r["finished_at"] for r in rows if r["finished_at"])
    return count / max((end - begin).total_seconds(), 1e-6)


def inflight_scenario(tmp: Path, in_flight: int) -> dict[str, float]:
    with queued_runs(tmp, "inflight", in_flight, 300, workers=in_flight, delay_s=2.0) as root:
        worker = procs.worker(root, "inflight-w", tmp / "inflight-w.log")
        began = time.monotonic()
        store = RunStore(f"sqlite:///{root / '.patchbay' / 'runs.sqlite'}")
        peak_running = 0
        try:
            while time.monotonic() - began < 300:
                rows = store.list(limit=in_flight + 10)
                peak_running = max(peak_running, sum(r["status"] == "running" for r in rows))
                if len(rows) >= in_flight and all(r["status"] in FINAL_STATUSES for r in rows):
                    break
                time.sleep(0.2)
            seconds = time.monotonic() - began
            rss = rss_peak_mb(worker.pid)
        finally:
            store.close()
            procs.stop(worker)
    return {"rss_mb": rss, "peak_running": peak_running, "seconds": seconds}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def soak_scenario(tmp: Path, count: int) -> dict[str, float]:
    """One worker drains ``count`` runs (SQLite, instant model); its RSS after a fifth, three fifths
    and all of them. Flat memory means no per-run cache, log or state that grows with the number of
    runs: the growth over the last two fifths is what would go on growing."""
    samples: dict[str, float] = {}
    with queued_runs(tmp, "soak", count, 400, workers=RUNS_CONCURRENCY) as root:
        worker = procs.worker(root, "soak-w", tmp / "soak-w.log")
        store = RunStore(f"sqlite:///{root / '.patchbay' / 'runs.sqlite'}")
        done = 0
        try:
            deadline = time.monotonic() + 1200
            while time.monotonic() < deadline:
                done = finished(store)
                if "early" not in samples and done >= count // 5:
                    samples["early"], samples["early_runs"] = rss_mb(worker.pid), done
                if "mid" not in samples and done >= count * 3 // 5:
                    samples["mid"], samples["mid_runs"] = rss_mb(worker.pid), done
                if done >= count:
                    samples["end"], samples["end_runs"] = rss_mb(worker.pid), done
                    break
                time.sleep(0.5)
            else:
                raise RuntimeError(f"soak: only {done}/{count} runs finished")
        finally:
            store.close()
            procs.stop(worker)
    return samples


@contextlib.contextmanager
def database(backend: str) -> Iterator[str | None]:
    """A fresh, empty PostgreSQL database for one measurement (None for SQLite: a fresh folder)."""
    if backend != "postgres":
        yield None
        return
    databases = fresh_database()
    try:
        yield next(databases)
    finally:
        databases.close()


def ack_scenarios(
    tmp: Path, seconds: float, cases: list[tuple[str, bool]]
) -> tuple[list[list[float]], dict[tuple[str, bool], list[dict[str, float]]]]:
    """Scenario 1: the bare baseline, then each (backend, intake only) case, ACK_REPEATS times each."""
    port = procs.free_port()
    base_proc = baseline_server(port, tmp / "baseline.log")
    bases = [
        asyncio.run(
            open_loop(
                f"http://127.0.0.1:{port}/",
                200,
                seconds,
                prefix=f"base{i}",
                sign=False,
                warmup_s=WARMUP_S,
            )
        )[0]
        for i in range(ACK_REPEATS)
    ]
    procs.stop(base_proc)
    acks: dict[tuple[str, bool], list[dict[str, float]]] = {}
    for b, only in cases:
        acks[(b, only)] = []
        for i in range(ACK_REPEATS):
            # Every measurement on its own empty databases: a backlog left by the one before
            # (serve at 200/s queues faster than it runs) would be worked off during the next.
            with database(b) as url:
                where = tmp / f"ack-{i}"
                where.mkdir(exist_ok=True)
                acks[(b, only)].append(ack_scenario(where, b, url, 200, seconds, intake_only=only))
    return bases, acks


def print_acks(
    bases: list[list[float]], acks: dict[tuple[str, bool], list[dict[str, float]]], seconds: float
) -> None:
    """Scenario 1's table: median p50/p99 of the repeats, each run's p99, server CPU per delivery."""
    base_p50 = statistics.median(statistics.median(b) for b in bases)
    base_p99 = statistics.median(pct(b, 0.99) for b in bases)
    print(
        f"\n1. Webhook acknowledgement at 200 deliveries/s for {seconds} s (open loop, after "
        f"{WARMUP_S:.0f} s of warm-up); median of {ACK_REPEATS} runs, [each run's p99]"
    )
    print("   intake: `patchbay serve --no-worker`; serve: intake and runs in one process")
    print(
        f"{'':28s}{'p50 ms':>9s}{'p99 ms':>9s}{'not 2xx':>9s}{'p99 vs bare':>13s}{'CPU ms':>8s}"
        "   p99 of each run (CPU: the server process's, per delivery)"
    )
    spread = ", ".join(f"{pct(b, 0.99):.0f}" for b in bases)
    print(
        f"{'bare ASGI 202 (baseline)':28s}{base_p50:9.1f}{base_p99:9.1f}{0:9d}{1:12.1f}x{'':8s}   [{spread}]"
    )
    for (backend, only), rs in acks.items():
        label = "patchbay " + ("intake, " if only else "serve, ") + backend
        p50 = statistics.median(r["p50"] for r in rs)
        p99 = statistics.median(r["p99"] for r in rs)
        errors = sum(int(r["errors"]) for r in rs)
        cpu = statistics.median(r["cpu_ms"] for r in rs)
        spread = ", ".join(f"{r['p99']:.0f}" for r in rs)
        print(f"{label:28s}{p50:9.1f}{p99:9.1f}{errors:9d}{p99 / base_p99:12.1f}x{cpu:8.2f}   [{spread}]")


def runs_scenarios(tmp: Path, count: int, repeats: int) -> dict[tuple[str, int], list[float]]:
    """Scenario 2: runs/s for each (backend, workers), ``repeats`` times on fresh databases; the
    repeats are interleaved, so that a slow spell of the host hits every case alike."""
    every: dict[tuple[str, int], list[float]] = {}
    for repeat in range(repeats):
        for b in ("sqlite", "postgres"):
            for w in (1, 2):
                with database(b) as url:
                    every.setdefault((b, w), []).append(runs_scenario(tmp, b, url, w, count, repeat))
    return every


def print_runs(every: dict[tuple[str, int], list[float]], count: int) -> None:
    runs = {case: statistics.median(values) for case, values in every.items()}
    repeats = len(every[("sqlite", 1)])
    print(f"\n2. Completed runs per second, instant model, {count} queued runs, median of {repeats}")
    print(f"{'':28s}{'1 worker':>10s}{'2 workers':>11s}{'2 vs 1':>9s}   each run (1 worker / 2 workers)")
    for backend in ("sqlite", "postgres"):
        one, two = runs[(backend, 1)], runs[(backend, 2)]
        each = " / ".join(", ".join(f"{v:.1f}" for v in every[(backend, w)]) for w in (1, 2))
        print(f"{backend:28s}{one:10.1f}{two:11.1f}{two / one:8.2f}x   {each}")
    print(f"   postgres / sqlite, 2 workers: {runs[('postgres', 2)] / runs[('sqlite', 2)]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="Shorter runs (smoke test of the benchmark).")
    parser.add_argument(
        "--ack-only",
        action="store_true",
        help="Only scenario 1 for an intake process on SQLite (with the bare baseline): a few minutes "
        "instead of the whole benchmark, for checking a change to intake.",
    )
    parser.add_argument(
        "--runs-only",
        action="store_true",
        help="Only scenario 2 (completed runs/s on SQLite and PostgreSQL with 1 and 2 workers, median "
        "of 3): ~5 minutes, for checking a change to the worker.",
    )
    args = parser.parse_args()
    seconds, count, in_flight, soak = (3, 150, 100, 300) if args.quick else (10, 1000, 500, 3000)
    repeats = 1 if args.quick else RUNS_REPEATS
    if args.ack_only:
        with tempfile.TemporaryDirectory(prefix="patchbay-bench-") as tmp_name:
            bases, acks = ack_scenarios(Path(tmp_name), seconds, [("sqlite", True)])
        print_acks(bases, acks, seconds)
        return
    if args.runs_only:
        with tempfile.TemporaryDirectory(prefix="patchbay-bench-") as tmp_name:
            every = runs_scenarios(Path(tmp_name), count, repeats)
        print_runs(every, count)
        return

    with tempfile.TemporaryDirectory(prefix="patchbay-bench-") as tmp_name:
        tmp = Path(tmp_name)
        bases, acks = ack_scenarios(
            tmp, seconds, [(b, only) for b in ("sqlite", "postgres") for only in (True, False)]
        )
        every = runs_scenarios(tmp, count, repeats)
        flight = inflight_scenario(tmp, in_flight)
        memory = soak_scenario(tmp, soak)

    print_acks(bases, acks, seconds)
    print_runs(every, count)
    print(
        f"\n3. {in_flight} runs against a 2 s model in one worker: "
        f"peak {flight['peak_running']:.0f} running at once, "
        f"all done in {flight['seconds']:.1f} s, worker peak RSS {flight['rss_mb']:.0f} MB"
    )
    late = memory["end"] - memory["mid"]
    per_k = late / max(memory["end_runs"] - memory["mid_runs"], 1) * 1000
    print(
        f"\n4. Memory over {soak} runs in one worker (SQLite, instant model): RSS "
        f"{memory['early']:.1f} MB after {memory['early_runs']:.0f} runs, {memory['mid']:.1f} MB after "
        f"{memory['mid_runs']:.0f}, {memory['end']:.1f} MB after {memory['end_runs']:.0f} "
        f"(last two fifths: {late:+.1f} MB, {per_k:+.2f} MB per 1,000 runs)"
    )


if __name__ == "__main__":
    main()
