"""The seat chart (SPEC §12): each agent seat, its one owner, and who may delegate to whom.

`SeatChart.parse` refuses a chart that cannot work (an unknown seat, two owners, a cycle,
a chain deeper than `MAX_DEPTH`) with one line naming the file and the problem, and
`SeatChart.check` is the run-time question "may this seat hand this work to that one?".
`seat_chart()` loads the chart once per file version, so every delegation can ask it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from schemas.errors import ConfigError

MAX_DEPTH = 3
"""Most hand-offs a chain may have, counted from a seat that nobody delegates to."""

SHIPPED = "seats.toml"
"""The chart shipped in the `schemas` package, used when no file is named."""

_KEYS = frozenset({"owner", "job", "delegates_to"})
_NAME = re.compile(r"[a-z0-9_-]+")
_ARROW = " → "


class SeatChartError(ConfigError):
    """A seat chart that cannot be used, or a delegation it refuses."""


@dataclass(frozen=True)
class Seat:
    """One seat of the chart."""

    name: str
    """The seat's name, as in `[seat.NAME]`."""
    owner: str
    """The one person or team accountable for the seat."""
    job: str
    """What the seat does, in one sentence."""
    delegates_to: tuple[str, ...]
    """The seats this one may hand work to."""


@dataclass(frozen=True)
class SeatChart:
    """A validated seat chart: no unknown seat, one owner each, no cycle, depth ≤ MAX_DEPTH."""

    seats: dict[str, Seat]
    """Every seat, by name, in the file's order."""
    source: str
    """Where the chart came from (a path), for messages."""

    @classmethod
    def parse(cls, text: str, source: str) -> SeatChart:
        """Read and validate a chart from TOML text.

        Args:
            text: The chart, in the `[seat.NAME]` format.
            source: Where it came from; every error names it.

        Raises:
            SeatChartError: One line naming `source` and what is wrong.
        """
        tables = _seat_tables(_toml(text, source), source)
        seats = {name: _seat(name, body, source) for name, body in tables.items()}
        chart = cls(seats, source)
        chart._validate()
        return chart

    @classmethod
    def load(cls, path: str | None = None) -> SeatChart:
        """Read and validate the chart at `path`.

        Args:
            path: A TOML file; None (or empty, as an unset environment variable often
                is) means the chart shipped with the package.

        Raises:
            SeatChartError: The file cannot be read, or the chart is invalid.
        """
        if not path:
            return cls.parse(_read_shipped(), str(_shipped()))
        return cls.parse(_read(path), path)

    def check(self, sender: str, receiver: str, depth: int) -> str | None:
        """Why a run-time delegation must be refused, or None when the chart allows it.

        Args:
            sender: The seat handing work on.
            receiver: The seat receiving it.
            depth: This hand-off's count from the root (a root seat's delegation is 1).
        """
        where = f"(seat chart {self.source})"
        if sender not in self.seats:
            return f"unknown seat {sender!r} may not delegate {where}"
        if receiver not in self.seats:
            return f"{sender} may not delegate to unknown seat {receiver!r} {where}"
        if receiver not in self.seats[sender].delegates_to:
            return f"{sender} may not delegate to {receiver} {where}"
        if depth < 1:
            return f"{sender} → {receiver} at depth {depth}: depth counts from 1 {where}"
        if depth > MAX_DEPTH:
            return (
                f"{sender} → {receiver} at depth {depth} is deeper than {MAX_DEPTH} "
                f"hand-offs {where}"
            )
        return None

    def owner_of(self, seat: str) -> str:
        """The one owner of `seat`.

        Raises:
            SeatChartError: The chart has no such seat.
        """
        return self._seat(seat).owner

    def roots(self) -> list[str]:
        """The seats nobody delegates to, sorted."""
        handed = {target for seat in self.seats.values() for target in seat.delegates_to}
        return sorted(set(self.seats) - handed)

    def depth_of(self, seat: str) -> int:
        """Hand-offs on the longest chain from a root to `seat` (a root is 0).

        Raises:
            SeatChartError: The chart has no such seat.
        """
        return len(self.chain_to(seat)) - 1

    def chain_to(self, seat: str) -> list[str]:
        """The longest chain of seats from a root to `seat`, both ends included.

        Raises:
            SeatChartError: The chart has no such seat.
        """
        chain = [self._seat(seat).name]
        while (above := self._longest_from[chain[0]]) is not None:
            chain.insert(0, above)
        return chain

    def deepest_chain(self) -> list[str]:
        """The longest chain in the chart (the first by name among equals)."""
        deepest = max(sorted(self.seats), key=lambda name: len(self.chain_to(name)))
        return self.chain_to(deepest)

    def as_dict(self) -> dict[str, Any]:
        """The chart as JSON-able data: roots first, then breadth-first."""
        return {"source": self.source, "seats": [self._seat_dict(n) for n in self._order()]}

    def _seat(self, name: str) -> Seat:
        if name not in self.seats:
            raise SeatChartError(f"seat chart {self.source}: no seat {name!r}")
        return self.seats[name]

    def _seat_dict(self, name: str) -> dict[str, Any]:
        seat = self.seats[name]
        return {
            "name": seat.name,
            "owner": seat.owner,
            "job": seat.job,
            "delegates_to": list(seat.delegates_to),
            "depth": self.depth_of(name),
        }

    def _order(self) -> list[str]:
        order = self.roots()
        for name in order:
            order.extend(t for t in self.seats[name].delegates_to if t not in order)
        return order

    def _validate(self) -> None:
        _refuse_unknown_targets(self.seats, self.source)
        _refuse_cycles(self.seats, self.source)
        if (deepest := self.deepest_chain()) and len(deepest) - 1 > MAX_DEPTH:
            raise _error(
                self.source,
                f"delegation chain {_ARROW.join(deepest)} has {len(deepest) - 1} hand-offs, "
                f"more than {MAX_DEPTH} (depth counts hand-offs from a seat that nobody "
                "delegates to)",
            )

    @cached_property
    def _longest_from(self) -> dict[str, str | None]:
        """For each seat, the seat above it on its longest chain from a root (None: a root)."""
        above: dict[str, str | None] = {}
        depth: dict[str, int] = {}
        for name in _topological(self.seats):
            parents = sorted(p for p, s in self.seats.items() if name in s.delegates_to)
            best = max(parents, key=lambda p: depth[p], default=None)
            above[name] = best
            depth[name] = 0 if best is None else depth[best] + 1
        return above


