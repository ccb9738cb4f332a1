"""Placement: acquire a model on a device with room, load it, evict idle ones. The pool decides; this acts.

:class:`~aigc_sdk.runtime.pool.ModelPool` keeps the books (which model holds how much of
which device, who is evictable). :class:`Placement` carries its decisions out: it waits
for room (asking busy models to yield), reserves memory, evicts victims (closing them,
or parking them on the CPU), loads the model through the loader, and gives memory back
when a model fails to load or its worker retires. Like the request queue, it shares the
scheduler's lock; slow work (loading, closing, moving) runs outside it.

Example:
    >>> import threading
    >>> from aigc_sdk.runtime.metrics import Stats
    >>> from aigc_sdk.runtime.placement import Placement
    >>> placement = Placement(threading.Lock(), Stats(), print, budgets={"cpu": 1000}, wake=lambda model_id: None)
    >>> placement.pool.budgets
    {'cpu': 1000}
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from aigc_sdk.errors import MissingDependencyError, ModelError, ModelLoadError
from aigc_sdk.registry.loader import load
from aigc_sdk.registry.spec import ModelSpec
from aigc_sdk.runtime.devices import default_budget, detect_devices, empty_cache
from aigc_sdk.runtime.metrics import ModelEvicted, ModelLoaded, SchedulerEvent, Stats
from aigc_sdk.runtime.pool import Evicted, ModelPool, ModelState, PoolEntry, Room

if TYPE_CHECKING:
    from aigc_sdk.registry.loader import Generator

__all__ = ["EvictionPolicy", "Loader", "Placement", "load_generator"]

logger = logging.getLogger(__name__)

#: What to do with an idle model evicted to make room: close it, or move it to the CPU.
EvictionPolicy = Literal["drop", "offload"]
#: Creates a generator for a spec on a device: ``loader(spec, device)``.
Loader = Callable[[ModelSpec, str], "Generator[Any, Any]"]


def load_generator(spec: ModelSpec, device: str) -> Generator[Any, Any]:
    """The scheduler's default loader: the registry's one loader (:func:`aigc_sdk.registry.load`), default policy.

    So a scheduler used directly applies the same weights policy as ``ModelRegistry.create``:
    no pickle weights unless the spec allows them, locked hashes checked, the backend
    imported by its dotted path.

    Raises:
        ModelNotAvailableError: The weights are not on disk.
        UnsafeModelError: Pickle weights without ``allow_pickle``.
        ModelIntegrityError: A locked file is missing or differs.
        ModelLoadError: The backend module or class does not exist.

    Example:
        >>> import tempfile, pathlib
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> spec = ModelSpec(id="ghost", task="text-generation", backend="no_such_pkg.Ghost",
        ...                  source=LocalSource(path=tempfile.mkdtemp()))
        >>> try:
        ...     load_generator(spec, "cpu")
        ... except ModelLoadError as e:
        ...     print(e.message)
        cannot import 'no_such_pkg' (backend of 'ghost'): the module does not exist
    """
    return load(spec, device)


def _check_generator(obj: object, spec: ModelSpec) -> None:
    """Duck-type the Generator protocol (a custom loader may return anything)."""
    missing = [name for name in ("batch", "to", "close") if not callable(getattr(obj, name, None))]
    if missing:
        raise ModelLoadError(f"the loader returned a {type(obj).__name__} for {spec.id!r}, which lacks {missing}")


class Placement:
    """Acquires models on devices for the scheduler: waits for room, evicts, loads, retires.

    Args:
        lock: The scheduler's lock, shared with the request queue.
        stats: The scheduler's counters.
        emit: Reports a :data:`~aigc_sdk.runtime.SchedulerEvent`.
        devices: Devices in order of preference (default: the keys of ``budgets``, else detected).
        budgets: Bytes per device; missing devices are measured on first use.
        headroom: Fraction of a device's memory left free when its budget is measured.
        loader: Creates a generator: ``loader(spec, device)`` (default: :func:`load_generator`).
        eviction: ``"drop"`` closes evicted models; ``"offload"`` parks them on the CPU.
        wake: Wakes a model's worker (lock held), when a model it held back no longer waits.

    Example:
        >>> import threading
        >>> from aigc_sdk.runtime.metrics import Stats
        >>> placement = Placement(threading.Lock(), Stats(), print, budgets={"cpu": 10}, wake=lambda m: None)
        >>> placement.pool.budgets, placement.snapshot()["memory_used"]
        ({'cpu': 10}, {'cpu': 0})
    """

    def __init__(
        self,
        lock: threading.Lock,
        stats: Stats,
        emit: Callable[[SchedulerEvent], None],
        *,
        devices: Sequence[str] | None = None,
        budgets: Mapping[str, int] | None = None,
        headroom: float = 0.1,
        loader: Loader | None = None,
        eviction: EvictionPolicy = "drop",
        wake: Callable[[str], None],
    ) -> None:
        self.lock = lock
        self.stats = stats
        self.emit = emit
        self.loader: Loader = loader or load_generator
        self.eviction: EvictionPolicy = eviction
        self.room = threading.Condition(lock)  # notified when memory may have freed up
        self._devices = list(devices or budgets or [])
        self._budgets = dict(budgets or {})
        self._headroom = headroom
        self._wake = wake
        self._detect_lock = threading.Lock()
        self._pool: ModelPool | None = None
        self._use: dict[str, threading.Lock] = {}

    @property
    def pool(self) -> ModelPool:
        """The pool, with the devices detected and their budgets measured on first use.

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> Placement(threading.Lock(), Stats(), print, budgets={"cpu": 5}, wake=print).pool.free("cpu")
            5
        """
        pool = self._pool
        if pool is not None:
            return pool
        with self._detect_lock:
            if self._pool is None:
                # The CPU comes last: it runs the models that run only there (eSpeak, the slideshow, ...).
                devices = self._devices or list(dict.fromkeys([*detect_devices(), "cpu"]))
                budgets = {
                    d: self._budgets[d] if d in self._budgets else default_budget(d, headroom=self._headroom)
                    for d in devices
                }
                with self.lock:
                    self._pool = ModelPool(budgets)
            return self._pool

    def use(self, model_id: str) -> threading.Lock:
        """The lock held while ``model_id`` runs a batch or is leased: one at a time.

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> placement = Placement(threading.Lock(), Stats(), print, budgets={"cpu": 5}, wake=print)
            >>> placement.use("m") is placement.use("m")
            True
        """
        with self.lock:
            return self._use.setdefault(model_id, threading.Lock())

    # -- acquiring ------------------------------------------------------------------------------

    def acquire(self, spec: ModelSpec) -> tuple[Generator[Any, Any], str]:
        """``spec``'s model, loaded on a device with room and marked busy, with that device (outside the lock).

        Raises:
            OutOfDeviceMemoryError: It fits on no device (ModelLoadError: none of its device kinds).
            ModelError: The loader failed (other loader errors come as ModelLoadError); its
                memory is given back.

        Example:
            >>> import threading
            >>> from aigc_sdk.generators.base import BaseGenerator
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> from aigc_sdk.types import TextRequest, TextResult
            >>> class Nothing(BaseGenerator[TextRequest, TextResult]):
            ...     request_type = TextRequest
            ...     def _load(self): pass
            ...     def _preprocess(self, requests): return requests
            ...     def _forward(self, inputs): return inputs
            ...     def _postprocess(self, outputs, requests): return []
            >>> spec = ModelSpec(id="m", task="text-generation", backend="x.Nothing", source=LocalSource(path="."),
            ...                  memory_bytes=4)
            >>> stats = Stats()
            >>> placement = Placement(threading.Lock(), stats, lambda e: None, budgets={"cpu": 10},
            ...                       loader=lambda s, d: Nothing(s, device=d), wake=print)
            >>> generator, device = placement.acquire(spec)
            >>> device, stats.loads, placement.pool.free("cpu")
            ('cpu', 1, 6)
        """
        pool = self.pool
        with self.lock:
            entry = pool.entry(spec.id, spec.memory_bytes or 0, spec.devices)
            room = self._wait_for_room(pool, entry, spec)
            if room is None:  # loaded already
                assert entry.generator is not None
                assert entry.device is not None
                entry.busy = True
                return entry.generator, entry.device
            parked = entry.generator if entry.state is ModelState.PARKED else None
            evicted = pool.reserve(entry, room, park=self.eviction == "offload")
            self.stats.evictions += len(evicted)
        for victim in evicted:
            self._evict(victim)
        return self._load_reserved(spec, entry, parked)

    def _wait_for_room(self, pool: ModelPool, entry: PoolEntry, spec: ModelSpec) -> Room | None:
        """Where ``entry`` goes (lock held); None when it is loaded already. Raises when it fits nowhere.

        While busy models hold the memory it needs, they are asked to yield (their workers
        take no new batch) and it waits until one goes idle.
        """
        flagged: list[PoolEntry] = []
        try:
            while True:
                if entry.state is ModelState.READY:
                    return None
                if entry.state is ModelState.PARKING:  # being moved to the CPU by another worker
                    self.room.wait()
                    continue
                decision = pool.find_room(entry)
                if decision is None and entry.device is None and pool.use_memory_savers(entry, spec):
                    continue
                if decision is None:
                    raise pool.why_no_room(entry)
                if isinstance(decision, Room):
                    return decision
                self._unflag(flagged)
                flagged = list(decision.blockers)
                for blocker in flagged:
                    blocker.yield_requests += 1
                self.room.wait()
        finally:
            self._unflag(flagged)

    def _unflag(self, flagged: list[PoolEntry]) -> None:
        """Withdraw yield requests (lock held) and wake the models they held back."""
        for blocker in flagged:
            blocker.yield_requests -= 1
            self._wake(blocker.model_id)
        flagged.clear()

    def _load_reserved(
        self, spec: ModelSpec, entry: PoolEntry, parked: Generator[Any, Any] | None
    ) -> tuple[Generator[Any, Any], str]:
        """Load ``spec`` into the memory reserved for ``entry``; on failure give the memory back and raise."""
        assert entry.device is not None
        device = entry.device
        started = time.perf_counter()
        try:
            generator = self._load(spec, device, parked, savers=entry.need < (spec.memory_bytes or 0))
        except BaseException as exc:
            with self.lock:
                self.pool.release(entry)
                self.stats.load_failures += 1
                self.room.notify_all()
            empty_cache(device)
            if isinstance(exc, ModelError | MissingDependencyError) or not isinstance(exc, Exception):
                raise
            raise ModelLoadError(f"{spec.id} failed to load on {device}: {exc}") from exc
        with self.lock:
            self.pool.loaded(entry, generator)
            entry.busy = True
            self.stats.loads += 1
        self.emit(ModelLoaded(model_id=spec.id, device=device, seconds=time.perf_counter() - started))
        return generator, device

    def _load(
        self, spec: ModelSpec, device: str, parked: Generator[Any, Any] | None, *, savers: bool = False
    ) -> Generator[Any, Any]:
        if parked is not None:
            try:
                return parked.to(device)  # savers, once on, stay on
            except Exception:
                logger.warning("could not move offloaded %r back to %s; loading it again", spec.id, device)
                self._close(spec.id, parked)
        generator = self.loader(spec, device)
        _check_generator(generator, spec)
        if savers:
            try:
                enable = getattr(generator, "enable_memory_savers", None)
                if not callable(enable):
                    raise ModelLoadError(f"{spec.id} declares memory_savers_bytes but its backend has no memory savers")
                enable(attention_slicing=True, vae_tiling=True, cpu_offload=device.startswith("cuda"))
            except BaseException:
                self._close(spec.id, generator)
                raise
        return generator

    # -- giving back ----------------------------------------------------------------------------

    def _entry(self, model_id: str) -> PoolEntry | None:
        return self._pool.entries.get(model_id) if self._pool is not None else None

    def held_back(self, model_id: str) -> bool:
        """Whether ``model_id`` should start no batch: another model waits for its memory (lock held).

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> Placement(threading.Lock(), Stats(), print, budgets={"cpu": 5}, wake=print).held_back("m")
            False
        """
        entry = self._entry(model_id)
        return entry is not None and bool(entry.yield_requests) and entry.state is ModelState.READY

    def claim(self, model_id: str) -> None:
        """A batch of ``model_id`` is in flight (lock held): a loaded model is not evictable from now on.

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> Placement(threading.Lock(), Stats(), print, budgets={"cpu": 5}, wake=print).claim("m")
        """
        entry = self._entry(model_id)
        if entry is not None and entry.state is ModelState.READY:
            entry.busy = True

    def idle(self, model_id: str) -> None:
        """``model_id`` is no longer in use (lock held): evictable again, most recently used.

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> lock = threading.Lock()
            >>> placement = Placement(lock, Stats(), print, budgets={"cpu": 5}, wake=print)
            >>> with lock:
            ...     placement.idle("m")  # nothing loaded yet: it only wakes whoever waits for room
        """
        entry = self._entry(model_id)
        if entry is not None:
            entry.busy = False
            self.pool.touch(entry)
        self.room.notify_all()

    def abandon(self, model_id: str) -> None:
        """Undo a reservation left by a worker that failed while loading (lock held).

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> lock = threading.Lock()
            >>> placement = Placement(lock, Stats(), print, budgets={"cpu": 5}, wake=print)
            >>> with lock:
            ...     placement.abandon("m")  # no reservation to undo
        """
        entry = self._entry(model_id)
        if entry is not None and entry.state is ModelState.LOADING:
            self.pool.release(entry)
        self.room.notify_all()

    def retire(self, model_id: str) -> None:
        """A worker's last act: close its model and give its memory back (outside the lock).

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> Placement(threading.Lock(), Stats(), print, budgets={"cpu": 5}, wake=print).retire("m")
        """
        with self.lock:
            entry = self._entry(model_id)
            if entry is None:
                return
            while entry.state is ModelState.PARKING:
                self.room.wait()
            generator, device = entry.generator, entry.device
            self.pool.release(entry)
            self.room.notify_all()
        if generator is not None:
            self._close(model_id, generator)
            if device is not None:
                empty_cache(device)

    def _evict(self, victim: Evicted) -> None:
        """Close or park a model taken off its device by the pool (outside the lock)."""
        park = self.eviction == "offload" and victim.device != "cpu"
        generator = victim.generator
        if park:
            kept: Generator[Any, Any] | None = None
            if generator is not None:
                try:
                    kept = generator.to("cpu")
                except Exception:
                    logger.warning("could not offload %r to the CPU; closing it", victim.entry.model_id)
                    self._close(victim.entry.model_id, generator)
            with self.lock:
                self.pool.parked(victim.entry, kept)
                self.room.notify_all()
        elif generator is not None:
            self._close(victim.entry.model_id, generator)
        empty_cache(victim.device)
        self.emit(ModelEvicted(model_id=victim.entry.model_id, device=victim.device, policy=self.eviction))

    @staticmethod
    def _close(model_id: str, generator: Generator[Any, Any]) -> None:
        try:
            generator.close()
        except Exception:
            logger.warning("closing %r failed", model_id, exc_info=True)

    def snapshot(self) -> dict[str, Any]:
        """What the metrics show of placement (lock held): loaded, offloaded, memory used, budgets.

        Example:
            >>> import threading
            >>> from aigc_sdk.runtime.metrics import Stats
            >>> Placement(threading.Lock(), Stats(), print, budgets={"cpu": 5}, wake=print).snapshot()["loaded"]
            {}
        """
        pool = self._pool
        entries = pool.entries.values() if pool is not None else ()
        return {
            "loaded": {
                e.model_id: e.device
                for e in entries
                if e.device is not None and e.state in (ModelState.READY, ModelState.LOADING)
            },
            "offloaded": tuple(sorted(e.model_id for e in entries if e.state is ModelState.PARKED)),
            "memory_used": dict(pool.used) if pool is not None else {},
            "budgets": dict(pool.budgets) if pool is not None else {},
        }
