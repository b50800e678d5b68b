"""Findings: rules that read the evidence in samples and say what it points at (see engine.py)."""

from warroom.collectors.findings.config import FindingsConfig, parse_findings
from warroom.collectors.findings.engine import FindingsEngine, default_rules
from warroom.collectors.findings.model import (
    Context,
    Finding,
    FindingEvent,
    Rule,
    Severity,
    Transition,
)

__all__ = [
    "Context", "Finding", "FindingEvent", "FindingsConfig", "FindingsEngine", "Rule",
    "Severity", "Transition", "default_rules", "parse_findings",
]  # fmt: skip