_CACHE: dict[str | None, tuple[tuple[int, int, int], SeatChart]] = {}
"""The last chart read from each path, with the file stamp it was read at."""


def seat_chart(path: str | None = None) -> SeatChart:
    """The chart at `path` (None: the shipped one), re-read only when the file changes.

    Raises:
        SeatChartError: The file cannot be read, or the chart is invalid.
    """
    stamp = _stamp(path)
    cached = _CACHE.get(path)
    if stamp is not None and cached is not None and cached[0] == stamp:
        return cached[1]
    chart = SeatChart.load(path)
    if stamp is not None:
        _CACHE[path] = (stamp, chart)
    return chart


def _stamp(path: str | None) -> tuple[int, int, int] | None:
    """The file's identity and version (inode, mtime, size); None when it cannot be told."""
    try:
        info = Path(path or str(_shipped())).stat()
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns, info.st_size)


def _error(source: str, problem: str) -> SeatChartError:
    return SeatChartError(" ".join(f"seat chart {source}: {problem}".splitlines()))


def _shipped() -> Traversable:
    return resources.files("schemas").joinpath(SHIPPED)


def _read_shipped() -> str:
    try:
        return _shipped().read_text(encoding="utf-8")
    except OSError as exc:
        raise _error(
            str(_shipped()),
            f"the shipped chart cannot be read ({exc}); reinstall "
            "coachgraph or set COACHGRAPH_SEATS",
        ) from None


