"""`make check-packaging`: every function of the synthesized template imports and runs with only its layers.

    python -m infra.checks.packaging [--only NAME ...] [--without-layer FUNCTION:LAYER ...]

1. Synthesize the app (stage dev) and read our functions from the template: code asset, handler, layers,
   environment (infra/checks/template.py). The CDK's own Node.js provider functions are not ours.
2. Build every layer from the same specs as `make layers`, for this machine's CPU and for Lambda's Python
   when an interpreter for it is here (else this one), into build/packaging-check/<key>/ (cached).
3. Install the boto3/botocore the Lambda Python 3.12 runtime ships (RUNTIME_BOTO3, see below).
4. Start moto (tables, queues, secrets from tradepipe.resources), the paper broker and osmem behind a TLS
   search front, all outside the function's interpreter.
5. For each function, in deploy-then-first-alert order: a fresh `python -I -S` whose sys.path is only the
   function's code, its layers and the runtime's boto3 imports the handler and invokes it once with a
   real-shaped event (infra/checks/events.py). One line per function: layers, import, invocation.
6. Build the real arm64 / Python 3.12 layers (`make layers`, cached) and fail any function whose code and
   layers unzipped exceed Lambda's 250 MB.

Exit status 1 on any failure. `--without-layer risk:broker` drops a layer, to see the check fail.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import build_layers
from infra.build_layers import BuildTarget, FunctionSize, find_python, python_version_of
from infra.checks.driver import MARKER
from infra.checks.events import ORDER, RECIPES, Services
from infra.checks.search_front import SearchFront
from infra.checks.sigv4_check import SigningKey
from infra.checks.template import Function, Template
from infra.layer_specs import LAMBDA_PYTHON_VERSION, LAYERS
from infra.paths import REPO_ROOT

CHECK_DIR = REPO_ROOT / "build" / "packaging-check"
# The secret access key of every function's credentials here (the key id names the function).
FUNCTION_SECRET_KEY = "packaging-check"  # noqa: S105 - a local stand-in's, checked by the search front
FUNCTION_SESSION_TOKEN = "packaging-check"  # noqa: S105
STAGE = "dev"
PREFIX = f"tradepipe-{STAGE}"
# What the Lambda python3.12 runtime ships: boto3 and botocore 1.38.36 ("The AWS Lambda Python 3.12
# runtime currently provides boto3 and botocore version 1.38.36", terricain/aioboto3#381, 2025-08; AWS's
# "Runtime-included SDK versions" says the version depends on the runtime release and Region and shows how
# to print it). An older SDK than our pin (pyproject's boto3) is the point: our calls must work with it.
RUNTIME_BOTO3 = "1.38.36"
DRIVER = Path(__file__).with_name("driver.py")


@dataclass
class Outcome:
    function: str
    layers: tuple[str, ...]
    imported: bool = False
    import_ms: float = 0.0
    invoked: bool = False
    invoke_ms: float = 0.0
    event: str = ""
    summary: str = ""
    error: str = ""
    ok: bool = False
    response: Any = None
    origins: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        layers = "+".join(self.layers) or "none"
        head = f"{self.function:<13} layers {layers:<26}"
        if not self.imported:
            return f"{head} import FAILED: {self.error}"
        imported = f"import ok {self.import_ms:5.0f} ms"
        if not self.ok:
            return f"{head} {imported}  invoke FAILED ({self.event}): {self.error or self.summary}"
        return f"{head} {imported}  invoke ok {self.invoke_ms:5.0f} ms ({self.event}): {self.summary}"


def synthesize(outdir: Path) -> Template:
    from infra.app import build_app, cdk_json_context

    shutil.rmtree(outdir, ignore_errors=True)
    app, stack = build_app({**cdk_json_context(), "stage": STAGE}, outdir=str(outdir))
    app.synth()
    return Template.load(outdir, stack.stack_name)


def install_runtime_boto3(python_version: str, target: BuildTarget) -> Path:
    """boto3/botocore as the Lambda runtime has them (with their dependencies), cached."""
    root = CHECK_DIR / f"runtime-boto3-{RUNTIME_BOTO3}-py{python_version}"
    if (root / "boto3").is_dir() and (root / "botocore").is_dir():
        return root
    shutil.rmtree(root, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--no-warn-conflicts", "--target", str(root), "--implementation", "cp",
        "--python-version", python_version,
        "--only-binary=:all:", *(f"--platform={tag}" for tag in target.platforms),
        f"boto3=={RUNTIME_BOTO3}", f"botocore=={RUNTIME_BOTO3}",
    ]  # fmt: skip
    subprocess.run(command, check=True)  # noqa: S603 - constants only
    # The runtime ships its SDK compiled (/var/lang is read-only too).
    compiler = find_python(python_version)
    if python_version_of(compiler) == python_version:
        compile_all = [compiler, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
        subprocess.run([*compile_all, str(root)], check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    return root


def function_env(
    function: Function, services: Services, broker_url: str, runtime_dir: Path, python: str
) -> dict[str, str]:
    """The function's environment from the template, as Lambda sets it, plus the local endpoints."""
    queues = {q.spec.name(STAGE): q.url for q in services.provisioned.queues.values()}

    def local(logical_id: str, attribute: str | None) -> str | None:
        resource = services.template.resources.get(logical_id, {})
        if attribute is None and resource.get("Type") == "AWS::SQS::Queue":
            return queues.get(resource["Properties"].get("QueueName", ""))
        if attribute == "DomainEndpoint":
            return services.front.host
        return None

    resolved = {k: str(services.template.resolve(v, local)) for k, v in function.environment.items()}
    env = {
        # What Lambda sets for every Python function (Lambda docs: "Defined runtime environment variables").
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{LAMBDA_PYTHON_VERSION}",
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "_HANDLER": function.handler,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin",
        # The role's credentials; the key id names the function so recorded requests show who called.
        "AWS_ACCESS_KEY_ID": function.short_name(PREFIX),
        "AWS_SECRET_ACCESS_KEY": FUNCTION_SECRET_KEY,
        "AWS_SESSION_TOKEN": FUNCTION_SESSION_TOKEN,
        **resolved,
        # Local endpoints instead of AWS and Alpaca: the only settings that differ from a deploy.
        # AWS_ENDPOINT_URL reaches every boto3 client, also those our code does not build (Powertools').
        "AWS_ENDPOINT_URL": services.aws_url,
        "TRADEPIPE_AWS_ENDPOINT_URL": services.aws_url,
        "TRADEPIPE_ALPACA_URL_OVERRIDE": broker_url,
        "TRADEPIPE_ALPACA_DATA_URL_OVERRIDE": broker_url,
    }
    if services.front.ca_file:
        # Trust for the local search front's certificate, through the standard variables.
        env["SSL_CERT_FILE"] = env["REQUESTS_CA_BUNDLE"] = str(services.front.ca_file)
    if function.tracing_active:
        # Active tracing: Lambda passes a trace header; unsampled, so nothing is sent to a daemon.
        env["_X_AMZN_TRACE_ID"] = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"
        env["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
        env["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:2000"
    return env


def run_in_function_interpreter(
    python: str,
    path: list[Path],
    handler: str,
    event: dict[str, Any],
    env: dict[str, str],
    function_name: str = "function",
    timeout_s: int = 60,
    memory_mb: int = 512,
    record_aws_calls: bool = False,
) -> dict[str, Any]:
    """Import `handler` and invoke it once in a fresh `python -I -S` that sees only `path`. `-B`: Lambda's
    /var/task and /opt are read-only, so no bytecode is written there either. `record_aws_calls`: also
    return the AWS calls the invocation made (botocore is then imported before the handler: not a run to
    time)."""
    request = {
        "path": [str(p) for p in path],
        "handler": handler,
        "event": event,
        "function_name": function_name,
        "timeout_s": timeout_s,
        "memory_mb": memory_mb,
        "record_aws_calls": record_aws_calls,
    }
    with tempfile.TemporaryDirectory(prefix="packaging-check-") as cwd:
        completed = subprocess.run(  # noqa: S603 - our driver, our interpreter
            [python, "-I", "-S", "-B", str(DRIVER)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,  # not the repo: nothing of ours is importable from the working directory
            timeout=timeout_s + 120,
            check=False,
        )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(MARKER):
            result: dict[str, Any] = json.loads(line[len(MARKER) :])
            result["stderr"] = completed.stderr
            return result
    return {"imported": False, "error": f"driver died ({completed.returncode}): {completed.stderr[-2000:]}"}


def judge(name: str, response: Any, services: Services) -> tuple[bool, str]:
    """Did the invocation do its job? Business outcomes are fine; a failure response is not."""
    if not isinstance(response, dict):
        return False, f"unexpected response {response!r}"
    if name == "webhook":
        body = json.loads(response.get("body") or "{}")
        ok = response.get("statusCode") == 202
        return ok, f"HTTP {response.get('statusCode')} {body.get('status', '')} {body.get('signal_id', '')}"
    if "batchItemFailures" in response:
        failures = response["batchItemFailures"]
        return not failures, f"batchItemFailures={failures}"
    if name == "search-setup":
        mapped = services.front.security.rolesmapping
        ok = bool(mapped) and "PhysicalResourceId" in response
        return ok, f"PhysicalResourceId={response.get('PhysicalResourceId')}, role mappings {sorted(mapped)}"
    return True, json.dumps(response, default=str)[:160]


@dataclass(frozen=True)
class FunctionRuntime:
    """What a function's interpreter is made of here: a Python (3.12 when this machine has one), our layers
    built for this machine, and the boto3 the Lambda runtime ships."""

    python: str
    version: str
    layers: BuildTarget
    runtime_dir: Path

    def layer_path(self, name: str) -> Path:
        (spec,) = (spec for spec in LAYERS if spec.name == name)
        return self.layers.layer_dir(spec) / "python"

    def path(self, function: Function, layer_names: tuple[str, ...] | None = None) -> list[Path]:
        """sys.path as Lambda orders it: the code, each layer, the runtime's SDK."""
        names = layer_names if layer_names is not None else function_layers(function)
        return [function.code_dir, *(self.layer_path(n) for n in names), self.runtime_dir]


def function_layers(function: Function) -> tuple[str, ...]:
    return tuple(layer.spec_name(PREFIX) for layer in function.layers)


def prepare_runtime(say: Callable[[str], None] = print) -> FunctionRuntime:
    """Find the interpreter, build (or reuse) the layers for this machine and install the runtime's boto3."""
    python = find_python(LAMBDA_PYTHON_VERSION)
    version = python_version_of(python) or "unknown"
    note = (
        "" if version == LAMBDA_PYTHON_VERSION else f" (Lambda runs {LAMBDA_PYTHON_VERSION}; none found here)"
    )
    local = BuildTarget.local(version, CHECK_DIR)
    local = dataclasses.replace(local, root=CHECK_DIR / f"layers-py{version}-{local.key()}")
    say(f"packaging check: Python {version} at {python}{note}; layers in {local.root.relative_to(REPO_ROOT)}")
    if build_layers.build_all(local):
        say("  (layers built for this machine; cached for the next run)")
    runtime_dir = install_runtime_boto3(version, local)
    say(f"  runtime SDK: boto3/botocore {RUNTIME_BOTO3}, as Lambda's python{LAMBDA_PYTHON_VERSION} ships it")
    return FunctionRuntime(python, version, local, runtime_dir)


@contextmanager
def local_services(template: Template) -> Iterator[tuple[Services, str]]:
    """moto (tables, queues, secrets from tradepipe.resources, and the search master-user secret), the
    paper broker and osmem behind a TLS search front: started here, outside every function's interpreter.
    Yields the services and the broker's URL."""
    from osmem_server import OsmemServer

    from infra.checks.emulated_aws import MotoServer, client, new_paper_keys, provision
    from tradepipe.local.http_server import free_port
    from tradepipe.local.paper_broker import BrokerBehaviour, PaperBroker
    from tradepipe.local.paper_broker.server import PaperBrokerServer

    # moto's server logs every request through werkzeug at INFO.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = MotoServer(port=free_port())
    moto.start()
    osmem = OsmemServer.start(addr=f"127.0.0.1:{free_port()}", freeze=False, japanese=False)
    keys = new_paper_keys()
    # The broker answers only the pair the stage's secret holds, as Alpaca does; the Alpaca behaviour, its
    # market always open (the check runs at any hour).
    engine = PaperBroker(behaviour=BrokerBehaviour.alpaca(always_open=True))
    names = {f.short_name(PREFIX) for f in template.functions()}
    signing_key = SigningKey(FUNCTION_SECRET_KEY, FUNCTION_SESSION_TOKEN)
    try:
        with (
            PaperBrokerServer(
                engine, port=0, key_id=keys["api_key"], secret_key=keys["secret_key"]
            ) as broker,
            # Each function signs with its own key id and the one secret key: the front checks the signature.
            SearchFront(osmem.url, tls=True, keys=lambda key: signing_key if key in names else None) as front,
        ):
            passphrase = "packaging check " + os.urandom(6).hex()
            provisioned = provision(moto.url, STAGE, {"packaging-check": passphrase}, keys)
            secrets: Any = client("secretsmanager", moto.url)
            master = secrets.create_secret(
                Name=f"{PREFIX}-search-master",
                SecretString=json.dumps({"username": "tradepipe-admin", "password": os.urandom(12).hex()}),
            )["ARN"]
            headers = {"APCA-API-KEY-ID": keys["api_key"], "APCA-API-SECRET-KEY": keys["secret_key"]}
            services = Services(STAGE, moto.url, provisioned, passphrase, front, master, template, headers)
            yield services, broker.url
    finally:
        osmem.close()
        moto.stop()


def check_functions(
    template: Template,
    runtime: FunctionRuntime,
    only: set[str],
    without: set[tuple[str, str]],
) -> list[Outcome]:
    functions = {f.short_name(PREFIX): f for f in template.functions()}
    outcomes: list[Outcome] = []
    with local_services(template) as (services, broker_url):
        names = sorted(functions, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))
        for name in names:
            if only and name not in only:
                continue
            outcomes.append(_check_one(functions[name], name, services, broker_url, runtime, without))
    return outcomes


def _check_one(
    function: Function,
    name: str,
    services: Services,
    broker_url: str,
    runtime: FunctionRuntime,
    without: set[tuple[str, str]],
) -> Outcome:
    layer_names = tuple(n for n in function_layers(function) if (name, n) not in without)
    outcome = Outcome(name, layer_names)
    known = {spec.name: spec for spec in LAYERS}
    unknown = [n for n in layer_names if n not in known]
    if unknown:
        outcome.error = f"layers {unknown} are not in infra/layer_specs.py"
        return outcome
    overlap = _overlap([runtime.layers.layer_dir(known[n]) / "python" for n in layer_names])
    if overlap:
        outcome.error = f"two layers ship the same files, Lambda would merge them: {overlap}"
        return outcome
    recipe = RECIPES.get(name)
    if recipe is None:
        outcome.error = f"no event recipe for {name!r}: add one to infra/checks/events.py"
        return outcome
    try:
        event, outcome.event = recipe(services, function)
    except Exception as exc:  # noqa: BLE001 - reported as this function's failure
        outcome.imported, outcome.error = True, f"could not build its event: {exc}"
        return outcome
    env = function_env(function, services, broker_url, runtime.runtime_dir, runtime.python)
    result = run_in_function_interpreter(
        runtime.python,
        runtime.path(function, layer_names),
        function.handler,
        event,
        env,
        function.name,
        function.timeout_s,
        function.memory_mb,
    )
    outcome.imported = bool(result.get("imported"))
    outcome.import_ms = float(result.get("import_ms", 0))
    outcome.invoked = bool(result.get("invoked"))
    outcome.invoke_ms = float(result.get("invoke_ms", 0))
    outcome.error = str(result.get("error", ""))
    outcome.response = result.get("response")
    outcome.origins = dict(result.get("origins", {}))
    if outcome.invoked:
        outcome.ok, outcome.summary = judge(name, outcome.response, services)
    elif outcome.imported and not outcome.error:
        outcome.error = _last_error_line(str(result.get("stderr", "")))
    return outcome


def _overlap(layer_dirs: list[Path]) -> list[str]:
    seen: dict[str, Path] = {}
    clashes = []
    for directory in layer_dirs:
        for entry in directory.iterdir() if directory.is_dir() else []:
            if entry.name in seen:
                clashes.append(f"{entry.name} ({seen[entry.name].parent.name}, {directory.parent.name})")
            seen[entry.name] = directory
    return clashes


def _last_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if re.search(r"Error|Exception", line)]
    return lines[-1][:300] if lines else stderr[-300:]


def arm64_sizes() -> list[FunctionSize]:
    target = BuildTarget.lambda_arm64()
    build_layers.build_all(target)
    return build_layers.function_sizes(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="FUNCTION")
    parser.add_argument(
        "--without-layer",
        action="append",
        default=[],
        metavar="FUNCTION:LAYER",
        help="drop a layer from a function (to see the check fail)",
    )
    parser.add_argument("--skip-sizes", action="store_true", help="skip the arm64 build and size check")
    args = parser.parse_args(argv)
    without = {(item.partition(":")[0], item.partition(":")[2]) for item in args.without_layer}
    started = time.monotonic()

    runtime = prepare_runtime()
    template = synthesize(CHECK_DIR / "cdk.out")

    outcomes = check_functions(template, runtime, set(args.only), without)
    failed = [o.function for o in outcomes if not o.ok]
    for outcome in outcomes:
        print(outcome.line())

    over: list[str] = []
    if not args.skip_sizes:
        print("arm64 / Python 3.12 layers (build/layers, as `make layers` builds them for deploy):")
        for size in arm64_sizes():
            print("  " + size.line())
            if size.over_limit:
                over.append(size.function)
    over_text = f", over 250 MB: {', '.join(over)}" if over else ""
    elapsed = time.monotonic() - started
    passed = len(outcomes) - len(failed)
    print(f"packaging check: {passed} of {len(outcomes)} functions ok{over_text} ({elapsed:.0f} s)")
    return 1 if failed or over or not outcomes else 0


if __name__ == "__main__":
    sys.exit(main())
