"""`make local-invoke`: a function's `sam build` output run as Lambda runs it, without Docker.

`sam local invoke` starts AWS's python3.11 image in Docker; what the image runs is the runtime
interface client (`awslambdaric`) with the function's package first on the path, asking Lambda's
Runtime API for invocations. Here the same client runs the package in a process of its own, and
this module plays the rest, on localhost:

* `runtime`: a folder standing in for the image's /var/runtime, linking the packages the
  python3.11 runtime has beside the standard library (the SDK and the interface client) from this
  environment. The function sees its package, these and the standard library, nothing else, so
  an import of a package that neither provides fails at INIT, as it would on Lambda.
* `RuntimeApi`: Lambda's Runtime API (next invocation, response, error, init error), stdlib only.
  It is also the process's HTTP(S) proxy: a request for anything but localhost is refused and
  recorded (`Result.escaped`) instead of reaching the network.
* `Stack`: the monitoring stack on moto's server, provisioned by sagewatch.embedded.provision;
  the function's environment is template.yaml's for it, naming those resources, with
  AWS_ENDPOINT_URL pointing at the server.
* `invoke`: one function process through INIT and its first invocation, and the CPU time that
  took (bench/coldstart.py measures cold starts with it).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sagewatch import moto_patches
from sagewatch import template as cfn
from sagewatch.embedded.inputs import seed_host_metrics
from sagewatch.embedded.provision import (
    ACCOUNT,
    FUNCTIONS,
    MOTO_CREDENTIALS,
    MOTO_ENVIRONMENT,
    REGION,
    STACK,
    Resources,
    provision,
)

BUILD = cfn.ROOT / ".aws-sam" / "build"  # where `sam build` (make build) writes each function
# Each function's sample in events/, as the README's `sam local invoke` lines use them: the
# enricher and the summarizer are fed by SQS, the fleet function by the workload heartbeats.
SAMPLES = {
    "EnricherFunction": "sqs/finished-jobs-batch.json",
    "AlerterFunction": "training-failed.json",
    "SummarizerFunction": "sqs/closed-burst-window.json",
    "FleetFunction": "heartbeat.json",
}
# What the Lambda python3.11 runtime has besides the standard library (/var/runtime): the SDK
# with its dependencies, and the runtime interface client with its own. The bundle brings the
# rest (src/requirements.txt); tests/integration/test_local_invoke.py holds the two together.
RUNTIME_DISTRIBUTIONS = (
    "boto3", "botocore", "jmespath", "python-dateutil", "s3transfer", "six", "urllib3",
    "awslambdaric", "simplejson", "snapshot-restore-py",
)  # fmt: skip
RUNTIME_API = "/2018-06-01/runtime/"
EXIT_GRACE_SECONDS = 30.0  # beyond the function's Timeout: a process that never answers

# The function process: awslambdaric's own entry point (`python -m awslambdaric HANDLER`), with
# the handler module's clock seam set to a fixed time when one is given after the handler
# (tests and bench run the samples on their own day). The seam is set once awslambdaric has
# imported the handler, as it imports it: the module then logs to the streams Lambda gives it.
LAUNCHER = """
import sys
from awslambdaric import bootstrap
from awslambdaric.__main__ import main

if len(sys.argv) > 2:
    get_handler = bootstrap._get_handler

    def pinned(handler):
        found = get_handler(handler)
        module = sys.modules[handler.rsplit(".", 1)[0]]
        if hasattr(module, "clock"):
            from shared.platform.clock import FixedClock

            module.clock = FixedClock(float(sys.argv[2]))
        return found

    bootstrap._get_handler = pinned
