"""``patchbay serve`` (webhooks + runs, or ``--no-worker`` for intake only) and ``patchbay worker``."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
import uvicorn
from prometheus_client import start_http_server

from patchbay.cli._common import ConfigOption, EnvOption, console, load, user_errors
from patchbay.cli.run import run_store_for
from patchbay.intake.app import create_app
from patchbay.logs import configure_logging
from patchbay.observability.tracing import configure_tracing
from patchbay.ops.heap import freeze_startup_heap
from patchbay.pipeline.build import build_runtime
from patchbay.runs.durable import DurableEngine
from patchbay.sanitize import prefilter

ExecutorOption = Annotated[
    str | None,
    typer.Option(
        help="Stable, unique id of this process (default: runtime.executor_id, else host-project[-role])."
    ),
]
ShutdownOption = Annotated[int, typer.Option(help="Seconds in-flight steps get to finish on SIGTERM.")]
LogJsonOption = Annotated[
    bool | None,
    typer.Option("--log-json/--log-console", help="Log format (default: console in dev, else JSON)."),
]


def serve(
    config: ConfigOption = None,
    env: EnvOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default: server.port).")] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker", help="Intake only: accept deliveries, leave the runs to 'patchbay worker'."
        ),
    ] = False,
    executor_id: ExecutorOption = None,
    shutdown_timeout: ShutdownOption = 10,
    log_json: LogJsonOption = None,
) -> None:
    """Serve webhooks (POST /hooks/{integration}, GET /healthz, /admin/...) and run accepted deliveries."""
    project = load(config, env)
    configure_logging(project.environment, json=log_json)
    configure_tracing(
        otlp_endpoint=project.config.observability.otlp_endpoint,
        service_name=f"patchbay-{project.config.project}",
        environment=project.environment,
    )
    with user_errors():
        runtime = build_runtime(project)
        store = run_store_for(project)
        engine = DurableEngine(runtime, store, executor_id=executor_id, role="intake" if no_worker else "all")
        engine.launch()
    app = create_app(runtime, engine, admin=engine)
    prefilter.warm()  # the sanitizer's hyperscan database (~0.1 s), before the first ticket
    freeze_startup_heap()  # shorter GC pauses while serving (patchbay.ops.heap)
    bind_host = host or project.config.server.host
    bind_port = port or project.config.server.port
    console.print(
        f"patchbay serving {project.config.project} ({project.environment}, {engine.databases.kind}, "
        f"{'intake only' if no_worker else 'intake + runs'}) on http://{bind_host}:{bind_port}  "
        f"integrations: {', '.join(sorted(runtime.integrations))}",
        highlight=False,
        soft_wrap=True,
    )
    # uvicorn turns SIGTERM/SIGINT into a graceful stop: no new requests, open ones finish.
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=bind_host,
            port=bind_port,
            log_level="warning",
            access_log=False,
            # Client addresses come from the socket; X-Forwarded-For is believed only from
            # limits.trusted_proxies (Patchbay's rule), never by uvicorn's own default.
            proxy_headers=False,
            timeout_graceful_shutdown=shutdown_timeout,
        )
    )
    # uvicorn re-raises the signal it stopped on once it is done; with these no-op handlers in place
    # that lands here instead of killing the process before the runs had their shutdown deadline.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        server.run()
    finally:
        engine.shutdown(timeout_s=shutdown_timeout)
        store.close()


def worker(
    config: ConfigOption = None,
    env: EnvOption = None,
    executor_id: ExecutorOption = None,
    shutdown_timeout: ShutdownOption = 10,
    log_json: LogJsonOption = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT/metrics.")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = "127.0.0.1",
) -> None:
    """Run accepted deliveries (no HTTP). Start any number, on any number of machines, against PostgreSQL."""
    project = load(config, env)
    configure_logging(project.environment, json=log_json)
    configure_tracing(
        otlp_endpoint=project.config.observability.otlp_endpoint,
        service_name=f"patchbay-{project.config.project}",
        environment=project.environment,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with user_errors():
        runtime = build_runtime(project)
        store = run_store_for(project, pre_ping=False)
        engine = DurableEngine(runtime, store, executor_id=executor_id, role="worker")
        engine.launch()
    if metrics_port is not None:
        start_http_server(metrics_port, addr=metrics_host)
    prefilter.warm()
    freeze_startup_heap()
    console.print(
        f"patchbay worker {engine.executor_id} ({project.environment}, {engine.databases.kind}) running "
        f"{', '.join(sorted(runtime.integrations))}; SIGTERM stops it gracefully",
        highlight=False,
        soft_wrap=True,
    )
    try:
        stop.wait()
    finally:
        engine.shutdown(timeout_s=shutdown_timeout)
        store.close()
