"""collectors/ and sessions/ stay usable without the UI: dependencies point one way."""

import ast
import re
import subprocess
import sys
from pathlib import Path

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


# -- one data path: only the session builder knows live from replay ---------------------------

TUI = Path(__file__).resolve().parent.parent / "warroom" / "tui"
# Who may import each part the builder chooses between (besides the builder, session.py).
CHOSEN = {
    "warroom.tui.replay": set(),  # the recorded source
    "warroom.tui.playback": {"replay.py"},  # its virtual clock
    "warroom.tui.live": set(),  # the live collectors on pollers
    "warroom.tui.sinks": set(),  # the Recorder, or review notes only
}


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", sorted(CHOSEN))
def test_only_the_session_builder_imports_what_it_chooses_between(module: str) -> None:
    allowed = {"session.py", module.rsplit(".", 1)[1] + ".py", *CHOSEN[module]}
    importers = sorted(
        str(path.relative_to(TUI))
        for path in TUI.rglob("*.py")
        if path.name not in allowed and module in _imported(path)
    )
    assert importers == [], f"{module} is the session builder's choice; imported by {importers}"


def test_the_tui_has_no_several_servers_mode() -> None:
    """One server is the N = 1 case of several: no `multi` flag or branch anywhere in tui/."""
    found = [
        f"{path.relative_to(TUI)}:{n}"
        for path in sorted(TUI.rglob("*"))
        if path.suffix in (".py", ".tcss")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"multi\b", line)
    ]
    assert found == []


def test_the_app_never_asks_whether_it_replays() -> None:
    """The App runs the session it is given: the words for the kinds of session stay out."""
    text = (TUI / "app.py").read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    body = code.split('"""', 2)[2]  # past the module's docstring
    assert not re.search(r"\b(REPLAY|LIVE|playback|Playback|ReplayApp)\b", body)


@pytest.mark.parametrize("package", ["warroom.widgets", "warroom.web"])
def test_widgets_and_web_never_import_the_tui(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(','.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.strip().split(","))
    assert not {m for m in loaded if m == "warroom.tui" or m.startswith("warroom.tui.")}
