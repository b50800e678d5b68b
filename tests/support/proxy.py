"""The tests' latency/stall proxy is the demo's decoy proxy (one implementation)."""

from __future__ import annotations

from warroom.drill.proxy import DelayProxy as TcpProxy

__all__ = ["TcpProxy"]
