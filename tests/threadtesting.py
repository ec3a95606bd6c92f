"""Running test code on several threads at once (import as `from threadtesting import ...`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable


def run_threads(calls: Iterable[Callable[[], object]]) -> list[BaseException]:
    """Run each call on its own thread, all started before any is joined; what they raised (an
    exception in a thread is otherwise lost), in no particular order."""
    errors: list[BaseException] = []

    def guarded(call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as exc:  # surfaced to the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
