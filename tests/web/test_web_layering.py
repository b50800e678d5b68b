"""web/ reads the record through sessions/ only: no Textual, no collectors, no psycopg, and no
aiohttp until a server is actually started."""

import subprocess
import sys


def test_web_imports_only_sessions() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import warroom.web as pkg\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    if info.name != 'warroom.web.server':\n"
        "        importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'psycopg', "
        "'aiohttp') or m.startswith(('warroom.collectors', 'warroom.tui', 'warroom.widgets')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_server_module_adds_only_aiohttp() -> None:
    code = (
        "import sys\n"
        "import warroom.web.server\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'psycopg') "
        "or m.startswith(('warroom.collectors', 'warroom.tui', 'warroom.widgets')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
