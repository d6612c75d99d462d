"""``patchbay serve``: the webhook app and the durable worker in one process."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from patchbay.cli._common import ConfigOption, EnvOption, console, load, user_errors
from patchbay.cli.run import run_store_for
from patchbay.intake.app import create_app
from patchbay.logs import configure_logging
from patchbay.pipeline.build import build_runtime
from patchbay.runs.durable import DurableEngine


def serve(
    config: ConfigOption = None,
    env: EnvOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default: server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default: server.port).")] = None,
    executor_id: Annotated[
        str | None,
        typer.Option(help="Stable unique id of this process (default: runtime.executor_id or host-project)."),
    ] = None,
    shutdown_timeout: Annotated[
        int, typer.Option(help="Seconds in-flight steps get to finish on SIGTERM.")
    ] = 10,
    log_json: Annotated[
        bool | None, typer.Option("--log-json/--log-console", help="Log format (default by env).")
    ] = None,
) -> None:
    """Serve webhooks (POST /hooks/{integration}, GET /healthz) and run accepted deliveries durably."""
    project = load(config, env)
    configure_logging(project.environment, json=log_json)
    with user_errors():
        runtime = build_runtime(project)
        store = run_store_for(project)
        engine = DurableEngine(runtime, store, executor_id=executor_id)
        engine.launch()
    app = create_app(runtime, engine)
    bind_host = host or project.config.server.host
    bind_port = port or project.config.server.port
    console.print(
        f"patchbay serving {project.config.project} ({project.environment}) on "
        f"http://{bind_host}:{bind_port}  integrations: {', '.join(sorted(runtime.integrations))}",
        highlight=False,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=bind_host,
            port=bind_port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=shutdown_timeout,
        )
    )
    try:
        server.run()
    finally:
        engine.shutdown(timeout_s=shutdown_timeout)
        store.close()
