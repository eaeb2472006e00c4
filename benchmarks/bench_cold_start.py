"""Cold start of each handler: import + first invocation in a fresh interpreter, beside its floor.

Each function runs as `make check-packaging` runs it (infra/checks/packaging.py): a fresh `python3.12 -I -S
-B` whose path is only its code asset, its layers (built for this machine, bytecode included, as deployed)
and the boto3 the Lambda runtime ships, invoked once with a real-shaped event against moto, the paper
broker and osmem started once in this process. The figure is the handler's import plus that first
invocation, timed inside the interpreter (its own start-up, equal for both, is left out).

The floor is measured in the same run, right after each one: a bare handler (benchmarks/cold_start_floor/)
that imports boto3 and Powertools' Logger and makes the same AWS calls, as botocore sent them in an
unmeasured first round that also warms the page cache. The broker is reset before each round so every
round trades the same way. Medians of ROUNDS; the ratio is the median of each round's cold / floor.
Target: the webhook (TradingView waits on it, and never retries) within 1.3x its floor. The others are
asynchronous or run at deploy: shown, no target.
"""

from __future__ import annotations

import copy
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._timing import write_json

ROUNDS = 5
TARGETS = {"webhook": 1.3}
FLOOR_DIR = Path(__file__).with_name("cold_start_floor")
NO_TARGET = {"search-setup": "runs at deploy", "risk": "asynchronous", "executor": "asynchronous"}


