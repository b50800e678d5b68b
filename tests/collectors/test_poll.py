"""The one poll loop: never two samples of a source in flight, errors survived, count and exit."""

from __future__ import annotations

import threading
import time

from warroom.collectors.poll import Poller


def _until(condition, deadline_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.01)


def test_a_slow_sample_is_never_overlapped_by_the_next() -> None:
    in_flight = 0
    most = 0
    done: list[int] = []
    lock = threading.Lock()

    def sample() -> int:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.05)  # slower than the interval: the loop must wait for it, not pile up
        with lock:
            in_flight -= 1
        return len(done)

    poller: Poller[int] = Poller("slow", sample, done.append, 0.01, count=5, min_wait=0.0)
    poller.start()
    poller.join(10)
    assert done == [0, 1, 2, 3, 4]
    assert most == 1


def test_a_failing_sample_is_reported_and_sampling_goes_on() -> None:
    calls = 0
    errors: list[str] = []
    got: list[str] = []

    def sample() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("collector bug")
        return "ok"

    poller: Poller[str] = Poller("flaky", sample, got.append, 0.01,
                                 on_error=lambda exc: errors.append(str(exc)))  # fmt: skip
    poller.start()
    try:
        _until(lambda: len(got) >= 2)
    finally:
        poller.stop()
    assert errors == ["collector bug"]


def test_stopping_from_the_error_callback_ends_the_loop_and_runs_on_exit_on_its_thread() -> None:
    exited_on: list[str] = []
    calls = 0

    def sample() -> None:
        nonlocal calls
        calls += 1
        raise OSError("gone")

    poller: Poller[None] = Poller(
        "fatal", sample, lambda _r: None, 0.01,
        on_error=lambda _exc: poller.stop(),
        on_exit=lambda: exited_on.append(threading.current_thread().name),
    )  # fmt: skip
    poller.start()
    poller.join(10)
    assert calls == 1
    assert exited_on == ["warroom-fatal"]


def test_a_result_that_lands_after_stop_is_not_delivered() -> None:
    release = threading.Event()
    started = threading.Event()
    got: list[int] = []

    def sample() -> int:
        started.set()
        release.wait(10)
        return 1

    poller: Poller[int] = Poller("late", sample, got.append, 0.01)
    poller.start()
    assert started.wait(10)
    assert poller.busy_since is not None
    poller.stop()
    release.set()
    poller.join(10)
    assert got == []
