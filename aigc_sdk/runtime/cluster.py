"""The Ray backend of the Studio: replicas (Ray Core actors) that each run the SDK's own scheduler.

A :class:`ClusterScheduler` answers the same calls a Studio makes on a
:class:`~aigc_sdk.runtime.GpuScheduler` (``add_spec``, ``submit``, ``run``, ``metrics``,
``shutdown``), but runs each request on a replica: one Ray actor per node (or per
``cpus_per_replica`` of a node), pinned there, owning its CPUs and GPUs and running a local
scheduler inside, so batching, memory budgets and LRU eviction work per replica. A request goes
to a replica that already holds its model (multiplexing), else to the least-loaded replica with
room; a job's requests prefer the replica on the job's own node. A replica that dies mid-request
costs a bounded retry on another one, and a replica whose node lacks a model's weights passes the
request to one that may have them; typed errors from :mod:`aigc_sdk.errors` come back as themselves,
not as Ray's wrappers.

A ClusterScheduler started by a Studio owns its replicas; :meth:`ClusterScheduler.handle` gives a
picklable :class:`ClusterHandle` of them, and :meth:`ClusterScheduler.attach` a scheduler on the same
replicas in another process of the cluster (a news-clip job running as a Ray task).

``ray`` is imported only when a ClusterScheduler starts; ``"auto"`` starts a local Ray that
listens on loopback only, without a dashboard, with bounded resources.

Example:
    >>> from aigc_sdk.runtime.cluster import loopback_env
    >>> loopback_env()["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"]
    '0'
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Self

from pydantic import Field

from aigc_sdk.errors import (
    AigcError,
    GenerationError,
    InvalidRequestError,
    MissingDependencyError,
    ModelNotAvailableError,
    OutOfDeviceMemoryError,
    SchedulerClosedError,
    SchedulerError,
    UnknownModelError,
)
from aigc_sdk.registry import ModelSpec
from aigc_sdk.runtime.metrics import SchedulerMetrics
from aigc_sdk.types import Request, Result

__all__ = [
    "JOB_CPUS",
    "ClusterHandle",
    "ClusterMetrics",
    "ClusterScheduler",
    "Replica",
    "ReplicaInfo",
    "connect",
    "loopback_env",
]

#: Bytes of Ray's object store when the SDK starts a local Ray ("auto").
OBJECT_STORE_BYTES = 256 * 2**20

#: CPUs a job task asks of Ray (its pipeline's own work: cards, timeline, publishing; its models run in replicas).
JOB_CPUS = 0.5


def loopback_env() -> dict[str, str]:
    """The environment that keeps a Ray started on this machine on loopback, without usage stats.

    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` makes the node's address 127.0.0.1 and every Ray listener
    bind it; ``RAY_AUTH_MODE=disabled`` keeps Ray from writing ``~/.ray/auth_token`` (which switches
    later runs to token auth). They must be set before ``import ray``; set values are kept.

    Example:
        >>> sorted(loopback_env())
        ['RAY_AUTH_MODE', 'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', 'RAY_USAGE_STATS_ENABLED']
    """
    return {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(package="ray", extra="distributed", feature="Studio(cluster=...)") from exc
    return ray


def connect(address: str, *, num_cpus: int | None = None) -> bool:
    """Connect this process to Ray: ``"auto"`` starts a local one on loopback, else ``ray://`` or a GCS address.

    A process already connected keeps its connection. Returns whether this call started Ray (and so
    should stop it).

    Raises:
        InvalidRequestError: The address is empty.
        SchedulerError: Ray did not start or answer.

    Example:
        >>> connect("auto", num_cpus=1)  # doctest: +SKIP
        True
    """
    if not address:
        raise InvalidRequestError("the cluster address is empty", hint='use "auto" or "ray://host:10001"')
    if address == "auto":
        for name, value in loopback_env().items():
            os.environ.setdefault(name, value)
        constants: Any = sys.modules.get("ray._private.ray_constants")
        if constants is not None and os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0":
            constants.ENABLE_RAY_CLUSTER = False  # ray was imported before: its reading is stale
    ray = _ray()
    if ray.is_initialized():
        return False
    try:
        if address == "auto":
            ray.init(
                num_cpus=num_cpus or min(2, os.cpu_count() or 1),
                include_dashboard=False,
                object_store_memory=OBJECT_STORE_BYTES,
                log_to_driver=False,
            )
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SchedulerError(
            f"could not reach the Ray cluster at {address!r}: {exc}",
            hint="start it with `ray start --head` (docs/cluster.md) or use cluster='auto'",
        ) from exc
    return True


@dataclass
class ReplicaInfo:
    """What the router knows of one replica: its actor, budget, the models it holds and its requests in flight.

    ``node`` is the Ray node it runs on; ``lacks`` the models whose weights its node answered it does not have.

    Example:
        >>> info = ReplicaInfo(name="r0", actor=None, budget=10**9)
        >>> info.free, info.inflight
        (1000000000, 0)
    """

    name: str
    actor: Any
    budget: int
    holds: dict[str, int] = field(default_factory=dict)
    inflight: int = 0
    dead: bool = False
    node: str = ""
    lacks: set[str] = field(default_factory=set)

    @property
    def free(self) -> int:
        """Budget bytes not taken by the models routed here.

        Example:
            >>> ReplicaInfo(name="r0", actor=None, budget=10, holds={"m": 4}).free
            6
        """
        return self.budget - sum(self.holds.values())


class Replica:
    """A replica: the Ray actor class that runs one local scheduler (made by ``backend``) on its share of a node.

    Args:
        name: The replica's name in metrics (``replica-0`` ...).
        backend: Builds the local scheduler (a Studio passes one whose loader is a local Studio).
        threads: CPUs the replica owns: ``AIGC_THREADS`` for its models (onnxruntime ignores Ray's OMP setting).

    Example:
        >>> from aigc_sdk.runtime import GpuScheduler
        >>> replica = Replica("replica-0", lambda: GpuScheduler(budgets={"cpu": 10**9}))
        >>> replica.ready()["budgets"], replica.metrics().completed
        ({'cpu': 1000000000}, 0)
        >>> replica.close()
    """

    def __init__(self, name: str, backend: Callable[[], Any], threads: int = 0) -> None:
        os.environ.pop("AIGC_CLUSTER", None)  # the local scheduler inside must not start a cluster of its own
        if threads:
            os.environ["AIGC_THREADS"] = str(threads)
        self.name = name
        self.scheduler = backend()

    def ready(self) -> dict[str, Any]:
        """The replica's name, process and memory budgets (per device), once its scheduler is built.

        Example:
            >>> from aigc_sdk.runtime import GpuScheduler
            >>> Replica("r", lambda: GpuScheduler(budgets={"cpu": 5})).ready()["name"]
            'r'
        """
        _ = self.scheduler.devices  # detect the devices now
        return {"name": self.name, "pid": os.getpid(), "budgets": dict(self.scheduler.budgets)}

    def run(
        self, spec: ModelSpec, request: Request, priority: int = 0, timeout: float | None = None
    ) -> tuple[bool, Any]:
        """Run ``request`` on ``spec`` here: ``(True, result)``, or ``(False, error)`` for a typed SDK error.

        Typed errors travel as values so the caller re-raises the very error (Ray would wrap it).

        Example:
            >>> from aigc_sdk.runtime import GpuScheduler
            >>> from aigc_sdk.registry import LocalSource
            >>> from aigc_sdk.types import TextRequest
            >>> spec = ModelSpec(id="m", task="text-generation", backend="no.Such", source=LocalSource(path="/nope"))
            >>> replica = Replica("r", lambda: GpuScheduler(budgets={"cpu": 10**9}))
            >>> ok, error = replica.run(spec, TextRequest(prompt="a"))
            >>> ok, type(error).__name__
            (False, 'ModelNotAvailableError')
        """
        self.scheduler.add_spec(spec, exist_ok=True)
        try:
            return True, self.scheduler.run(spec.id, request, priority=priority, timeout=timeout)
        except AigcError as exc:
            return False, exc

    def metrics(self) -> SchedulerMetrics:
        """The local scheduler's metrics.

        Example:
            >>> from aigc_sdk.runtime import GpuScheduler
            >>> Replica("r", lambda: GpuScheduler(budgets={"cpu": 5})).metrics().queue_depth
            {}
        """
        metrics: SchedulerMetrics = self.scheduler.metrics()
        return metrics

    def close(self) -> None:
        """Drain and shut down the local scheduler.

        Example:
            >>> from aigc_sdk.runtime import GpuScheduler
            >>> Replica("r", lambda: GpuScheduler(budgets={"cpu": 5})).close()
        """
        self.scheduler.shutdown(wait=True)


class ClusterMetrics(SchedulerMetrics):
    """The cluster's totals (a :class:`SchedulerMetrics`) plus each replica's own metrics and retries.

    ``loaded`` maps a model to ``"<replica>/<device>"``; counters and histograms are sums.

    Example:
        >>> m = ClusterMetrics(replicas={"replica-0": SchedulerMetrics(completed=2)}, completed=2)
        >>> m.replicas["replica-0"].completed, m.retries
        (2, 0)
    """

    replicas: dict[str, SchedulerMetrics] = Field(default_factory=dict, description="Metrics per replica.")
    retries: int = Field(default=0, description="Requests sent again after their replica died.")
    missing_weights: int = Field(
        default=0, description="Answers of a replica whose node lacks the model's weights (the request moves on)."
    )
    unreachable: tuple[str, ...] = Field(default=(), description="Replicas that did not answer the metrics call.")


@dataclass
class _Call:
    spec: ModelSpec
    request: Request
    priority: int
    timeout: float | None
    future: concurrent.futures.Future[Result]
    tried: list[str] = field(default_factory=list)
    deaths: int = 0


@dataclass(frozen=True)
class ClusterHandle:
    """The replicas of a running :class:`ClusterScheduler`, picklable: attach to them from another process.

    Ray actor handles travel inside; the replicas stay owned by the scheduler that started them.

    Example:
        >>> handle = ClusterHandle(replicas=(("replica-0", None, 10**9, "node-id"),))
        >>> handle.replicas[0][0], handle.max_retries
        ('replica-0', 2)
    """

    replicas: tuple[tuple[str, Any, int, str], ...]
    max_retries: int = 2
    spill_at: int = 2
    job_cpus: float = JOB_CPUS


class ClusterScheduler:
    """The scheduler calls of a Studio, answered by replicas on a Ray cluster.

    Args:
        address: ``"auto"`` (a local Ray on loopback, or the one this process is connected to),
            ``"ray://host:10001"`` (Ray Client) or a GCS address ``host:6379``.
        backend: Builds each replica's local scheduler; pickled to the replicas (a module-level function).
        cpus_per_replica: CPUs per replica; by default one replica per node, owning its CPUs (less
            ``job_cpus``) and all its GPUs.
        max_retries: Times a request is sent again after its replica died.
        spill_at: Requests in flight on the replicas holding a model before the next one goes to another replica.
        start_timeout: Seconds to wait for the replicas to start.
        num_cpus: CPUs of a local Ray started for ``"auto"``.
        job_cpus: CPUs of each node left out of its replicas for job tasks (:data:`JOB_CPUS` each: a node runs
            ``job_cpus / JOB_CPUS`` jobs at once beside its replica); 0: jobs run on nodes without replicas only.

    Example:
        >>> from aigc_sdk.runtime import GpuScheduler
        >>> with ClusterScheduler("auto", backend=GpuScheduler) as cluster:  # doctest: +SKIP
        ...     sorted(cluster.metrics().replicas)
        ['replica-0']
    """

    def __init__(
        self,
        address: str,
        *,
        backend: Callable[[], Any],
        cpus_per_replica: float | None = None,
        max_retries: int = 2,
        spill_at: int = 2,
        start_timeout: float = 120.0,
        num_cpus: int | None = None,
        job_cpus: float = JOB_CPUS,
    ) -> None:
        if cpus_per_replica is not None and cpus_per_replica <= 0:
            raise InvalidRequestError(f"cpus_per_replica must be > 0, got {cpus_per_replica}")
        self._setup(address, max_retries=max_retries, spill_at=spill_at, job_cpus=job_cpus, owner=True)
        self._owns_ray = connect(address, num_cpus=num_cpus)
        try:
            self.replicas[:] = self._start(backend, cpus_per_replica, start_timeout)
        except BaseException:
            self.shutdown()
            raise
        self._here = _node_here()

    def _setup(self, address: str, *, max_retries: int, spill_at: int, job_cpus: float, owner: bool) -> None:
        if max_retries < 0:
            raise InvalidRequestError(f"max_retries must be >= 0, got {max_retries}")
        if spill_at < 1:
            raise InvalidRequestError(f"spill_at must be >= 1, got {spill_at}")
        if job_cpus < 0:
            raise InvalidRequestError(f"job_cpus must be >= 0, got {job_cpus}")
        self.address = address
        self.max_retries = max_retries
        self.spill_at = spill_at
        self.job_cpus = job_cpus
        self._owner = owner
        self._owns_ray = False
        self._lock = threading.Lock()
        self._specs: dict[str, ModelSpec] = {}
        self._closed = False
        self._retries = 0
        self._missing = 0
        self._here = ""
        self.replicas: list[ReplicaInfo] = []

    def handle(self) -> ClusterHandle:
        """A picklable handle of these replicas, for :meth:`attach` in another process of the cluster.

        Example:
            >>> [name for name, *_ in cluster.handle().replicas]  # doctest: +SKIP
            ['replica-0', 'replica-1']
        """
        with self._lock:
            replicas = tuple((r.name, r.actor, r.budget, r.node) for r in self.replicas)
        return ClusterHandle(replicas, max_retries=self.max_retries, spill_at=self.spill_at, job_cpus=self.job_cpus)

    @classmethod
    def attach(cls, handle: ClusterHandle, *, timeout: float = 10.0) -> ClusterScheduler:
        """A scheduler on the replicas of ``handle``, in a process already connected to their Ray cluster.

        It routes its own requests (preferring the replica on its own node) and learns which models the
        replicas hold now; shutting it down leaves the replicas running (their owner stops them).

        Raises:
            SchedulerError: This process is not connected to Ray.

        Example:
            >>> scheduler = ClusterScheduler.attach(cluster.handle())  # doctest: +SKIP
            >>> scheduler.attached  # doctest: +SKIP
            True
        """
        ray = _ray()
        if not ray.is_initialized():
            raise SchedulerError("cannot attach to the cluster's replicas: this process is not connected to Ray")
        self = cls.__new__(cls)
        self._setup("attached", max_retries=handle.max_retries, spill_at=handle.spill_at, job_cpus=handle.job_cpus,
                    owner=False)  # fmt: skip
        self.replicas[:] = [ReplicaInfo(name=n, actor=a, budget=b, node=node) for n, a, b, node in handle.replicas]
        self._here = _node_here()
        refs = [r.actor.metrics.remote() for r in self.replicas]
        for replica, ref in zip(self.replicas, refs, strict=True):
            try:  # multiplexing from the start: route to the replicas that hold a model already
                replica.holds = dict.fromkeys(ray.get(ref, timeout=timeout).loaded, 0)
            except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
                replica.dead = True  # tried last; a request that reaches it learns the truth
        return self

    @property
    def attached(self) -> bool:
        """Whether this scheduler was attached to replicas another scheduler owns (:meth:`attach`).

        Example:
            >>> cluster.attached  # doctest: +SKIP
            False
        """
        return not self._owner

    def _start(self, backend: Callable[[], Any], cpus: float | None, timeout: float) -> list[ReplicaInfo]:
        ray = _ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        actor_class = ray.remote(Replica)
        actors: list[tuple[Any, str]] = []
        for node in sorted(ray.nodes(), key=lambda n: str(n["NodeID"])):
            resources = node.get("Resources", {})
            node_cpus = float(resources.get("CPU", 0))
            room = node_cpus - self.job_cpus  # the rest runs job tasks
            if not node.get("Alive") or node_cpus < 1 or room <= 0:
                continue
            count = max(1, int(room // cpus)) if cpus else 1
            share = cpus if cpus else room
            gpus = float(resources.get("GPU", 0)) / count
            for _ in range(count):
                name = f"replica-{len(actors)}"
                actor = actor_class.options(
                    num_cpus=share,
                    num_gpus=gpus,
                    max_restarts=1,
                    max_task_retries=0,  # the router retries elsewhere: never twice on its own
                    max_concurrency=64,  # the local scheduler queues and batches
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
                    name=None,
                ).remote(name, backend, max(1, int(share)))
                actors.append((actor, str(node["NodeID"])))
        if not actors:
            raise SchedulerError(
                f"the Ray cluster has no node with a CPU for a replica (after {self.job_cpus:g} for jobs)",
                hint="add a node: `ray start --address ...`, or lower job_cpus",
            )
        try:
            infos = ray.get([actor.ready.remote() for actor, _ in actors], timeout=timeout)
        except (ray.exceptions.GetTimeoutError, ray.exceptions.RayError) as exc:
            for actor, _ in actors:
                ray.kill(actor, no_restart=True)
            why = f"within {timeout:g} s" if isinstance(exc, ray.exceptions.GetTimeoutError) else f"({exc})"
            raise SchedulerError(
                f"the cluster's replicas did not start {why}",
                hint="check `ray status`: the nodes may lack the CPUs asked for (cpus_per_replica)",
                retryable=True,
            ) from exc
        return [
            ReplicaInfo(name=info["name"], actor=actor, budget=max(info["budgets"].values(), default=0), node=node)
            for info, (actor, node) in zip(infos, actors, strict=True)
        ]

    # -- the scheduler calls a Studio makes ----------------------------------------------------

    def add_spec(self, spec: ModelSpec, *, exist_ok: bool = False) -> None:
        """Make ``spec`` known (it travels with each request to the replica that runs it).

        Raises:
            InvalidRequestError: The id is known with a different spec and ``exist_ok`` is False.

        Example:
            >>> cluster.add_spec(spec, exist_ok=True)  # doctest: +SKIP
        """
        with self._lock:
            known = self._specs.get(spec.id)
            if known is not None and known != spec and not exist_ok:
                raise InvalidRequestError(
                    f"model {spec.id!r} is already known with a different spec", hint="pass exist_ok=True to replace it"
                )
            self._specs[spec.id] = spec

    @property
    def model_ids(self) -> list[str]:
        """Ids of the models this scheduler knows, sorted.

        Example:
            >>> cluster.model_ids  # doctest: +SKIP
            ['en-joe']
        """
        with self._lock:
            return sorted(self._specs)

    def submit(
        self, model_id: str, request: Request, *, priority: int = 0, timeout: float | None = None
    ) -> concurrent.futures.Future[Result]:
        """Send ``request`` to a replica for ``model_id``; a future of its result.

        The seed is drawn here, so a request sent again after its replica died gives the same result.

        Raises:
            UnknownModelError: No such model.
            OutOfDeviceMemoryError: The model fits in no replica's budget.
            SchedulerClosedError: The scheduler was shut down.

        Example:
            >>> future = cluster.submit("en-joe", SpeechRequest(prompt="Hi.", seed=1))  # doctest: +SKIP
            >>> future.result().audio.sample_rate  # doctest: +SKIP
            22050
        """
        with self._lock:
            if self._closed:
                raise SchedulerClosedError("the cluster scheduler is shut down")
            spec = self._specs.get(model_id)
            if spec is None:
                raise UnknownModelError(model_id, known=self._specs)
        call = _Call(spec, request.seeded(), priority, timeout, concurrent.futures.Future())
        self._dispatch(call, self._pick(call))  # no replica fits: raised here, before any work
        return call.future

    def run(self, model_id: str, request: Request, *, priority: int = 0, timeout: float | None = None) -> Result:
        """Submit and wait for the result.

        Example:
            >>> cluster.run("en-joe", SpeechRequest(prompt="Hi.", seed=1)).audio.duration > 0  # doctest: +SKIP
            True
        """
        return self.submit(model_id, request, priority=priority, timeout=timeout).result()

    def lease(self, model_id: str) -> AbstractContextManager[Any]:
        """Not on a cluster: a generator lives in its replica's process.

        Raises:
            SchedulerError: Always.

        Example:
            >>> with cluster.lease("gemma-3-270m"):  # doctest: +SKIP
            ...     pass
        """
        raise SchedulerError(
            f"cannot lease {model_id!r} from a cluster: generators live in the replicas",
            hint="use Studio.run / submit, or a local Studio for streaming",
        )

    # -- routing -------------------------------------------------------------------------------

    def _pick(self, call: _Call) -> ReplicaInfo:
        """Multiplexing first, then the least-loaded replica with room, then any replica the model fits.

        A holder with ``spill_at`` requests in flight passes the next one to a less busy replica with room,
        which loads the model too: a hot model spreads over more replicas. Among equals, the replica on this
        process's node wins (a job's files stay on its node), and a job's router (:meth:`attach`) takes its
        node's replica, when it has room, over an equally busy holder elsewhere: jobs spread over the nodes,
        so their models do too. Replicas whose node lacks the model's weights come last.
        """
        need = call.spec.memory_bytes or 0
        model = call.spec.id
        with self._lock:
            fits = [r for r in self.replicas if r.budget >= need]
            if not fits:
                biggest = max((r.budget for r in self.replicas), default=0)
                raise OutOfDeviceMemoryError(
                    f"{model} needs {need} bytes; the largest replica budget is {biggest}",
                    hint="add a node with more memory, or pick a smaller or quantised model",
                )
            fits = [r for r in fits if model not in r.lacks] or fits
            fresh = [r for r in fits if not r.dead and r.name not in call.tried]
            pool = fresh or [r for r in fits if not r.dead] or fits  # a dead one may have restarted

            def load(replica: ReplicaInfo) -> tuple[int, bool, int, str]:
                return replica.inflight, replica.node != self._here, -replica.free, replica.name

            holders = [r for r in pool if model in r.holds]
            if not self._owner:  # a job's router: its node's replica with room is as good as a holder elsewhere
                holders += [r for r in pool if r.node == self._here and model not in r.holds and r.free >= need]
            holder = min(holders, key=load, default=None)
            roomy = min((r for r in pool if model not in r.holds and r.free >= need), key=load, default=None)
            if holder is not None and (
                holder.inflight < self.spill_at or not roomy or roomy.inflight >= holder.inflight
            ):
                chosen = holder
            else:
                chosen = roomy or min(pool, key=load)
            if model not in chosen.holds:
                chosen.holds[model] = need
                while chosen.free < 0 and len(chosen.holds) > 1:  # its scheduler evicts; forget the oldest
                    chosen.holds.pop(next(m for m in chosen.holds if m != model))
            chosen.inflight += 1
            return chosen

    def _dispatch(self, call: _Call, replica: ReplicaInfo | None = None) -> None:
        if replica is None:  # a retry: a failure to pick goes to the caller's future
            try:
                replica = self._pick(call)
            except AigcError as exc:
                _finish(call.future, error=exc)
                return
        call.tried.append(replica.name)
        ref = replica.actor.run.remote(call.spec, call.request, call.priority, call.timeout)
        ref.future().add_done_callback(lambda done: self._settle(call, replica, done))

    def _settle(self, call: _Call, replica: ReplicaInfo, done: concurrent.futures.Future[Any]) -> None:
        ray = _ray()
        with self._lock:
            replica.inflight -= 1
        try:
            ok, value = done.result()
        except ray.exceptions.RayActorError as exc:
            with self._lock:
                replica.dead = True
                replica.holds.clear()
                call.deaths += 1
                retry = call.deaths <= self.max_retries and not self._closed and not call.future.done()
                self._retries += int(retry)
            if retry:
                self._dispatch(call)
            else:
                died = SchedulerError(f"{replica.name} died running {call.spec.id}: {exc}", retryable=True)
                _finish(call.future, error=died)
            return
        except Exception as exc:  # a bug in a replica, not a typed error: keep Ray's traceback as the cause
            failed = GenerationError(f"{replica.name} failed on {call.spec.id}: {exc}")
            failed.__cause__ = exc
            _finish(call.future, error=failed)
            return
        with self._lock:
            replica.dead = False
            if not ok and isinstance(value, ModelNotAvailableError):  # this node lacks the weights: try another
                replica.lacks.add(call.spec.id)
                replica.holds.pop(call.spec.id, None)
                self._missing += 1
                others = [r for r in self.replicas if r.name not in call.tried and not r.dead]
                if others and not self._closed and not call.future.done():
                    ok = None  # sent on below
        if ok is None:
            self._dispatch(call)
            return
        if ok:
            with self._lock:
                replica.lacks.discard(call.spec.id)  # its weights were fetched meanwhile
        _finish(call.future, value=value if ok else None, error=None if ok else value)

    # -- metrics and lifecycle -----------------------------------------------------------------

    def metrics(self, timeout: float = 10.0) -> ClusterMetrics:
        """Totals over the replicas, plus each replica's queue depths, loaded models and batch sizes.

        Example:
            >>> cluster.metrics().replicas["replica-0"].loaded  # doctest: +SKIP
            {'en-joe': 'cpu'}
        """
        ray = _ray()
        per: dict[str, SchedulerMetrics] = {}
        unreachable = []
        refs = [(r.name, r.actor.metrics.remote()) for r in self.replicas]
        for name, ref in refs:
            try:
                per[name] = ray.get(ref, timeout=timeout)
            except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
                unreachable.append(name)
        return _total(per, retries=self._retries, missing=self._missing, unreachable=tuple(unreachable))

    def shutdown(self, wait: bool = True, *, cancel_pending: bool = False) -> None:
        """Drain the replicas (``wait``), stop them, and stop Ray if this scheduler started it.

        An attached scheduler (:meth:`attach`) only stops taking requests: the replicas are its owner's.

        Example:
            >>> cluster.shutdown()  # doctest: +SKIP
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if not self._owner:
            return
        ray = _ray()
        if wait and not cancel_pending:
            refs = [r.actor.close.remote() for r in self.replicas if not r.dead]
            with contextlib.suppress(ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
                ray.get(refs, timeout=60)  # a replica that cannot drain is killed below
        for replica in self.replicas:
            ray.kill(replica.actor, no_restart=True)
        if self._owns_ray:
            ray.shutdown()

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` was called.

        Example:
            >>> cluster.closed  # doctest: +SKIP
            False
        """
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def _node_here() -> str:
    """The Ray node this process runs on ("" when it cannot say)."""
    with contextlib.suppress(Exception):  # a Ray Client connection has no node of its own
        return str(_ray().get_runtime_context().get_node_id())
    return ""


def _finish(future: concurrent.futures.Future[Any], *, value: Any = None, error: BaseException | None = None) -> None:
    """Settle ``future`` once; a caller may have cancelled it meanwhile (then the outcome is dropped)."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


