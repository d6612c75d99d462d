"""Durable runs on DBOS Transact: each accepted delivery is one workflow, each group of steps a checkpoint.

    intake ──enqueue(workflow id = run id)──▶ DBOS queue ──▶ pipeline_workflow
                                                               ├─ DBOS step: mark running, rollout
                                                               │  decision, validate ... model
                                                               │  (output checkpointed; a retryable
                                                               │   error sleeps durably, then retries)
                                                               ├─ postprocess, write (the workflow's
                                                               │  completion is their checkpoint)
                                                               └─ record the outcome

* The workflow id is derived from (integration, delivery id), so a redelivered webhook maps to the
  same workflow and never runs twice.
* A process killed mid-run resumes on restart (same executor id and application version) at the
  first step without a checkpoint; finished steps return their recorded output.
* SQLite runs in WAL mode (4-5x the throughput of the default journal); the run records live in a
  separate database (:mod:`patchbay.runs.store`).
* Queued workflows run on DBOS's own event loop in another thread: components create their HTTP
  clients per loop (:mod:`patchbay.http`).

DBOS is a process-wide singleton, so one :class:`DurableEngine` is active per process.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
import structlog
from dbos import DBOS, DBOSClient, DBOSConfig
from dbos._error import DBOSException, DBOSUnexpectedStepError

from patchbay.connectors.base import Delivery
from patchbay.errors import ConfigError, ConfigIssue, PatchbayError, StepError
from patchbay.observability import metrics, recorders, tracing
from patchbay.observability.alerts import AlertEngine
from patchbay.ops.advice import advice_for
from patchbay.pipeline.build import Runtime
from patchbay.pipeline.runner import (
    StepRetry,
    checkpoint_groups,
    failure_of,
    final_status,
    retrying,
    run_step,
)
from patchbay.pipeline.state import RunState
from patchbay.rollout.flags import Flags
from patchbay.runs.databases import Databases, resolve, sqlalchemy_url, sqlite_engine
from patchbay.runs.executors import ExecutorRegistry
from patchbay.runs.store import RunStore, enable_wal

log = structlog.get_logger("patchbay.runs")

APP_NAME = "patchbay"
QUEUE_NAME = "patchbay_runs"
WORKFLOW_NAME = "patchbay.run"
GROUP_STEP_PREFIX = "patchbay.steps:"  # + the group's step names, joined with "+"
DB_RETRY_ATTEMPTS = 40  # ~5 minutes: nothing can finish a run without its database anyway
DB_RETRY_INITIAL_S = 0.5
PRUNE_SCHEDULE = "patchbay-prune"
PRUNE_CRON = "0 */10 * * * *"  # every 10 minutes, never on the request path
DEPTH_CACHE_S = 0.5  # how long intake reuses its count of waiting runs (back-pressure check)
_engine: DurableEngine | None = None
T = TypeVar("T")


def run_id_for(integration: str, delivery_id: str) -> str:
    """The run (and workflow) id of a delivery: stable, so a redelivery maps to the same run."""
    digest = hashlib.sha256(f"{integration}\n{delivery_id}".encode()).hexdigest()
    return f"run_{digest[:24]}"


def default_executor_id(project: str, role: str = "all") -> str:
    """'{hostname}-{project}' (plus '-worker'/'-intake' for those roles): stable across restarts.

    Two processes of the same role on one machine need distinct ids: pass --executor-id.
    """
    base = f"{socket.gethostname()}-{project}"
    return base if role == "all" else f"{base}-{role}"


@dataclass(frozen=True)
class Submitted:
    """What intake answers: the run id and whether this delivery was already known."""

    run_id: str
    duplicate: bool


Role = Literal["all", "worker", "intake"]


class DurableEngine:
    """Configures DBOS for one project and process role, submits deliveries, replays runs.

    Roles: ``all`` (``patchbay serve``: intake and runs), ``worker`` (``patchbay worker``: runs only)
    and ``intake`` (``patchbay serve --no-worker``: accepts deliveries, never executes a run).
    """

    def __init__(
        self,
        runtime: Runtime,
        store: RunStore,
        *,
        executor_id: str | None = None,
        role: Role = "all",
        databases: Databases | None = None,
        step_retry: StepRetry | None = None,
    ) -> None:
        project = runtime.project
        cfg = project.config
        self.runtime = runtime
        self.store = store
        self.role: Role = role
        self.step_retry = step_retry or StepRetry()
        self.databases = databases or resolve(project)
        self.database_url = self.databases.engine_url
        self.executor_id = executor_id or cfg.runtime.executor_id or default_executor_id(cfg.project, role)
        self.app_version = cfg.runtime.app_version
        self.workers = cfg.runtime.workers
        self.max_queue_depth = cfg.server.max_queue_depth
        self._launched = False
        self._client: DBOSClient | None = None
        self._registry: ExecutorRegistry | None = None
        self._depth_cache: tuple[float, int] = (0.0, 0)
        self.flags = Flags(store.engine, cfg.flags)
        self.alerts = AlertEngine(
            cfg.observability.alerts, http=runtime.http, environment=project.environment
        )

    @property
    def client(self) -> DBOSClient:
        """The DBOS client (enqueue, fork, list steps, delete history); available after launch."""
        if self._client is None:
            raise RuntimeError("the engine is not launched")
        return self._client

    def launch(self, *, heartbeat: bool = True) -> None:
        """Create/migrate the schema, start DBOS (unless intake-only), heartbeats and the prune schedule.

        ``heartbeat=False`` is for short-lived admin commands (``patchbay runs replay``).
        """
        global _engine
        if self.databases.is_postgres:
            _require_shared_vault_keys(self.runtime)
        if self.role != "intake" and _engine is not None and _engine is not self:
            raise RuntimeError("another DurableEngine is already running in this process")
        enable_wal(self.database_url)
        DBOS.migrate(self.database_url)
        sys_engine = (
            None
            if self.databases.is_postgres
            else sqlite_engine(
                self.database_url, synchronous=self.runtime.project.config.storage.sqlite_synchronous
            )
        )
        if self.role != "intake":
            config: DBOSConfig = {
                "name": APP_NAME,
                "system_database_url": self.database_url,
                "executor_id": self.executor_id,
                "application_version": self.app_version,
                "log_level": "WARNING",
            }
            if sys_engine is not None:
                config["system_database_engine"] = sys_engine
            else:
                # No ping before every checkout (DBOS's default): a checkpointed run makes ~6 queries, and
                # each ping is one more round trip. After a PostgreSQL restart the first query on a dead
                # connection fails, SQLAlchemy drops the pool, and DBOS retries it on a new connection.
                config["db_engine_kwargs"] = {"pool_pre_ping": False}
            _engine = self
            DBOS(config=config)
            DBOS.launch()
            self._launched = True
        self._client = (
            DBOSClient(system_database_engine=sys_engine, application_name=APP_NAME)
            if sys_engine is not None
            else DBOSClient(system_database_url=self.database_url, application_name=APP_NAME)
        )
        self._ensure_queue()
        if self.role != "intake":
            self._schedule_prune()
        if not heartbeat:
            return
        runtime_cfg = self.runtime.project.config.runtime
        self._registry = ExecutorRegistry(
            # Its own connection: a heartbeat queued behind a burst of run-record writes could go
            # stale and get this live worker declared dead (and its runs taken over) by a peer.
            self.store.side_engine(),
            executor_id=self.executor_id,
            app_version=self.app_version,
            role=self.role,
            recover=self._recover,
            heartbeat_s=runtime_cfg.heartbeat_s,
            dead_after_s=runtime_cfg.dead_after_s,
        )
        self._registry.start()
        log.info(
            "runs.engine_started",
            executor_id=self.executor_id,
            role=self.role,
            app_version=self.app_version,
            database=self.databases.kind,
        )

    def _ensure_queue(self) -> None:
        if self._launched:
            DBOS.register_queue(
                QUEUE_NAME,
                worker_concurrency=self.workers,
                polling_interval_sec=0.2,
                on_conflict="always_update",
            )
        elif self.client.retrieve_queue(QUEUE_NAME) is None:
            self.client.register_queue(QUEUE_NAME, worker_concurrency=self.workers, polling_interval_sec=0.2)

    def _schedule_prune(self) -> None:
        try:
            DBOS.create_schedule(
                schedule_name=PRUNE_SCHEDULE, workflow_fn=prune_workflow, schedule=PRUNE_CRON
            )
        except DBOSException as exc:
            if "already exists" not in str(exc):
                raise

    def _recover(self, executor_id: str) -> int:
        return len(DBOS._recover_pending_workflows([executor_id]))

    def shutdown(self, *, timeout_s: int = 10) -> None:
        """Stop: let in-flight steps finish up to ``timeout_s``; the rest is resumed (here or elsewhere)."""
        global _engine
        registry, self._registry = self._registry, None
        if registry is not None:
            registry.stop()  # no more heartbeats; the row still says "alive" while runs drain
        if self._launched:
            # Let in-flight runs finish first: closing their HTTP clients would fail their calls. The
            # clients on DBOS's loop close when that loop shuts down, after the runs.
            self.runtime.http.close_when_loops_stop()
            DBOS.destroy(workflow_completion_timeout_sec=timeout_s)
            self._launched = False
        if registry is not None and self.role != "intake":
            # Only now, with nothing of ours still running: survivors may take over what is left at once.
            registry.retire()
        if self._client is not None:
            self._client.destroy()
            self._client = None
        if _engine is self:
            _engine = None

    def _cached_depth(self) -> int | None:
        """The last count of waiting runs while it is fresh (younger than DEPTH_CACHE_S), else None."""
        at, depth = self._depth_cache
        return depth if time.monotonic() - at < DEPTH_CACHE_S else None

    def queue_depth(self) -> int:
        """Runs waiting in the queue (cached for half a second: intake asks on every request)."""
        cached = self._cached_depth()
        if cached is not None:
            return cached
        now = time.monotonic()
        table = "workflow_status" if not self.databases.is_postgres else "dbos.workflow_status"
        with self._depth_engine().connect() as conn:
            depth = int(
                conn.execute(
                    sa.text(f"SELECT count(*) FROM {table} WHERE queue_name = :q AND status = 'ENQUEUED'"),
                    {"q": QUEUE_NAME},
                ).scalar_one()
            )
        self._depth_cache = (now, depth)
        metrics.QUEUE_DEPTH.set(depth)
        return depth

    @functools.cache  # noqa: B019 - one engine object per DurableEngine, for its lifetime
    def _depth_engine(self) -> sa.Engine:
        return sa.create_engine(sqlalchemy_url(self.database_url), pool_pre_ping=True, pool_size=1)

    def overloaded(self) -> bool:
        """True when more than ``server.max_queue_depth`` runs are waiting (intake answers 503)."""
        return self.max_queue_depth > 0 and self.queue_depth() > self.max_queue_depth

    async def overloaded_async(self) -> bool:
        """:meth:`overloaded` for the event loop: a fresh cached count is read right here, and only a
        re-count (at most every DEPTH_CACHE_S) goes to a worker thread. A thread hop on every request
        just to read the cache cost intake more CPU than the check itself."""
        if self.max_queue_depth <= 0:
            return False
        depth = self._cached_depth()
        if depth is None:
            depth = await asyncio.to_thread(self.queue_depth)
        return depth > self.max_queue_depth

    async def submit(self, integration: str, delivery: Delivery) -> Submitted:
        """Durably record a delivery. Returns only after DBOS has stored the workflow.

        The three blocking calls (dedupe check, enqueue, run record) share one worker thread: a
        thread hop each way costs about as much CPU as a SQLite transaction, and intake pays it per
        delivery. The trace carrier is taken here, on the request's own context.
        """
        return await asyncio.to_thread(self._submit, integration, delivery, tracing.carrier())

    def _submit(self, integration: str, delivery: Delivery, trace: dict[str, str]) -> Submitted:
        """:meth:`submit`'s blocking part. The record is checked before the enqueue, and written after.

        The check: the run record outlives the engine's own history (``retention.dedupe_days`` >=
        ``history_days``), so a redelivery after the history was pruned must not enqueue a new run.
        The record after the enqueue: a crash between the two leaves a workflow without a record,
        which the run creates when it starts (:meth:`RunStore.mark_running`); never a record without
        a workflow, which would answer every redelivery "duplicate" and never run.
        """
        run_id = run_id_for(integration, delivery.delivery_id)
        known = self.store.exists(integration, delivery.delivery_id)
        if known is not None:  # also after the engine's own history was pruned
            return Submitted(run_id=known, duplicate=True)
        self.client.enqueue(
            {
                "workflow_name": WORKFLOW_NAME,
                "queue_name": QUEUE_NAME,
                "workflow_id": run_id,
                "app_version": self.app_version,
            },
            integration,
            delivery.delivery_id,
            delivery.event_type,
            delivery.event,
            trace,  # the run continues the delivery's trace, in whichever process runs it
        )
        created = self.store.create(
            run_id=run_id,
            integration=integration,
            delivery_id=delivery.delivery_id,
            environment=self.runtime.project.environment,
            event_type=delivery.event_type,
            event=delivery.event,
        )
        return Submitted(run_id=run_id, duplicate=not created)

    def replay(self, run_id: str, *, from_step: str | None = None, force: bool = False) -> str:
        """Start a new run of a recorded run's delivery, linked to it; returns the new run id.

        From ``from_step`` (default: the step that failed) when the engine still has the old run's
        checkpoints: earlier steps' outputs are reused (DBOS fork). Otherwise, from the start.
        """
        record = self.store.get(run_id)
        if record is None:
            raise StepError(f"no run {run_id!r}; list them with 'patchbay runs list'", code="run_not_found")
        if record["status"] != "failed" and not force:
            raise StepError(
                f"run {record['run_id']} is {record['status']}, not failed: replaying it would run its "
                "delivery again (pass force to do it anyway)",
                code="not_failed",
            )
        integration = self.runtime.integration(record["integration"])
        names = [step.name for step in integration.steps]
        target = from_step or record.get("error_step") or names[0]
        if target not in names:
            raise StepError(
                f"integration {record['integration']!r} has no step {target!r} (steps: {', '.join(names)})"
            )
        groups = checkpoint_groups(integration.steps)
        group_index = next(g for g, members in enumerate(groups) if names.index(target) in members)
        steps = self.client.list_workflow_steps(record["run_id"]) if group_index > 0 else []
        start = _fork_point(steps, group_index) if steps else None
        if group_index > 0 and start is None and from_step is None:
            # The default target (the failed step) without a usable history: the whole run again.
            group_index, target = 0, names[0]
            log.info("runs.replay_from_start", run_id=record["run_id"], reason="no checkpoint to fork")
        elif group_index > 0 and start is None:
            raise StepError(
                f"run {record['run_id']} has no checkpoint before step {target!r} (it stopped earlier, its "
                "history was pruned after retention.history_days, or an older version recorded it); "
                f"replay it from the start instead (--from-step {names[0]})"
            )
        if start is not None:
            handle = self.client.fork_workflow(
                record["run_id"], start, application_version=self.app_version, queue_name=QUEUE_NAME
            )
            new_id = handle.workflow_id
        else:
            new_id = f"run_{uuid.uuid4().hex[:24]}"
            self.client.enqueue(
                {
                    "workflow_name": WORKFLOW_NAME,
                    "queue_name": QUEUE_NAME,
                    "workflow_id": new_id,
                    "app_version": self.app_version,
                },
                record["integration"],
                record["delivery_id"],
                record["event_type"] or "",
                record["event"] or {},
            )
        self.store.link_replay(run_id=new_id, replay_of=record)
        log.info("runs.replayed", run_id=new_id, replay_of=record["run_id"], from_step=target)
        return new_id


def _require_shared_vault_keys(runtime: Runtime) -> None:
    """With PostgreSQL, a run may continue on another machine: the pseudonym vault key must be shared."""
    missing = [
        f"integrations.{name}.steps[{index}].{step.name}"
        for name, integ in runtime.project.integrations.items()
        for index, step in enumerate(integ.steps)
        if step.name in ("sanitize", "postprocess") and getattr(step.config, "vault_key", "") is None
    ]
    if missing:
        raise ConfigError(
            "with PostgreSQL, runs move between machines: the sanitize and postprocess steps need a "
            "shared vault_key (e.g. vault_key: ${secret:PATCHBAY_VAULT_KEY}); a per-machine "
            ".patchbay/vault.key would make another worker unable to restore pseudonyms",
            issues=[
                ConfigIssue(
                    file=None,
                    line=None,
                    field=f,
                    message="vault_key is not set",
                    allowed="vault_key: ${secret:PATCHBAY_VAULT_KEY}",
                )
                for f in missing
            ],
        )


def _fork_point(steps: list[Any], index: int) -> int | None:
    """The DBOS function id a fork starts at to re-run checkpoint group ``index`` (``index`` > 0):
    the call right after group ``index - 1``'s recorded success. None when the history lacks it."""
    done = [
        int(info["function_id"])
        for info in steps
        if str(info["function_name"]).startswith(GROUP_STEP_PREFIX) and info.get("error") is None
    ]
    return done[index - 1] + 1 if 0 < index <= len(done) else None