def _read(path: str) -> str:
    if Path(path).is_dir():
        raise _error(path, "is a directory, not a TOML file")
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(path, "no such file") from None
    except UnicodeDecodeError:
        raise _error(path, "not UTF-8 text") from None
    except OSError as exc:
        raise _error(path, f"cannot be read ({exc.strerror or exc})") from None


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(source, f"not valid TOML: {exc}") from None


def _seat_tables(data: dict[str, Any], source: str) -> dict[str, Any]:
    if extra := sorted(set(data) - {"seat"}):
        raise _error(source, f"unknown top-level keys {extra}; only [seat.NAME] tables belong")
    tables = data.get("seat")
    if not isinstance(tables, dict) or not tables:
        raise _error(source, "no [seat.NAME] tables; the chart needs at least one seat")
    return tables


def _seat(name: str, body: Any, source: str) -> Seat:
    if not _NAME.fullmatch(name):
        raise _error(source, f"seat name {name!r}: use lowercase letters, digits, '_' or '-'")
    if not isinstance(body, dict):
        raise _error(source, f"seat.{name} is not a table; write [seat.{name}] with owner = ...")
    if extra := sorted(set(body) - _KEYS):
        raise _error(source, f"seat {name} has unknown keys {extra}; allowed: {sorted(_KEYS)}")
    job = body.get("job", "")
    if not isinstance(job, str):
        raise _error(source, f"seat {name}: job must be a string, not {job!r}")
    owner = _owner(name, body.get("owner"), source)
    return Seat(name, owner, job.strip(), _delegates(name, body.get("delegates_to", []), source))


def _owner(seat: str, value: Any, source: str) -> str:
    if isinstance(value, list) and len(value) > 1:
        raise _error(source, f"seat {seat} has {len(value)} owners {value!r}; one seat, one owner")
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _error(source, f'seat {seat} has no owner; give owner = "a person or team"')
    if not isinstance(value, str):
        raise _error(source, f"seat {seat}: owner must be a string, not {value!r}")
    return value.strip()


def _delegates(seat: str, value: Any, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(source, f"seat {seat}: delegates_to must be a list of seat names")
    return tuple(dict.fromkeys(value))


def _refuse_unknown_targets(seats: dict[str, Seat], source: str) -> None:
    for seat in seats.values():
        for target in seat.delegates_to:
            if target not in seats:
                raise _error(
                    source,
                    f"seat {seat.name} delegates to unknown seat {target!r} "
                    f"(no [seat.{target}] table)",
                )


def _refuse_cycles(seats: dict[str, Seat], source: str) -> None:
    if not (cycle := _cycle(seats)):
        return
    if len(cycle) == 2:
        raise _error(source, f"delegation cycle {_ARROW.join(cycle)}: a seat delegates to itself")
    raise _error(source, f"delegation cycle {_ARROW.join(cycle)}: work would come back around")


def _topological(seats: dict[str, Seat]) -> list[str]:
    """Seats in an order where each comes after every seat that delegates to it (Kahn)."""
    waiting = {name: 0 for name in seats}
    for seat in seats.values():
        for target in seat.delegates_to:
            waiting[target] += 1
    order = sorted(name for name, count in waiting.items() if count == 0)
    for name in order:
        for target in seats[name].delegates_to:
            waiting[target] -= 1
            if waiting[target] == 0:
                order.append(target)
    return order


def _cycle(seats: dict[str, Seat]) -> list[str]:
    """One delegation cycle, as seats from and back to the first by name; [] when none.

    The seats a topological sort cannot place each have a delegator among themselves, so
    walking up from one of them must come round to a seat already walked.
    """
    stuck = sorted(set(seats) - set(_topological(seats)))
    if not stuck:
        return []
    walked = [stuck[0]]
    while True:
        above = min(p for p in stuck if walked[-1] in seats[p].delegates_to)
        if above in walked:
            loop = list(reversed(walked[walked.index(above) :]))
            start = loop.index(min(loop))
            loop = loop[start:] + loop[:start]
            return [*loop, loop[0]]
        walked.append(above)