@dataclass
class ColdStart:
    function: str
    layers: tuple[str, ...]
    events: list[str] = field(default_factory=list)
    import_ms: list[float] = field(default_factory=list)
    invoke_ms: list[float] = field(default_factory=list)
    floor_import_ms: list[float] = field(default_factory=list)
    floor_invoke_ms: list[float] = field(default_factory=list)
    aws_calls: list[str] = field(default_factory=list)

    @property
    def cold_ms(self) -> list[float]:
        return [a + b for a, b in zip(self.import_ms, self.invoke_ms, strict=True)]

    @property
    def floor_ms(self) -> list[float]:
        return [a + b for a, b in zip(self.floor_import_ms, self.floor_invoke_ms, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(c / f for c, f in zip(self.cold_ms, self.floor_ms, strict=True))

    @property
    def target(self) -> float | None:
        return TARGETS.get(self.function)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target

    def line(self) -> str:
        med = statistics.median
        target = (
            f"target <= {self.target:.2f}x {'met' if self.met else 'MISSED'}"
            if self.target is not None
            else f"no target ({NO_TARGET.get(self.function, 'asynchronous')})"
        )
        return (
            f"cold start {self.function:<13} {med(self.cold_ms):7.0f} ms "
            f"(import {med(self.import_ms):5.0f} + invoke {med(self.invoke_ms):5.0f})  "
            f"floor {med(self.floor_ms):6.0f} ms (import {med(self.floor_import_ms):5.0f} + "
            f"invoke {med(self.floor_invoke_ms):5.0f})  "
            f"ratio {self.ratio:4.2f}x  {target}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "layers": list(self.layers),
            "events": self.events,
            "aws_calls": self.aws_calls,
            "import_ms": self.import_ms,
            "invoke_ms": self.invoke_ms,
            "cold_ms": self.cold_ms,
            "floor_import_ms": self.floor_import_ms,
            "floor_invoke_ms": self.floor_invoke_ms,
            "floor_ms": self.floor_ms,
            "median_cold_ms": statistics.median(self.cold_ms),
            "median_floor_ms": statistics.median(self.floor_ms),
            "ratio": round(self.ratio, 3),
            "target_ratio": self.target,
            "met": self.met,
        }


class _Rounds:
    """Builds each round's events so every round does the same work: a new alert (its own strategy name,
    so its own signal id), the messages it left behind, only the stream records that round wrote."""

    def __init__(self, services: Any, broker_url: str) -> None:
        self.services = services
        self.broker_url = broker_url
        self.round = 0
        self._seen: set[str] = set()

    def start(self, number: int) -> None:
        import httpx

        self.round = number
        # Same cash, no orders or positions: risk sizes and the executor places the same bracket each round.
        httpx.post(
            f"{self.broker_url}/_paper/reset", headers=self.services.broker_headers, timeout=10
        ).raise_for_status()

    def event(self, name: str, function: Any) -> tuple[dict[str, Any], str]:
        from infra.checks.events import RECIPES

        event, description = RECIPES[name](self.services, function)
        if name == "webhook":
            body = json.loads(event["body"])
            event = copy.deepcopy(event)
            event["body"] = json.dumps({**body, "strategy": f"cold_start_{self.round}"})
        if name == "indexer":
            fresh = [r for r in event["Records"] if r["dynamodb"]["SequenceNumber"] not in self._seen]
            self._seen.update(r["dynamodb"]["SequenceNumber"] for r in event["Records"])
            event = {"Records": fresh}
            description = f"{len(fresh)} new stream record(s)"
        return event, description


def _invoke(
    runtime: Any,
    path: list[Path],
    handler: str,
    event: dict[str, Any],
    env: dict[str, str],
    function: Any,
    record: bool = False,
) -> dict[str, Any]:
    from infra.checks.packaging import run_in_function_interpreter

    result = run_in_function_interpreter(
        runtime.python,
        path,
        handler,
        event,
        env,
        function.name,
        function.timeout_s,
        function.memory_mb,
        record_aws_calls=record,
    )
    if not result.get("invoked"):
        raise RuntimeError(f"{function.name}: {result.get('error') or result.get('stderr', '')[-2000:]}")
    return result


def _replayable(calls: list[dict[str, Any]], scratch_queue: str) -> list[dict[str, Any]]:
    """The calls as the floor makes them: the same operation and body, but a message goes to a scratch
    queue of the same kind, so the replay adds nothing the next function would receive."""
    replay = []
    for call in calls:
        if call["params"] is None:
            raise RuntimeError(f"{call['service']}.{call['operation']} is not a JSON call: cannot replay it")
        if call["service"] == "sqs" and "QueueUrl" in call["params"]:
            call = {**call, "params": {**call["params"], "QueueUrl": scratch_queue}}
        replay.append(call)
    return replay


def run(rounds: int = ROUNDS, only: tuple[str, ...] = ()) -> list[ColdStart]:
    # Imported here: `python -m benchmarks` loads every module, and these start CDK, moto and osmem.
    from infra.checks.events import ORDER
    from infra.checks.packaging import (
        CHECK_DIR,
        PREFIX,
        function_env,
        function_layers,
        judge,
        local_services,
        prepare_runtime,
        synthesize,
    )

    runtime = prepare_runtime(say=lambda _: None)
    template = synthesize(CHECK_DIR / "cdk.out")
    functions = {f.short_name(PREFIX): f for f in template.functions()}
    names = [n for n in ORDER if n in functions and (not only or n in only)]
    floor_path = [FLOOR_DIR, runtime.layer_path("core"), runtime.runtime_dir]
    results = {n: ColdStart(n, function_layers(functions[n])) for n in names}
    calls: dict[str, list[dict[str, Any]]] = {}
    with local_services(template) as (services, broker_url):
        from infra.checks.emulated_aws import client

        sqs: Any = client("sqs", services.aws_url)
        scratch_queue = sqs.create_queue(
            QueueName=f"{PREFIX}-cold-start-floor.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        rounds_ = _Rounds(services, broker_url)
        for number in range(rounds + 1):  # round 0 records the AWS calls and warms the page cache
            rounds_.start(number)
            for name in names:
                function = functions[name]
                env = function_env(function, services, broker_url, runtime.runtime_dir, runtime.python)
                event, description = rounds_.event(name, function)
                real = _invoke(
                    runtime,
                    runtime.path(function),
                    function.handler,
                    event,
                    env,
                    function,
                    record=number == 0,
                )
                ok, summary = judge(name, real.get("response"), services)
                if not ok:
                    raise RuntimeError(f"{name} round {number}: {summary}")
                if number == 0:
                    calls[name] = _replayable(real["aws_calls"], scratch_queue)
                    results[name].aws_calls = [f"{c['service']}.{c['operation']}" for c in calls[name]]
                    continue
                floor = _invoke(
                    runtime, floor_path, "handler.lambda_handler", {"calls": calls[name]}, env, function
                )
                result = results[name]
                result.events.append(description)
                result.import_ms.append(float(real["import_ms"]))
                result.invoke_ms.append(float(real["invoke_ms"]))
                result.floor_import_ms.append(float(floor["import_ms"]))
                result.floor_invoke_ms.append(float(floor["invoke_ms"]))
    ordered = [results[n] for n in names]
    write_json(
        "cold-start",
        {
            "python": runtime.version,
            "runtime_boto3": runtime.runtime_dir.name,
            "rounds": rounds,
            "functions": {r.function: r.as_json() for r in ordered},
        },
    )
    return ordered