main(sys.argv[:2])
"""


# ---- the runtime ------------------------------------------------------------------------------


def runtime(folder: Path) -> Path:
    """`folder` made the runtime's /var/runtime: links to RUNTIME_DISTRIBUTIONS' files (their
    packages, modules, bytecode and metadata) as installed here."""
    for name in RUNTIME_DISTRIBUTIONS:
        distribution = importlib.metadata.distribution(name)
        for file in distribution.files or ():
            if file.parts[0] in ("..", "bin"):  # scripts, installed outside site-packages
                continue
            # A package or module links whole; a module's bytecode beside it, file by file.
            top = Path(*file.parts[:2]) if file.parts[0] == "__pycache__" else Path(file.parts[0])
            link = folder / top
            if not link.is_symlink():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(Path(str(distribution.locate_file(top))))
    return folder


# ---- Lambda's Runtime API ---------------------------------------------------------------------


@dataclass
class Invocation:
    event: bytes
    timeout: float  # the function's Timeout, seconds
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    answered: threading.Event = field(default_factory=threading.Event)
    error_type: str | None = None  # set when the function answered with an error
    body: bytes = b""


class RuntimeApi(ThreadingHTTPServer):
    """The Runtime API of one function process, on a free port of localhost."""

    daemon_threads = True  # a GET of the next invocation waits until the process is stopped

    def __init__(self, function_arn: str) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeRequests)
        self.function_arn = function_arn
        self.pending: queue.Queue[Invocation | None] = queue.Queue()
        self.invocations: dict[str, Invocation] = {}
        self.init_error: bytes | None = None
        self.escaped: list[str] = []  # what the process asked the proxy for
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def submit(self, event: bytes, timeout: float) -> Invocation:
        invocation = Invocation(event, timeout)
        self.invocations[invocation.request_id] = invocation
        self.pending.put(invocation)
        return invocation

    def close(self) -> None:
        self.pending.put(None)  # releases a waiting GET
        self.shutdown()
        self.server_close()


class _RuntimeRequests(BaseHTTPRequestHandler):
    server: RuntimeApi

    def do_GET(self) -> None:
        if self._escaping():
            return
        if self.path != RUNTIME_API + "invocation/next":
            self._answer(404)
            return
        invocation = self.server.pending.get()
        if invocation is None:
            self._answer(410)
            return
        # The context's remaining time counts down from this deadline on the process's clock.
        deadline_ms = int((time.time() + invocation.timeout) * 1000)
        self._answer(
            200,
            invocation.event,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
                "Content-Type": "application/json",
            },
        )

    def do_POST(self) -> None:
        if self._escaping():
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.removeprefix(RUNTIME_API).split("/")
        if parts == ["init", "error"]:
            self.server.init_error = body
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            invocation = self.server.invocations.get(parts[1])
            if invocation is None:
                self._answer(400)
                return
            invocation.body = body
            if parts[2] == "error":
                invocation.error_type = self.headers.get(
                    "Lambda-Runtime-Function-Error-Type", "Unhandled"
                )
            invocation.answered.set()
        else:
            self._answer(404)
            return
        self._answer(202)

    def do_CONNECT(self) -> None:  # an HTTPS request through the proxy
        self._escaping()

    def _escaping(self) -> bool:
        """A request the process sent to its proxy (an absolute URL, or CONNECT) is refused."""
        if self.command != "CONNECT" and self.path.startswith("/"):
            return False
        self.server.escaped.append(f"{self.command} {self.path}")
        self._answer(403)
        return True

    def _answer(self, status: int, body: bytes = b"", headers: Mapping[str, str] = {}) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the process was stopped while waiting for its next invocation
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the process's own output is what `Result.logs` shows."""


# ---- the embedded stack -------------------------------------------------------------------------


