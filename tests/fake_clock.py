"""A lesson clock that never waits, for the tests of keys and pacing.

:class:`convsim.lesson.keys.Clock` is what the player asks for the time and
for a pause; this one answers from a number that only its ``sleep`` moves, so
a test can check how long a frame was held without taking that long.
"""

from __future__ import annotations

from convsim.lesson.keys import Clock


class FakeClock(Clock):
    def __init__(self):
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
