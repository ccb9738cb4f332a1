"""The model pool's memory bookkeeping: which model holds how much of which device, and who to evict.

The pool decides; the scheduler acts. :class:`ModelPool` is not thread-safe on
its own: the scheduler calls it with its lock held, and does the slow parts
(loading, closing, moving) outside the lock. :func:`plan_memory` runs the same
placement rules on paper, so a memory plan matches what the scheduler will do.

Example:
    >>> from aigc_sdk.runtime.pool import ModelPool
    >>> pool = ModelPool({"cpu": 250})
    >>> a = pool.entry("a", 100)
    >>> room = pool.find_room(a)
    >>> room.device, room.victims
    ('cpu', ())
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from aigc_sdk.errors import ModelLoadError, OutOfDeviceMemoryError
from aigc_sdk.registry.spec import ModelSpec

if TYPE_CHECKING:
    from aigc_sdk.registry.loader import Generator

__all__ = [
    "Evicted",
    "MemoryPlan",
    "ModelPool",
    "ModelState",
    "PoolEntry",
    "Room",
    "Wait",
    "format_bytes",
    "plan_memory",
]


def format_bytes(n: int) -> str:
    """Bytes as a short human string (powers of 1024).

    Example:
        >>> format_bytes(512), format_bytes(3 * 1024**3)
        ('512 B', '3.0 GiB')
    """
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


class ModelState(enum.Enum):
    """Where a model is in its life in the pool.

    Example:
        >>> ModelState.READY.value
        'ready'
    """

    UNLOADED = "unloaded"
    LOADING = "loading"  # memory reserved, the loader is running
    READY = "ready"  # on its device; holds its bytes of the budget
    PARKING = "parking"  # being moved to the CPU after eviction (offload policy)
    PARKED = "parked"  # in host memory, outside every budget; moved back on the next request


@dataclasses.dataclass(eq=False)
class PoolEntry:
    """One model's place in the pool.

    Example:
        >>> e = PoolEntry("m", need=10)
        >>> e.state, e.evictable
        (<ModelState.UNLOADED: 'unloaded'>, False)
    """

    model_id: str
    need: int
    kinds: tuple[str, ...] = ("cuda", "mps", "cpu")
    state: ModelState = ModelState.UNLOADED
    device: str | None = None
    generator: Generator[Any, Any] | None = None
    busy: bool = False
    last_used: int = 0
    yield_requests: int = 0

    @property
    def evictable(self) -> bool:
        """Loaded, idle and not loading: the only models eviction may touch.

        Example:
            >>> PoolEntry("m", need=1, state=ModelState.READY, device="cpu").evictable
            True
        """
        return self.state is ModelState.READY and not self.busy


@dataclasses.dataclass(frozen=True)
class Room:
    """Room for a model on ``device`` once ``victims`` (idle, least recently used first) are evicted.

    Example:
        >>> Room("cpu", ()).victims
        ()
    """

    device: str
    victims: tuple[PoolEntry, ...]


@dataclasses.dataclass(frozen=True)
class Wait:
    """No room now; it frees up when the busy ``blockers`` on ``device`` go idle.

    Example:
        >>> Wait("cuda:0", ()).device
        'cuda:0'
    """

    device: str
    blockers: tuple[PoolEntry, ...]


@dataclasses.dataclass(frozen=True)
class Evicted:
    """A model taken off its device by :meth:`ModelPool.reserve`; the caller closes or parks it.

    Example:
        >>> Evicted(PoolEntry("m", need=1), None, "cpu").device
        'cpu'
    """

    entry: PoolEntry
    generator: Generator[Any, Any] | None
    device: str


class ModelPool:
    """Memory bookkeeping of the models on each device, with least-recently-used eviction.

    Args:
        budgets: Bytes per device, in the order devices are tried.

    Example:
        >>> pool = ModelPool({"cpu": 250})
        >>> for model_id in ("a", "b"):
        ...     entry = pool.entry(model_id, 100)
        ...     _ = pool.reserve(entry, pool.find_room(entry), park=False)
        ...     pool.loaded(entry, generator=None)
        >>> c = pool.entry("c", 100)
        >>> [v.model_id for v in pool.find_room(c).victims]
        ['a']
    """

    def __init__(self, budgets: Mapping[str, int]) -> None:
        self.budgets: dict[str, int] = dict(budgets)
        self.used: dict[str, int] = dict.fromkeys(self.budgets, 0)
        self.entries: dict[str, PoolEntry] = {}
        self._tick = 0

    def entry(self, model_id: str, need: int, kinds: tuple[str, ...] | None = None) -> PoolEntry:
        """The entry of ``model_id``, created on first use; ``need`` and ``kinds`` update it while it holds no memory.

        ``kinds`` are the device kinds (``cuda``, ``mps``, ``cpu``) the model may go on; None: any.

        Example:
            >>> ModelPool({"cpu": 1}).entry("m", 5).need
            5
        """
        entry = self.entries.get(model_id)
        if entry is None:
            entry = self.entries[model_id] = PoolEntry(model_id, need=need)
        if entry.device is None:
            entry.need = need
            if kinds is not None:
                entry.kinds = tuple(kinds)
        return entry

    def allowed(self, entry: PoolEntry) -> list[str]:
        """The devices ``entry`` may go on, in budget order: those of its kinds, accelerators first.

        A model that can use an accelerator the pool has goes only on accelerators (it would
        run far slower on the CPU); the CPU takes the models that run only there.

        Example:
            >>> pool = ModelPool({"cuda:0": 100, "cpu": 100})
            >>> pool.allowed(pool.entry("voice", 10, kinds=("cpu",))), pool.allowed(pool.entry("lm", 10))
            (['cpu'], ['cuda:0'])
        """
        devices = [d for d in self.budgets if d.split(":")[0] in entry.kinds]
        return [d for d in devices if d != "cpu"] or devices

    def touch(self, entry: PoolEntry) -> None:
        """Mark ``entry`` as the most recently used.

        Example:
            >>> pool = ModelPool({"cpu": 1})
            >>> e = pool.entry("m", 0)
            >>> pool.touch(e); e.last_used
            1
        """
        self._tick += 1
        entry.last_used = self._tick

    def free(self, device: str) -> int:
        """Bytes of ``device``'s budget not held by any model.

        Example:
            >>> ModelPool({"cpu": 10}).free("cpu")
            10
        """
        return self.budgets[device] - self.used[device]

    def residents(self, device: str) -> list[PoolEntry]:
        """Models holding memory on ``device``, least recently used first.

        Example:
            >>> ModelPool({"cpu": 10}).residents("cpu")
            []
        """
        found = [e for e in self.entries.values() if e.device == device]
        return sorted(found, key=lambda e: e.last_used)

    def why_no_room(self, entry: PoolEntry) -> ModelLoadError | OutOfDeviceMemoryError:
        """The error for a model that fits no device: none of its kinds, or each one's budget is too small.

        Example:
            >>> pool = ModelPool({"cuda:0": 100})
            >>> pool.why_no_room(pool.entry("voice", 10, kinds=("cpu",))).message
            'voice runs on cpu only, and the scheduler has none of those devices (cuda:0)'
        """
        allowed = self.allowed(entry)
        if not allowed:
            return ModelLoadError(
                f"{entry.model_id} runs on {', '.join(entry.kinds)} only, and the scheduler has none of those "
                f"devices ({', '.join(self.budgets)})",
                hint="give the scheduler such a device: GpuScheduler(budgets={...})",
            )
        return OutOfDeviceMemoryError(
            f"{entry.model_id} needs {format_bytes(entry.need)}, more than any device budget "
            f"({', '.join(f'{d} {format_bytes(self.budgets[d])}' for d in allowed)})",
            retryable=False,
        )

    def use_memory_savers(self, entry: PoolEntry, spec: ModelSpec) -> bool:
        """Lower ``entry``'s need to what ``spec`` needs with its memory savers on; False if that saves nothing.

        The spec option ``memory_savers_bytes`` declares it (attention slicing, VAE tiling,
        CPU offload). The scheduler and :func:`plan_memory` turn savers on only for a model
        larger than every budget.

        Example:
            >>> from aigc_sdk.registry import LocalSource, ModelSpec
            >>> spec = ModelSpec(id="sd", task="text-to-image", backend="x.Y", source=LocalSource(path="."),
            ...                  memory_bytes=500, options={"memory_savers_bytes": 80})
            >>> pool = ModelPool({"cpu": 100})
            >>> entry = pool.entry("sd", 500)
            >>> pool.find_room(entry) is None, pool.use_memory_savers(entry, spec), entry.need
            (True, True, 80)
        """
        value = spec.options.get("memory_savers_bytes")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < entry.need:
            return False
        entry.need = int(value)
        return True

    def find_room(self, entry: PoolEntry) -> Room | Wait | None:
        """Where ``entry`` can go: a :class:`Room`, a :class:`Wait`, or ``None`` when it fits nowhere.

        A device where it fits as things stand wins (the one with the most free
        memory); otherwise the first device where evicting idle models, least
        recently used first, makes room. Busy and loading models are never victims.

        Example:
            >>> pool = ModelPool({"cuda:0": 100, "cuda:1": 300})
            >>> pool.find_room(pool.entry("m", 200)).device
            'cuda:1'
            >>> pool.find_room(pool.entry("huge", 400)) is None
            True
        """
        need = entry.need
        candidates = [d for d in self.allowed(entry) if self.budgets[d] >= need]
        if not candidates:
            return None
        fitting = [d for d in candidates if self.free(d) >= need]
        if fitting:
            return Room(max(fitting, key=self.free), ())
        for device in candidates:
            free = self.free(device)
            victims: list[PoolEntry] = []
            for resident in self.residents(device):
                if free >= need:
                    break
                if resident.evictable and resident is not entry:
                    victims.append(resident)
                    free += resident.need
            if free >= need:
                return Room(device, tuple(victims))
        device = candidates[0]
        free = self.free(device) + sum(r.need for r in self.residents(device) if r.evictable)
        blockers: list[PoolEntry] = []
        for resident in self.residents(device):
            if free >= need:
                break
            if resident.state is ModelState.READY and resident.busy:
                blockers.append(resident)
                free += resident.need
        return Wait(device, tuple(blockers))

    def reserve(self, entry: PoolEntry, room: Room, *, park: bool) -> list[Evicted]:
        """Evict ``room.victims`` and reserve ``entry.need`` bytes on ``room.device`` for ``entry``.

        Victims leave the budget at once; with ``park`` those not on the CPU go to
        ``PARKING`` (the caller moves them and calls :meth:`parked`), the others to
        ``UNLOADED`` (the caller closes them).

        Example:
            >>> pool = ModelPool({"cpu": 10})
            >>> e = pool.entry("m", 4)
            >>> pool.reserve(e, pool.find_room(e), park=False), pool.free("cpu"), e.state.value
            ([], 6, 'loading')
        """
        evicted: list[Evicted] = []
        for victim in room.victims:
            device = victim.device
            assert device is not None
            assert victim.evictable
            self.used[device] -= victim.need
            evicted.append(Evicted(victim, victim.generator, device))
            victim.state = ModelState.PARKING if park and device != "cpu" else ModelState.UNLOADED
            victim.device = None
            if victim.state is ModelState.UNLOADED:
                victim.generator = None
        entry.state = ModelState.LOADING
        entry.device = room.device
        self.used[room.device] += entry.need
        return evicted

    def loaded(self, entry: PoolEntry, generator: Generator[Any, Any] | None) -> None:
        """Mark a reserved entry as loaded with ``generator``.

        Example:
            >>> pool = ModelPool({"cpu": 10})
            >>> e = pool.entry("m", 4)
            >>> _ = pool.reserve(e, pool.find_room(e), park=False)
            >>> pool.loaded(e, None); e.state.value
            'ready'
        """
        entry.state = ModelState.READY
        entry.generator = generator
        self.touch(entry)

    def parked(self, entry: PoolEntry, generator: Generator[Any, Any] | None) -> None:
        """Finish parking ``entry`` in host memory (``generator``), or mark it unloaded when that is None.

        Example:
            >>> e = PoolEntry("m", need=1, state=ModelState.PARKING)
            >>> ModelPool({"cpu": 1}).parked(e, None); e.state.value
            'unloaded'
        """
        entry.generator = generator
        entry.state = ModelState.UNLOADED if generator is None else ModelState.PARKED

    def release(self, entry: PoolEntry) -> None:
        """Give back ``entry``'s memory and forget its generator (after a failed load, or at shutdown).

        Example:
            >>> pool = ModelPool({"cpu": 10})
            >>> e = pool.entry("m", 4)
            >>> _ = pool.reserve(e, pool.find_room(e), park=False)
            >>> pool.release(e); pool.free("cpu"), e.state.value
            (10, 'unloaded')
        """
        if entry.device is not None:
            self.used[entry.device] -= entry.need
        entry.device = None
        entry.generator = None
        entry.busy = False
        entry.state = ModelState.UNLOADED


class MemoryPlan(BaseModel):
    """How a set of models would be placed, loaded in order, under the device budgets.

    Example:
        >>> plan = MemoryPlan(load_order=("a",), placements={"a": "cpu"}, peak_bytes={"cpu": 5},
        ...                   budgets={"cpu": 10}, evictions=0)
        >>> plan.fits_together
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    load_order: tuple[str, ...] = Field(description="Model ids in the order they are loaded.")
    placements: dict[str, str] = Field(description="Model id -> device it is loaded on.")
    peak_bytes: dict[str, int] = Field(description="Most bytes held at once, per device.")
    budgets: dict[str, int] = Field(description="The budgets the plan was made against.")
    evictions: int = Field(description="Evictions needed along the way (0: all stay loaded together).")
    memory_savers: tuple[str, ...] = Field(
        default=(), description="Models that fit only with their memory savers on (spec option memory_savers_bytes)."
    )

    @property
    def fits_together(self) -> bool:
        """Whether every model stays loaded at once, with no eviction.

        Example:
            >>> MemoryPlan(load_order=(), placements={}, peak_bytes={}, budgets={}, evictions=2).fits_together
            False
        """
        return self.evictions == 0