def _total(
    per: Mapping[str, SchedulerMetrics], *, retries: int, missing: int, unreachable: tuple[str, ...]
) -> ClusterMetrics:
    """Sum the replicas' metrics (latency percentiles are not summable: the worst replica's)."""
    sums: dict[str, Any] = {}
    counters = ("submitted", "completed", "failed", "cancelled", "timed_out", "batches", "loads", "evictions")
    for name in (*counters, "load_failures", "oom_splits", "isolations"):
        sums[name] = sum(getattr(m, name) for m in per.values())
    queue: dict[str, int] = {}
    running: dict[str, int] = {}
    sizes: dict[int, int] = {}
    loaded: dict[str, str] = {}
    for replica, m in per.items():
        for model, depth in m.queue_depth.items():
            queue[model] = queue.get(model, 0) + depth
        for model, count in m.running.items():
            running[model] = running.get(model, 0) + count
        for size, count in m.batch_sizes.items():
            sizes[size] = sizes.get(size, 0) + count
        loaded.update({model: f"{replica}/{device}" for model, device in m.loaded.items()})
    batched = sum(size * count for size, count in sizes.items())
    worst = {
        name: max((v for m in per.values() if (v := getattr(m, name)) is not None), default=None)
        for name in ("latency_p50_s", "latency_p95_s", "latency_p99_s")
    }
    return ClusterMetrics(
        replicas=dict(per),
        retries=retries,
        missing_weights=missing,
        unreachable=unreachable,
        queue_depth=queue,
        running=running,
        loaded=loaded,
        batch_sizes=sizes,
        mean_batch_size=batched / sums["batches"] if sums["batches"] else 0.0,
        **sums,
        **worst,
    )
