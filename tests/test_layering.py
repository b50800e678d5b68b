"""collectors/ and sessions/ stay usable without the UI: dependencies point one way."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["warroom.collectors", "warroom.sessions"])
def test_package_never_imports_textual(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{package} pulled in {out.stdout.strip()}"


def test_sessions_never_import_psycopg() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import warroom.sessions as pkg\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print('psycopg' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _imports(modules: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(','.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


def test_the_live_state_and_recorded_source_are_free_of_textual() -> None:
    loaded = _imports(["warroom.tui.state", "warroom.sessions.recorded", "warroom.widgets.views"])
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_widgets_never_touch_the_store_or_the_database() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import warroom.widgets as pkg\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(','.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().split(","))
    assert "warroom.sessions.store" not in loaded
    assert not {m for m in loaded if m == "psycopg" or m.startswith("psycopg.")}


@pytest.mark.parametrize(("package", "never"), [("warroom.drill", "warroom.tui"),
                                                 ("warroom.tui", "warroom.drill")])
def test_drill_and_tui_do_not_import_each_other(package: str, never: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(','.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().split(","))
    assert not {m for m in loaded if m == never or m.startswith(never + ".")}
