"""Notifications: ``[[notify]]`` destinations fed from a durable outbox by a sender thread.

For callers: ``publish(event)`` queues an event (fsynced on return; not on the UI thread),
``publish_soon(event)`` hands one off without I/O; build events with ``warroom.notify.events``
(``alert``, ``finding``, ``opened``, ``status``, ``note``, ``resolved``). ``hooks`` holds the
few lines the dashboard and the CLI call.
"""

from __future__ import annotations

import logging

from warroom.notify.events import Event

# Failures are logged for headless use (hooks.warnings_to_stderr); without that, say nothing:
# logging's last resort would print over the dashboard.
logging.getLogger("warroom.notify").addHandler(logging.NullHandler())


def publish(event: Event) -> int:
    """Queue ``event`` for every destination that wants it; returns when fsynced (how many).
    Reads the config on first use (ConfigError when it is bad)."""
    from warroom.notify.worker import get

    return get().publish(event)


def publish_soon(event: Event) -> None:
    """Hand ``event`` to the sender thread without touching the disk (for the UI thread); a
    no-op until ``publish`` or ``hooks.watch`` has read the config in this process."""
    from warroom.notify.worker import current

    notifier = current()
    if notifier is not None:
        notifier.publish_soon(event)


__all__ = ["Event", "publish", "publish_soon"]
