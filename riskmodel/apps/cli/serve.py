"""The ``serve`` command: the REST server of a risk model or a forecaster, by URI, in one command.

MLflow's scoring server does the serving, run by uvicorn through
:mod:`riskmodel.integrations.tracking.serving` (MLflow's app as ``mlflow models
serve`` runs it, plus: CSV requests read as text for the risk model, whose
``any``-typed signature MLflow cannot read CSV with, and error answers without
stack traces). This command adds what ``mlflow models serve`` lacks for a
service team: the model is loaded and verified (manifest hashes) by
:func:`riskmodel.load` before anything listens, and the server reads a local
copy verified the same way (:func:`riskmodel.api.verified_copy`), not the store
again by URI, so the store cannot change between the check and the load (MLflow
imports what ``MLmodel`` names before riskmodel's loader runs); served by an alias, the app looks it up
again every 10 s and serves a promotion (:class:`riskmodel.integrations.tracking.serving.Following`),
where ``mlflow models serve`` reads an alias once; the server finds ``uvicorn``
without an activated virtual environment (run as ``python -m uvicorn`` by this
interpreter), and stopping the command (Ctrl-C,
SIGTERM) stops the server and every worker it started: they run in their own
process group, which is terminated as a whole.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from riskmodel.apps.cli.command import CommandGroups, host_address, int_at_least, port_number
from riskmodel.apps.cli.exits import EXIT_ENVIRONMENT, EXIT_OK, EXIT_USAGE

__all__ = ["listen_problem", "register", "server_command", "server_env", "stop_group"]

#: Seconds the server gets to stop after SIGTERM before its group is killed.
STOP_GRACE_S = 20.0
#: Seconds a served alias is trusted before the app looks it up again (serving.ALIAS_RECHECK_SECONDS)
FOLLOW_SECONDS = 10.0


class _Stop(Exception):
    """A stop signal arrived while the server ran."""


#: the app uvicorn builds (riskmodel.integrations.tracking.serving.APP; named here: apps import no mlflow)
SERVING_APP = "riskmodel.integrations.tracking.serving:create_app"
#: the environment variable naming the model folder the app serves (serving.MODEL_ENV)
MODEL_ENV = "RISKMODEL_SERVE_MODEL"
#: the environment variables naming the alias the app follows and its version at start (serving.ALIAS_ENV, VERSION_ENV)
ALIAS_ENV, VERSION_ENV = "RISKMODEL_SERVE_ALIAS", "RISKMODEL_SERVE_VERSION"


def _follow_env(uri: str, pinned: str) -> dict[str, str]:
    """The app's environment to follow the alias ``uri`` names (resolved to ``pinned`` at start); {} for no alias."""
    if not (uri.startswith("models:/") and "@" in uri) or pinned == uri:
        return {}
    return {ALIAS_ENV: uri, VERSION_ENV: pinned.rsplit("/", 1)[1]}


def server_command(host: str, port: int, workers: int) -> list[str]:
    """The uvicorn command line of the serving app, run by this interpreter (no activated venv needed)."""
    return [sys.executable, "-m", "uvicorn", "--factory", SERVING_APP, "--host", host, "--port", str(port),
            "--workers", str(workers)]


def server_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: this interpreter's ``bin`` folder first on PATH, where ``uvicorn`` is installed."""
    env = dict(os.environ if environ is None else environ)
    # sys.executable, not its resolved target: the venv's bin holds uvicorn, the base interpreter's does not
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return env


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """Terminate the server's whole process group (server and workers), killing what outlives ``grace_s``."""
    pgid = proc.pid  # start_new_session: the server leads its own group
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        if not _group_alive(pgid):
            break
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _group_alive(pgid):
            if proc.poll() is None:
                try:
                    proc.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(0.1)  # the leader is reaped; its workers may still be shutting down
    proc.poll()


def _pin(uri: str) -> str:
    """``uri`` with an ``@alias`` resolved to the version it names now (``@champion`` refused without a passed gate)."""
    if not uri.startswith(("models:", "runs:")):
        return uri
    from riskmodel.integrations.tracking.loading import pin  # MLflow is imported only when a URI needs it

    return pin(uri)


def _verify(uri: str) -> str:
    """Load the model as riskmodel would (manifest hashes checked); a description for the start-up line."""
    from riskmodel.api import load
    from riskmodel.core.exceptions import ModelLoadError

    path = Path(uri)
    if not uri.startswith(("models:", "runs:")) and path.is_dir() and not (path / "MLmodel").is_file():
        raise ModelLoadError(f"`{uri}` is not an MLflow model (no MLmodel file): log it to MLflow (riskmodel train) and "
                             "serve it by its URI, e.g. models:/overstay-risk@champion.")
    loaded = load(uri)
    name, version = getattr(loaded, "name", None), getattr(loaded, "version", None)
    kind = "risk model" if name is not None else "forecaster"
    return f"{kind} {name} v{version}" if name is not None else kind


