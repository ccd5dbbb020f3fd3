"""How many questions the API and MCP work on at once: a gate shared by both (the page has
its own queue). At most `RUNNING` run and `WAITING` more wait; the next is refused at once
(`Busy`: 503 with Retry-After, or an MCP tool error), never left hanging."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio

RUNNING = 4  # questions worked on at once (as the page's queue)
WAITING = 64  # questions waiting at most; the next is told to retry
RETRY_AFTER_S = 2

T = TypeVar("T")


class Busy(Exception):
    """Every running and waiting place is taken."""


class Ticket:
    """One request's place at the gate: counted from admission, running once entered,
    released exactly once however the request ends (done, failed, the client gone)."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._running = False
        self._released = False

    async def __aenter__(self) -> Ticket:
        await self._gate._slots.acquire()
        self._running = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._running:
            self._gate._slots.release()
        self._gate._admitted -= 1


class Gate:
    """At most `running` requests at work and `waiting` more queued. Used from one event
    loop (the server's, or the stdio MCP server's)."""

    def __init__(self, running: int, waiting: int) -> None:
        self._slots = asyncio.Semaphore(running)
        self._running = running
        self._limit = running + waiting
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Requests holding a place, running or waiting."""
        return self._admitted

    @property
    def free_slots(self) -> int:
        """Places to run that no request holds."""
        return self._slots._value

    def admit(self) -> Ticket:
        if self._admitted >= self._limit:
            raise Busy
        self._admitted += 1
        return Ticket(self)

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` in a worker thread once a place is free; Busy when none will be."""
        ticket = self.admit()
        try:
            async with ticket:
                return await anyio.to_thread.run_sync(work)
        finally:
            ticket.release()


def default_gate() -> Gate:
    return Gate(RUNNING, WAITING)


__all__ = ["RETRY_AFTER_S", "RUNNING", "WAITING", "Busy", "Gate", "Ticket", "default_gate"]
