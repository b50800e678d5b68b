"""`warroom serve` over plain HTTP: the JS-off page, read-only, headers, tokens, CLI errors."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from support.web import ServerProcess, cli_env, run_cli

from warroom.web.access import COOKIE

TOKEN = "test-token-abcdefghijklmnop"


def _request(port: int, method: str, path: str, headers: dict[str, str] | None = None
             ) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def test_page_is_complete_without_javascript(server: ServerProcess) -> None:
    status, headers, body = _request(server.port, "GET", "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "orders DB refusing connections" in body
    assert "monitoring" in body and "SEV1" in body and "T+00:40:" in body
    assert "shop-api pool max 200 -&gt; 20, rolling restart" in body  # the timeline
    assert "Checkout and order history fail" in body  # summary
    assert body.count("<svg") == 3 and "<path" in body  # charts, server-rendered
    assert "97" in body  # usable slots now


def test_security_headers(server: ServerProcess) -> None:
    for path in ("/", "/static/app.js", "/nope"):
        _, headers, _ = _request(server.port, "GET", path)
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
    status, headers, body = _request(server.port, "GET", "/static/app.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in body.replace("never assigned to innerHTML", "")
    assert _request(server.port, "GET", "/static/../feed.py")[0] == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/events", "/static/app.js", "/anything"])
def test_only_get_and_head(server: ServerProcess, session_file: Path, method: str,
                           path: str) -> None:
    before = session_file.read_bytes()
    status, headers, body = _request(server.port, method, path)
    assert status == 405
    assert headers["allow"] == "GET, HEAD"
    assert "orders" not in body
    assert session_file.read_bytes() == before


def test_head_works(server: ServerProcess) -> None:
    status, _, body = _request(server.port, "HEAD", "/")
    assert status == 200 and body == ""


def test_serving_writes_nothing(home: Path, session_file: Path) -> None:
    lock = session_file.with_name(session_file.name + ".lock")
    lock.unlink()
    before = (session_file.read_bytes(), sorted(os.listdir(home)))
    proc = ServerProcess(["--session", str(session_file)], cli_env(home)).start()
    try:
        for _ in range(3):
            assert _request(proc.port, "GET", "/")[0] == 200
    finally:
        proc.stop()
    assert (session_file.read_bytes(), sorted(os.listdir(home))) == before


def test_events_start_with_the_whole_state(server: ServerProcess) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 999\r\n\r\n")
        data = b""
        while b"\n\n" not in data.partition(b"event: figures")[2]:
            chunk = sock.recv(65536)
            assert chunk, data[-200:]
            data += chunk
    finally:
        sock.close()
    head, _, stream = data.partition(b"\r\n\r\n")
    assert b"text/event-stream" in head and b"X-Accel-Buffering: no" in head
    for name in (b"header", b"timeline", b"figures"):
        assert b"event: " + name + b"\n" in stream


# -- tokens ------------------------------------------------------------------------------------


@pytest.fixture
def guarded(home: Path, session_file: Path) -> ServerProcess:
    proc = ServerProcess(["--session", str(session_file), "--token", TOKEN], cli_env(home))
    proc.start()
    yield proc
    proc.stop()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-abcdefghijkl"}, {"Cookie": f"{COOKIE}=nope"},
     {"Authorization": f"Basic {TOKEN}"}],
)
@pytest.mark.parametrize("path", ["/", "/events", "/static/app.js", "/?kind=note"])
def test_missing_or_wrong_token_gets_401_and_nothing_else(
    guarded: ServerProcess, headers: dict[str, str], path: str
) -> None:
    status, got, body = _request(guarded.port, "GET", path, headers)
    assert status == 401
    assert body == "401: Unauthorized\n"
    assert "set-cookie" not in got


def test_wrong_token_in_the_url_gets_401(guarded: ServerProcess) -> None:
    status, headers, body = _request(guarded.port, "GET", "/?token=wrong")
    assert status == 401 and body == "401: Unauthorized\n" and "set-cookie" not in headers


def test_token_in_the_url_sets_a_cookie_and_leaves_the_address_bar(
    guarded: ServerProcess,
) -> None:
    status, headers, _ = _request(guarded.port, "GET", f"/?kind=action&token={TOKEN}")
    assert status == 303
    assert headers["location"] == "/?kind=action"
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    status, _, body = _request(guarded.port, "GET", "/?kind=action",
                               {"Cookie": f"{COOKIE}={TOKEN}"})
    assert status == 200 and "orders DB refusing connections" in body


def test_bearer_token_works(guarded: ServerProcess) -> None:
    status, _, body = _request(guarded.port, "GET", "/",
                               {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and "orders DB refusing connections" in body


def test_the_token_is_never_logged(guarded: ServerProcess) -> None:
    _request(guarded.port, "GET", f"/?token={TOKEN}")
    _request(guarded.port, "GET", "/", {"Authorization": f"Bearer {TOKEN}"})
    _request(guarded.port, "GET", "/?token=wrong")
    proc = guarded.proc
    assert proc is not None and proc.stdout is not None and proc.stderr is not None
    guarded.proc = None
    proc.terminate()
    out, err = proc.communicate(timeout=10)
    assert TOKEN not in out + err + "".join(guarded.first_lines)


def test_generated_token_is_printed_once_and_works(home: Path, session_file: Path) -> None:
    proc = ServerProcess(["--session", str(session_file), "--token", "generate"], cli_env(home))
    proc.start()
    try:
        assert proc.proc is not None and proc.proc.stdout is not None
        line = proc.proc.stdout.readline()
        assert line.startswith("token: ")
        token = line.split()[1]
        assert _request(proc.port, "GET", "/")[0] == 401
        assert _request(proc.port, "GET", "/", {"Authorization": f"Bearer {token}"})[0] == 200
    finally:
        proc.stop()


# -- refusals and errors on the command line ---------------------------------------------------


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warroom: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("bind", ["0.0.0.0:0", "10.11.12.13:8765", "[::]:0", "db1.example:80"])
def test_non_loopback_bind_without_token_is_refused(home: Path, session_file: Path,
                                                    bind: str) -> None:
    result = run_cli(home, "serve", "--session", str(session_file), "--bind", bind)
    line = _one_error_line(result)
    assert result.returncode == 1
    assert "not loopback" in line and "--token generate" in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--bind", "nonsense:port"], "port must be a number"),
        (["--token", "short"], "at least 16"),
        (["--share", "host=127.0.0.1 port=1 connect_timeout=2", "--incident", "X"],
         "cannot reach 127.0.0.1:1"),
        (["--incident", "X"], "needs the ops database"),
    ],
)
def test_bad_input_is_one_line(home: Path, session_file: Path, args: list[str],
                               words: str) -> None:
    if "--incident" not in args:
        args = ["--session", str(session_file), *args]
    line = _one_error_line(run_cli(home, "serve", *args))
    assert words in line


def test_missing_session(home: Path) -> None:
    line = _one_error_line(run_cli(home, "serve", "--session", str(home / "nope.toml"),
                                   "--bind", "127.0.0.1:0"))
    assert "no such session file" in line
    assert "no unresolved incident" in _one_error_line(run_cli(home / "empty", "serve"))


def test_port_in_use(server: ServerProcess, home: Path, session_file: Path) -> None:
    line = _one_error_line(run_cli(home, "serve", "--session", str(session_file), "--bind",
                                   f"127.0.0.1:{server.port}"))
    assert f"cannot listen on 127.0.0.1:{server.port}" in line


def test_without_the_web_extra(home: Path, session_file: Path) -> None:
    code = (
        "import sys; sys.modules['aiohttp'] = None\n"
        "from warroom.cli import main\n"
        f"sys.exit(main(['serve', '--session', {str(session_file)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=cli_env(home), timeout=60)
    line = _one_error_line(result)
    assert result.returncode == 1
    assert line == ("warroom: error: warroom serve needs the web extra: "
                    "pip install 'warroom[web]'")


def test_help_has_an_example_and_the_token_rule(home: Path) -> None:
    result = run_cli(home, "serve", "--help")
    assert result.returncode == 0
    assert "example:" in result.stdout and "--token generate" in result.stdout


def test_a_signal_stops_it_cleanly_with_viewers_connected(home: Path, session_file: Path) -> None:
    proc = ServerProcess(["--session", str(session_file)], cli_env(home)).start()
    sock = socket.create_connection(("127.0.0.1", proc.port), timeout=10)
    try:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"event: " not in data:
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
        assert proc.stop() == 0  # SIGTERM; stop() would kill it after 10 s
    finally:
        sock.close()


def test_a_broken_file_keeps_the_last_good_page_and_says_why(
    server: ServerProcess, session_file: Path
) -> None:
    import time

    broken = session_file.with_name("broken.tmp")
    broken.write_bytes(session_file.read_bytes().replace(b"[incident]", b"[incident", 1))
    os.replace(broken, session_file)
    deadline = time.monotonic() + 5
    body = ""
    while time.monotonic() < deadline:
        body = _request(server.port, "GET", "/")[2]
        if '<p id="problem" class="problem">' in body:
            break
        time.sleep(0.1)
    assert '<p id="problem" class="problem">' in body, "no problem shown"
    assert "not valid TOML" in body
    assert "orders DB refusing connections" in body  # the last good state is still shown