class Stack:
    """The monitoring stack (template.yaml) on moto's server on localhost: `reset` makes it
    anew; `environment` is a function's environment as Lambda would set it, pointed at it."""

    resources: Resources

    def __init__(self, parameters: Mapping[str, str] | None = None) -> None:
        self.parameters = cfn.parameter_defaults() | dict(parameters or {})
        self.endpoint = ""
        self._server: Any = None
        self._clients: dict[str, Any] = {}
        self._werkzeug_level = logging.NOTSET

    # werkzeug logs every request moto's server answers; the function's own logs are the story.
    _requests_log = logging.getLogger("werkzeug")

    def __enter__(self) -> Stack:
        from moto.server import ThreadedMotoServer

        moto_patches.install()  # moto's fidelity fixes, as the in-process stack has them
        self._werkzeug_level = self._requests_log.level
        self._requests_log.setLevel(logging.WARNING)
        self._server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.reset()

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        self._requests_log.setLevel(self._werkzeug_level)

    def reset(self, metrics: Mapping[str, Any] | None = None) -> Stack:
        """Everything moto holds dropped, the stack provisioned again, `metrics` (the
        `--metrics` document) seeded."""
        reset = f"{self.endpoint}/moto-api/reset"  # moto's own API, on our server
        with urllib.request.urlopen(urllib.request.Request(reset, method="POST"), timeout=30):  # noqa: S310
            pass
        self.resources = provision(self.client, self.parameters)
        if metrics:
            seed_host_metrics(self.client("cloudwatch"), metrics)
        return self

    def client(self, service: str) -> Any:
        """A client of the monitoring account on the server."""
        if service not in self._clients:
            import boto3

            session: Any = boto3.session.Session(region_name=REGION)  # stubs want literal names
            self._clients[service] = session.client(
                service, endpoint_url=self.endpoint, **MOTO_CREDENTIALS
            )
        return self._clients[service]

    def environment(self, logical_id: str) -> dict[str, str]:
        """What Lambda sets for the function: template.yaml's variables for it (as the embedded
        AWS resolves them, naming this stack's resources), the reserved ones, moto's
        credentials, and the endpoint every SDK client of the function then uses."""
        properties = cfn.deployed()["Resources"][logical_id]["Properties"]
        name = str(cfn.resolve(properties["FunctionName"], {"AWS::StackName": STACK}))
        logging = properties["LoggingConfig"]
        short = next(short for short, logical in FUNCTIONS.items() if logical == logical_id)
        return (
            self.resources.function_env[short]
            | MOTO_ENVIRONMENT
            | {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties["MemorySize"]),
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(properties["Timeout"]),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "local",
                "AWS_LAMBDA_LOG_FORMAT": str(logging["LogFormat"]),
                "AWS_LAMBDA_LOG_LEVEL": str(
                    cfn.resolve(logging["ApplicationLogLevel"], self.parameters)
                ),
                "_HANDLER": str(properties["Handler"]),
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "PATH": "/usr/local/bin:/usr/bin:/bin",
            }
        )


# ---- one invocation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    response: Any  # what the function returned, or Lambda's error document
    error_type: str | None  # None when the function answered; else e.g. Runtime.ImportModuleError
    cpu_seconds: float  # the process's user + system time: INIT and the first invocation
    logs: str  # the process's stdout and stderr
    escaped: tuple[str, ...]  # requests for anything but localhost, refused


