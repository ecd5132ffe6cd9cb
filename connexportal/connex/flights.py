"""Identical reads of one account that are in flight at the same time share one call.

When several threads of a process ask Connex the same question for the same account at once
(forty people opening one merchant's products page, a dashboard and a page together), the first
sends the call and the others wait for its answer instead of sending their own: Connex's
per-account rate limit is spent once, and the answer is the one each would have got a moment
later. Only reads share (``routes.READ_ROUTES``); a write is never shared.

The key binds the exact credentials (``tokens.account_key``), the method, the URL and the body,
so a reader never receives another account's answer nor an answer to another question.

Read-your-writes: every write of an account (whatever its outcome) starts a new generation of
its flights, so a read that begins after a write returns never joins a read that began before
it. Other processes cannot see this process's writes; there, at most one call already in flight
when the write returns can still be joined.

The answer shared is the parsed one (frozen models): the sender parses it once for everybody.
Only answers are shared. When the first caller's call fails, each waiting caller makes its own
call, with its own retries, time budget and throttle, as if it had been alone.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    answer: Any = None
    failed: bool = False
    joined: int = 0


class ReadFlights:
    """The reads in flight in this process, by account and question. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[tuple, _Flight] = {}
        self._generations: dict[str, int] = {}

    def share(self, account: str, question: Hashable, call: Callable[[], Any]) -> tuple[Any, bool]:
        """``call()``'s answer, or the answer of the identical call already in flight.

        Returns (answer, shared): ``shared`` is True when this caller sent nothing itself.
        """
        with self._lock:
            key = (account, self._generations.get(account, 0), question)
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
            else:
                flight.joined += 1
        if not leader:
            flight.done.wait()
            with self._lock:
                flight.joined -= 1
            if not flight.failed:
                return flight.answer, True
            return call(), False
        try:
            flight.answer = call()
        except BaseException:
            flight.failed = True
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()
        return flight.answer, False

    def wrote(self, account: str) -> None:
        """A write of ``account`` returned: later reads do not join reads begun before it."""
        with self._lock:
            self._generations[account] = self._generations.get(account, 0) + 1

    def waiting(self) -> int:
        """How many callers wait for another's call right now."""
        with self._lock:
            return sum(flight.joined for flight in self._flights.values())


# The process's reads, shared by every ConnexClient like the login flights (tokens.LOGIN_FLIGHTS).
READ_FLIGHTS = ReadFlights()


class ParsedAnswers:
    """The parsed form of the latest answers, by their exact bytes, for reads that come back
    the same: a page reloaded, a status polled every two seconds, a list many people open.

    Parsing a page of 25 products costs a third of a millisecond, more in a busy process; an
    answer identical byte for byte to one parsed lately gets the same frozen models back. The
    key is a digest of the answer's bytes (and the parser), so an answer can only ever map to
    what parsing those bytes gives, whoever fetched it. Holds at most ``max_bytes`` of answers
    (their parsed forms take several times that: about 10-20 MB for the default 2 MB); an answer
    over an eighth of that is parsed and not kept. Thread-safe.
    """

    def __init__(self, max_bytes: int = 2 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def parse[T](self, parse: Callable[[bytes], T], content: bytes) -> T:
        if len(content) > self.max_bytes // 8:
            return parse(content)
        key = (parse, hashlib.blake2b(content, digest_size=20).digest())
        with self._lock:
            known = self._answers.get(key)
            if known is not None:
                self._answers.move_to_end(key)
                return known[0]
        answer = parse(content)  # a ValidationError is raised, and nothing kept
        with self._lock:
            if key not in self._answers:
                self._answers[key] = (answer, len(content))
                self._bytes += len(content)
                while self._bytes > self.max_bytes:
                    _, (_, size) = self._answers.popitem(last=False)
                    self._bytes -= size
        return answer


PARSED_ANSWERS = ParsedAnswers()
