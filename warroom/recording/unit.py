"""`warroom record --unit`: a systemd service that runs the recorder as its own user.

No password reaches the unit (units are world-readable under /etc/systemd): the DSNs are
written without one, and libpq finds it in the PGPASSFILE the unit names.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from warroom.dsn import without_password

USER = "warroom"


def _quoted(arg: str) -> str:
    """One ExecStart word: systemd's double quotes, and its % and $ specifiers doubled."""
    text = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{text}"'


CONFIG = "/etc/warroom/config.toml"


def unit_text(args: Sequence[str], user: str = USER, config: str | None = None) -> str:
    """The unit for ``warroom record`` with ``args`` (DSN values already without password).

    ``config``: the config file the service should read (its ``[[targets]]``, ``[alerts]``,
    ``[record]``), copied to /etc/warroom where the service user can read it.
    """
    command = " ".join(_quoted(a) for a in [sys.executable, "-m", "warroom", "record", *args])
    copy, env = "", ""
    if config is not None:
        copy = f"#   install -D -o {user} -m 600 {config} {CONFIG}\n"
        env = f"Environment=WARROOM_CONFIG={CONFIG}\n"
    return f"""\
# warroom flight recorder. Install:
#   useradd --system --home-dir /var/lib/warroom {user}
#   install -o {user} -m 600 ~/.pgpass /var/lib/warroom/pgpass   # the password lives here
{copy}#   warroom record ... --unit > /etc/systemd/system/warroom-record.service
#   systemctl daemon-reload && systemctl enable --now warroom-record
[Unit]
Description=warroom flight recorder (PostgreSQL frames for incidents)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User={user}
StateDirectory=warroom
Environment=XDG_STATE_HOME=/var/lib
Environment=PGPASSFILE=/var/lib/warroom/pgpass
Environment=WARROOM_HOME=/var/lib/warroom/incidents
{env}ExecStart={command}
Restart=on-failure
RestartSec=5
KillSignal=SIGTERM
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=/var/lib/warroom

[Install]
WantedBy=multi-user.target
"""


def unit_args(
    dsns: Sequence[str],
    pgbouncers: Sequence[str],
    targets: Sequence[str],
    options: Sequence[str],
) -> list[str]:
    """The recorder's arguments as the unit repeats them, every DSN stripped of its password."""
    out: list[str] = []
    for dsn in dsns:
        out += ["--dsn", without_password(dsn, "--dsn")]
    for bouncer in pgbouncers:
        out += ["--pgbouncer", without_password(bouncer, "--pgbouncer")]
    for name in targets:
        out += ["--target", name]
    return out + list(options)
