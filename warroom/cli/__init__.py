"""The `warroom` command: one module per command group (contract in DESIGN.md).

main      the parser (a loop over the groups' subparsers) and errors as one line
options   the parser's parts, options several commands share, argparse types
output    warnings on stderr, files written whole
incident  new, note, status, check, sessions, postmortem
share     join, share init
watch     watch, replay, demo
sample    sample --json;  doctor  doctor;  serve  serve
"""

from warroom.cli.main import build_parser, main
from warroom.cli.options import CliError, UsageError

__all__ = ["CliError", "UsageError", "build_parser", "main"]
