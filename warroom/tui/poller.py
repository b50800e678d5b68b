"""The dashboard's pollers are the one poll loop every consumer shares (collectors/poll.py)."""

from warroom.collectors.poll import Poller

__all__ = ["Poller"]