def invoke(
    package: Path,
    environment: Mapping[str, str],
    event: bytes,
    runtime_dir: Path,
    clock: float | None = None,
    wrapper: Sequence[str] = (),
) -> Result:
    """A cold start: a new process runs `environment["_HANDLER"]` from `package` under
    awslambdaric until it answers `event` (or fails at INIT), then is stopped as Lambda stops
    an idle environment. `clock` fixes the handler's clock seam (seconds since the epoch);
    `wrapper` is a command the process runs under (bench/coldstart.py: valgrind), which is
    then stopped with SIGTERM, so that it may write its report, instead of SIGKILL."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{environment['AWS_LAMBDA_FUNCTION_NAME']}"
    timeout = float(environment.get("AWS_LAMBDA_FUNCTION_TIMEOUT", 3))
    api = RuntimeApi(arn)
    proxy = f"http://{api.address}"
    variables = dict(environment) | {
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(package),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "PYTHONPATH": str(runtime_dir),
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only: no bytecode written there
        # Whatever is not on localhost goes to the proxy, which refuses it.
        **dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"), proxy),
        **dict.fromkeys(("NO_PROXY", "no_proxy"), "127.0.0.1,localhost"),
    }
    invocation = api.submit(event, timeout)
    handler = environment["_HANDLER"]
    # -S: no site-packages of this environment, only the package, the runtime and the stdlib.
    command = [*wrapper, sys.executable, "-S", "-c", LAUNCHER, handler]
    command += [repr(clock)] if clock is not None else []
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our launcher
            command, cwd=package, env=variables, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            stop = signal.SIGTERM if wrapper else signal.SIGKILL
            limit = timeout + EXIT_GRACE_SECONDS
            usage, timed_out = _until_answered(process, invocation, limit, stop)
        finally:
            api.close()
        output.seek(0)
        logs = output.read().decode(errors="replace")
    response: Any = None
    if invocation.answered.is_set():
        response, error_type = json.loads(invocation.body or b"null"), invocation.error_type
    elif api.init_error is not None:
        response = json.loads(api.init_error)
        error_type = str(response.get("errorType"))
    elif timed_out:
        error_type = "Sandbox.Timedout"
    else:
        error_type = f"Runtime.ExitError (exit status {process.returncode})"
    cpu = usage.ru_utime + usage.ru_stime
    return Result(response, error_type, cpu, logs, tuple(api.escaped))


def _until_answered(
    process: subprocess.Popen[bytes], invocation: Invocation, limit: float, stop: int
) -> tuple[Any, bool]:
    """Wait for the answer, the process's exit or `limit` seconds; stop the process with signal
    `stop`; return its resource usage (os.wait4: Popen keeps none) and whether the limit
    passed."""
    deadline = time.monotonic() + limit
    while not invocation.answered.wait(0.005):
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:  # exited on its own (an INIT error)
            process.returncode = os.waitstatus_to_exitcode(status)
            return usage, False
        if time.monotonic() > deadline:
            break
    process.send_signal(stop)  # idle, waiting for its next invocation (or past its time)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage, not invocation.answered.is_set()


# ---- the package --------------------------------------------------------------------------------


# The bundle's wheels, downloaded by `make test` (Makefile: lambda-wheels) so that a test builds
# the package without the network.
WHEELS = Path(sys.prefix) / "lambda-wheels"


def build(artifacts: Path, logical_id: str = "AlerterFunction", wheels: Path | None = None) -> Path:
    """A function's package built into `artifacts` by src/Makefile's recipe for `sam build`
    (every function has the same CodeUri and recipe); from the wheels in `wheels` only, if
    given, instead of the package registry."""
    artifacts.mkdir(parents=True, exist_ok=True)
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)} if wheels else {}
    done = subprocess.run(  # noqa: S603 - make, as `make build` runs it
        ["make", "--no-print-directory", "-C", str(cfn.ROOT / "src"), f"build-{logical_id}",  # noqa: S607
         f"ARTIFACTS_DIR={artifacts}", f"PYTHON={sys.executable}"],
        capture_output=True, text=True, check=False, env=os.environ | offline,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"src/Makefile build-{logical_id} failed:\n{done.stdout}{done.stderr}")
    return artifacts


# ---- make local-invoke -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make local-invoke",
        description="Invoke a function's `sam build` output (make build) under awslambdaric, "
        "against the embedded AWS on localhost: sam local invoke without Docker.",
    )
    parser.add_argument("function", choices=list(FUNCTIONS.values()))
    parser.add_argument("event", type=Path, help="the event file (e.g. events/heartbeat.json)")
    parser.add_argument("--metrics", type=Path, help="host datapoints to seed (--metrics format)")
    parser.add_argument("--build", type=Path, default=BUILD, help="sam build's output folder")
    args = parser.parse_args(argv)
    package = args.build / args.function
    if not (package / "handlers").is_dir():
        parser.error(f"{package} holds no build: run make build")
    metrics = json.loads(args.metrics.read_text()) if args.metrics else None
    with tempfile.TemporaryDirectory() as folder, Stack() as stack:
        stack.reset(metrics)
        result = invoke(
            package.resolve(), stack.environment(args.function), args.event.read_bytes(),
            runtime(Path(folder)),
        )  # fmt: skip
    sys.stderr.write(result.logs)
    sys.stderr.write(f"{args.function}: {result.cpu_seconds:.3f} s CPU, INIT and invocation\n")
    for request in result.escaped:
        sys.stderr.write(f"refused (not localhost): {request}\n")
    sys.stdout.write(json.dumps(result.response, indent=2) + "\n")
    return 1 if result.error_type else 0


if __name__ == "__main__":
    sys.exit(main())