def plan_memory(specs: Iterable[ModelSpec], budgets: Mapping[str, int], *, together: bool = False) -> MemoryPlan:
    """Place ``specs`` in order on empty devices with the scheduler's own rules.

    Raises:
        OutOfDeviceMemoryError: A model is larger than every budget, or (with
            ``together``) the models cannot all stay loaded at once. Not retryable.

    Example:
        >>> from aigc_sdk.registry import LocalSource, ModelSpec
        >>> def spec(name, size):
        ...     return ModelSpec(id=name, task="text-generation", backend="x.Y",
        ...                      source=LocalSource(path="."), memory_bytes=size)
        >>> plan = plan_memory([spec("a", 100), spec("b", 100), spec("c", 100)], {"cpu": 250})
        >>> plan.load_order, plan.peak_bytes, plan.evictions
        (('a', 'b', 'c'), {'cpu': 200}, 1)
    """
    pool = ModelPool(budgets)
    order: list[str] = []
    placements: dict[str, str] = {}
    peaks = dict.fromkeys(pool.budgets, 0)
    evictions = 0
    too_big: list[ModelSpec] = []
    savers: list[str] = []
    for spec in specs:
        if spec.id in placements or any(s.id == spec.id for s in too_big):
            continue
        entry = pool.entry(spec.id, spec.memory_bytes or 0, spec.devices)
        room = pool.find_room(entry)
        if room is None and pool.use_memory_savers(entry, spec):  # as the scheduler does
            room = pool.find_room(entry)
            savers.append(spec.id)
        if not pool.allowed(entry):
            raise pool.why_no_room(entry)
        if not isinstance(room, Room):  # nothing is busy on paper, so no Wait: it fits nowhere
            too_big.append(spec)
            continue
        evictions += len(pool.reserve(entry, room, park=False))
        pool.loaded(entry, generator=None)
        order.append(spec.id)
        placements[spec.id] = room.device
        peaks[room.device] = max(peaks[room.device], pool.used[room.device])
    largest = max(pool.budgets.values(), default=0)
    if too_big:
        listing = ", ".join(f"{s.id} ({format_bytes(s.memory_bytes or 0)})" for s in too_big)
        raise OutOfDeviceMemoryError(
            f"does not fit on any device even alone: {listing}; the largest budget is {format_bytes(largest)}",
            hint="raise a device budget, add a device, or pick a smaller or quantised model",
            retryable=False,
        )
    if together and evictions:
        total = sum(pool.entries[m].need for m in order)
        raise OutOfDeviceMemoryError(
            f"{len(order)} models need {format_bytes(total)} loaded together; budgets: "
            + ", ".join(f"{d} {format_bytes(b)}" for d, b in pool.budgets.items()),
            hint="raise the budgets, add a device, or allow the scheduler to evict between steps",
            retryable=False,
        )
    return MemoryPlan(
        load_order=tuple(order),
        placements=placements,
        peak_bytes=peaks,
        budgets=dict(pool.budgets),
        evictions=evictions,
        memory_savers=tuple(m for m in savers if m in placements),
    )