def _current() -> DurableEngine:
    if _engine is None:
        raise RuntimeError("no DurableEngine is running in this process")
    return _engine


async def _with_db_retry(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call`` in a worker thread, again after a database connection error (a restarted PostgreSQL,
    a locked SQLite file): the run must not fail because its record could not be written once."""
    delay = DB_RETRY_INITIAL_S
    for attempt in range(1, DB_RETRY_ATTEMPTS + 1):
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            if attempt == DB_RETRY_ATTEMPTS:
                raise
            log.warning("runs.database_retry", attempt=attempt, error=type(exc).__name__, delay_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 10.0)
    raise AssertionError("unreachable")


async def _inline_or_thread(inline: bool, call: Callable[..., T], *args: Any) -> T:
    """``call`` right here when it needs no I/O (a thread hop costs more than the call), else in a
    worker thread with database retries."""
    return call(*args) if inline else await _with_db_retry(call, *args)


@dataclass(frozen=True)
class _Start:
    """What the first group records before its steps: the run is running, and its rollout decision."""

    event_type: str
    record_delivery_id: str


async def _run_group(
    integration: str, indices: list[int], state: RunState, start: _Start | None = None
) -> RunState:
    """Run one checkpoint group's steps (see :func:`patchbay.pipeline.runner.checkpoint_groups`).

    The first group also marks the run running and takes its rollout decision; a run the decision
    does not let run comes back with ``flag.run`` false and no step run.
    """
    engine = _current()
    integ = engine.runtime.integration(integration)
    if start is not None:
        await _with_db_retry(
            engine.store.mark_running,
            state,
            event_type=start.event_type,
            record_delivery_id=start.record_delivery_id,
            executor_id=engine.executor_id,
        )
        rollout = integ.spec.config.rollout
        decision = await _inline_or_thread(
            engine.flags.in_memory(integration), engine.flags.decide, integration, rollout, state.event
        )
        state = state.model_copy(update={"flag": decision})
        if not decision.run:
            return state
    for index in indices:
        step = integ.steps[index]
        if step.name == "write" and not state.dry_run and state.flag is not None:
            allowed = await _inline_or_thread(
                engine.flags.in_memory(integration),
                engine.flags.writes_allowed,
                integration,
                integ.spec.config.rollout,
                state.flag,
            )
            if not allowed:  # shadow mode, or the kill switch flipped while this run was under way
                state = state.model_copy(update={"dry_run": True})
        log.info("run.step_started", step=step.name, run_id=state.run_id)
        try:
            with tracing.span(f"step.{step.name}", **{"patchbay.step": step.name}):
                state = await run_step(step, state, engine.runtime.resources)
        except Exception as exc:
            exc.step = step.name  # type: ignore[attr-defined]  # which step of the group failed
            raise
    return state


async def _checkpointed_group(
    integration: str, indices: list[int], state: RunState, start: _Start | None
) -> dict[str, Any]:
    """:func:`_run_group` as a DBOS step: its output (the run state, as JSON) is the checkpoint.

    DBOS records a step's output, never its arguments, so the state is passed as it is.
    """
    result = await _run_group(integration, indices, state, start)
    return result.model_dump(mode="json")


async def _finish(engine: DurableEngine, state: RunState, outcome: dict[str, Any]) -> None:
    """Record the run's outcome (idempotent: an update of its record), its metrics and alerts."""
    await _with_db_retry(engine.store.finish, state, **outcome)
    recorders.record_run(state, str(outcome["status"]))
    await engine.alerts.deliver(engine.alerts.observe(state, str(outcome["status"])))


@DBOS.workflow(name=WORKFLOW_NAME)
async def pipeline_workflow(
    integration: str,
    delivery_id: str,
    event_type: str,
    event: dict[str, Any],
    trace: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One run: a checkpoint per group of steps; failures are recorded, never raised past the run.

    Every group but the last is a DBOS step, so its output is recorded before the next group
    starts. The last group runs in the workflow itself, and the workflow's own completion is its
    checkpoint: a crash before it re-runs that group, exactly as a crash before a step's checkpoint
    would (its pure steps, and a write that the target's idempotency key and marker keep single).
    That saves a database round trip per run, the largest cost of a run with a fast model.

    A replay (a fork of a recorded run, or a fresh start of its delivery) has its own workflow id:
    its record is deduplicated on '{delivery id}#{run id}', while the write-back keeps the delivery's
    idempotency key, so a replay of a run that already wrote does not write twice.
    """
    engine = _current()
    run_id = DBOS.workflow_id or run_id_for(integration, delivery_id)
    original = run_id == run_id_for(integration, delivery_id)
    record_delivery_id = delivery_id if original else f"{delivery_id}#{run_id}"
    state = RunState(
        run_id=run_id,
        integration=integration,
        delivery_id=delivery_id,
        environment=engine.runtime.project.environment,
        event=event,
    )
    structlog.contextvars.bind_contextvars(
        run_id=run_id, integration=integration, environment=engine.runtime.project.environment
    )
    try:
        with (
            tracing.continued(trace),
            tracing.span("run", **{"patchbay.run_id": run_id, "patchbay.integration": integration}),
        ):
            return await _run_steps(engine, state, _Start(event_type, record_delivery_id))
    finally:
        structlog.contextvars.unbind_contextvars("run_id", "integration", "environment")


async def _run_steps(engine: DurableEngine, state: RunState, start: _Start) -> dict[str, Any]:
    integration, run_id = state.integration, state.run_id
    steps = engine.runtime.integration(integration).steps
    groups = checkpoint_groups(steps)
    attempts: list[dict[str, Any]] = []
    for position, group in enumerate(groups):
        names = [steps[i].name for i in group]

        def remember(attempt: int, exc: PatchbayError, delay: float | None, names: list[str] = names) -> None:
            name = getattr(exc, "step", names[-1])
            recorders.record_retry(integration, name, exc.code)
            attempts.append(
                {
                    "step": name,
                    "attempt": attempt,
                    "code": exc.code,
                    "message": exc.message,
                    "status_code": exc.status_code,
                    "retry_in_s": delay,
                    "at": datetime.now(UTC).isoformat(),
                }
            )

        first = start if position == 0 else None
        call: Callable[[], Awaitable[RunState]]
        if position < len(groups) - 1:
            call = functools.partial(_recorded_group, integration, group, names, state, first)
        else:
            call = functools.partial(_run_group, integration, group, state, first)
        try:
            result = await retrying(
                "+".join(names), call, policy=engine.step_retry, sleep=DBOS.sleep_async, on_error=remember
            )
        except DBOSUnexpectedStepError:
            # Recorded by a version that grouped this integration's steps differently.
            layout = StepError(
                "this run was interrupted under another checkpoint layout (an older version, or a "
                "changed list of steps); replay it from the start: patchbay runs replay ID --from-step "
                f"{steps[0].name}",
                code="checkpoint_layout_changed",
            )
            return await _fail(state, names[0], layout, attempts, start.record_delivery_id)
        except Exception as exc:
            return await _fail(
                state, getattr(exc, "step", names[-1]), exc, attempts, start.record_delivery_id
            )
        # A fork replays the old run's recorded outputs, which carry the old run id.
        state = result if result.run_id == run_id else result.model_copy(update={"run_id": run_id})
        if state.flag is not None and not state.flag.run:
            outcome = {
                "status": "skipped",
                "record_delivery_id": start.record_delivery_id,
                "executor_id": engine.executor_id,
            }
            await _finish(engine, state, outcome)
            log.info("run.skipped_by_flag", reason=state.flag.reason)
            return {"status": "skipped", "run_id": run_id}
    # Nothing DBOS records (a step, a sleep, an event) may follow the last group: the number of
    # durable sleeps its retries took can differ between an execution and its re-execution.
    status = final_status(state)
    await _finish(
        engine,
        state,
        {
            "status": status,
            "attempts": attempts,
            "record_delivery_id": start.record_delivery_id,
            "executor_id": engine.executor_id,
        },
    )
    log.info("run.finished", status=status)
    return {"status": status, "run_id": run_id}


async def _recorded_group(
    integration: str, indices: list[int], names: list[str], state: RunState, start: _Start | None
) -> RunState:
    """Run a group as a DBOS step named after its steps (``patchbay.steps:validate+...+model``).

    The name is the group's identity: a run recorded under another grouping (an older version)
    fails on resume (``checkpoint_layout_changed``) instead of being handed another group's output.
    """
    result = await DBOS.run_step_async(
        {"name": GROUP_STEP_PREFIX + "+".join(names)},
        _checkpointed_group,
        integration,
        indices,
        state,
        start,
    )
    return RunState.model_validate(result)


async def _fail(
    state: RunState,
    step_name: str,
    exc: BaseException,
    attempts: list[dict[str, Any]],
    record_delivery_id: str,
) -> dict[str, Any]:
    """Dead-letter a run: status failed, with the step, the error and the attempt history."""
    failure = failure_of(step_name, exc)
    if not attempts or attempts[-1]["step"] != step_name or attempts[-1]["code"] != failure.code:
        attempts.append(
            {
                "step": step_name,
                "attempt": 1,
                "code": failure.code,
                "message": failure.message,
                "status_code": getattr(exc, "status_code", None),
                "retry_in_s": None,
                "at": datetime.now(UTC).isoformat(),
            }
        )
    # "What to do next", from the runbook's table (patchbay.ops.advice); 'runs show' prints it.
    attempts[-1]["advice"] = advice_for(
        failure.code, attempts[-1].get("status_code"), step_name, message=failure.message
    )
    log.warning(
        "run.step_failed",
        step=step_name,
        code=failure.code,
        error=failure.message,
        exc_info=not isinstance(exc, PatchbayError),
    )
    engine = _current()
    await _finish(
        engine,
        state,
        {
            "status": "failed",
            "error_step": failure.step,
            "error_code": failure.code,
            "error": failure.message,
            "attempts": attempts,
            "record_delivery_id": record_delivery_id,
            "executor_id": engine.executor_id,
        },
    )
    return {"status": "failed", "run_id": state.run_id, "error": failure.message}


@DBOS.step(name="patchbay.prune_step")
async def _prune_step() -> dict[str, int]:
    engine = _current()
    retention = engine.runtime.project.config.retention
    now = datetime.now(UTC)
    records = await asyncio.to_thread(engine.store.prune, before=now - timedelta(days=retention.dedupe_days))
    cutoff_ms = int((now - timedelta(days=retention.history_days)).timestamp() * 1000)
    old = await asyncio.to_thread(
        engine.client.list_workflows,
        name=WORKFLOW_NAME,
        status=["SUCCESS", "ERROR", "CANCELLED"],
        end_time=datetime.fromtimestamp(cutoff_ms / 1000, UTC).isoformat(),
        limit=5000,
        load_input=False,
        load_output=False,
    )
    ids = [w.workflow_id for w in old]
    if ids:
        await asyncio.to_thread(engine.client.delete_workflows, ids)
    return {"records": records, "history": len(ids)}


@DBOS.workflow(name="patchbay.prune")
async def prune_workflow(scheduled_at: datetime, context: Any) -> None:
    """Scheduled: drop run records past the dedupe window and engine history past its window."""
    counts = await _prune_step()
    if counts["records"] or counts["history"]:
        log.info("runs.pruned", **counts)