def listen_problem(host: str, port: int) -> tuple[int, str] | None:
    """Why the server could not listen on ``host``:``port`` (exit code, message), or None when it can.

    Tried by binding every address ``host`` resolves to, as uvicorn will (with
    ``SO_REUSEADDR``, so a port in TIME_WAIT is not taken for one in use): a host
    that does not resolve or is not an address of this machine is bad usage (2), a
    port another process listens on or that needs privileges is the environment (4).
    """
    import errno
    import socket

    where = f"port {port} on {host}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return EXIT_USAGE, f"--host {host} does not resolve to an address ({exc}). Fix: pass an IP address or host name of this machine, e.g. 127.0.0.1."
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return EXIT_ENVIRONMENT, f"{where} is already in use: another server listens there. Fix: stop it, or pass another --port."
                if exc.errno == errno.EADDRNOTAVAIL:
                    return EXIT_USAGE, f"--host {host} is not an address of this machine ({address[0]}). Fix: pass one of its addresses (127.0.0.1, or 0.0.0.0 for every interface)."
                if exc.errno in (errno.EACCES, errno.EPERM):
                    return EXIT_ENVIRONMENT, f"{where} needs privileges this user lacks (ports below 1024 do). Fix: pass --port 1024 or above."
                return EXIT_ENVIRONMENT, f"cannot listen on {where}: {exc.strerror or exc}. Fix: check the host and port, then rerun."
    return None


def _raise_stop(signum, frame):
    raise _Stop(signum)


def _cmd_serve(args: argparse.Namespace) -> int:
    from riskmodel.api import verified_copy

    problem = listen_problem(args.host, args.port)  # before the model is read: a busy port is known at once
    if problem is not None:
        print(f"riskmodel serve: error: {problem[1]}", file=sys.stderr)
        return problem[0]
    # the alias is read once, here (``@champion`` gated): the model named, verified and copied is that version, even
    # when the alias moves while this command reads the store
    pinned = _pin(args.model)
    what = _verify(pinned)
    with tempfile.TemporaryDirectory(prefix="riskmodel-serve-") as tmp:
        served = verified_copy(pinned, tmp)
        args.follow = _follow_env(args.model, pinned)
        follows = (f"; the alias is looked up again every {FOLLOW_SECONDS:.0f} s: a promotion is served from then on, "
                   "a champion no gate put there is refused") if args.follow else ""
        print(f"verified {what} at {args.model}{'' if pinned == args.model else f' ({pinned})'}; serving that verified copy "
              f"on http://{args.host}:{args.port} with {args.workers} worker(s){follows}", file=sys.stderr, flush=True)
        return _run_server(args, str(served))


def _run_server(args: argparse.Namespace, model: str) -> int:
    """Run the serving app on ``model`` until it exits or a stop signal arrives; stop its whole group."""
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    proc = None
    try:
        env = {**server_env(), MODEL_ENV: model, **getattr(args, "follow", {})}
        proc = subprocess.Popen(server_command(args.host, args.port, args.workers), env=env, start_new_session=True)
        code = proc.wait()
    except _Stop:
        print("stopping the server and its workers", file=sys.stderr, flush=True)
        return EXIT_OK
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if proc is not None:
            stop_group(proc)
    problem = listen_problem(args.host, args.port)  # taken between the check and the start
    if problem is not None:
        print(f"riskmodel serve: error: {problem[1]}", file=sys.stderr)
        return problem[0]
    print(f"riskmodel serve: error: the server exited with code {code}; see its messages above. Fix: check the model URI "
          "and the server's messages, then rerun.", file=sys.stderr)
    return EXIT_ENVIRONMENT


def register(groups: CommandGroups) -> None:
    """Add ``serve``."""
    p = groups.top.add_parser(
        "serve",
        help="serve a risk model or forecaster over REST (MLflow's scoring server), verified first; Ctrl-C stops it and its workers",
    )
    p.add_argument("--model", required=True, help="models:/overstay-risk@champion, models:/<forecaster>@champion, a run URI, "
                                                  "or a local MLflow model folder; an alias is looked up again every 10 s "
                                                  "(a promotion is served from then on, a champion no gate put there refused)")
    p.add_argument("--host", type=host_address, default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=port_number, default=5001, help="port (default: %(default)s)")
    p.add_argument("--workers", type=int_at_least(1), default=1, help="worker processes (default: %(default)s)")
    p.set_defaults(func=_cmd_serve)
