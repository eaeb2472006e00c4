"""Lambda's execution model on one machine: a function is a pool of containers, each a separate copy of
the handler module (its own Powertools resolver, batch processor, logger), and each container handles one
event at a time. Module-level state in a handler is therefore as safe locally as it is on AWS."""

from __future__ import annotations

import importlib
import importlib.util
import queue
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


class FunctionContainers:
    def __init__(self, function: str, size: int, wrap: Callable[[Handler], Handler] = lambda h: h) -> None:
        source = importlib.import_module(f"functions.{function}.handler").__file__
        if source is None:
            raise RuntimeError(f"functions.{function}.handler has no source file")
        self.function = function
        self._free: queue.Queue[Handler] = queue.Queue()
        for i in range(size):
            spec = importlib.util.spec_from_file_location(
                f"functions.{function}.handler__container{i}", Path(source)
            )
            if spec is None or spec.loader is None:
                raise RuntimeError(f"cannot load {source}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)  # a cold start
            self._free.put(wrap(module.lambda_handler))

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        handler = self._free.get()  # wait for a warm container, as a concurrency limit would
        try:
            return handler(event, context)
        finally:
            self._free.put(handler)
