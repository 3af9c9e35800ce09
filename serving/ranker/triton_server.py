"""Serve the fused ranker's scoring head on a real Triton Inference Server (pytriton).

Runs from its own virtualenv, which ``make triton-venv`` creates (pytriton pins protobuf 6.x; the
main env has protobuf 7 through Ray)::

    LD_LIBRARY_PATH=$(.venv-triton/bin/python -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))') \\
    PYTHONPATH=. .venv-triton/bin/python -m serving.ranker.triton_server --http-port 8010

pytriton serves on CPU as well as on GPU. Model ``fused_head``: ``FEATURES`` FP64 ``[-1, 5]`` in,
``SCORES`` FP64 ``[-1]`` out, one request may carry the rows of many mentions (the Ray
ranker deployment sends a whole ``@serve.batch`` batch as one request).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

from serving.ranker.head import FEATURES, fused_head

MODEL = "fused_head"


def _infer(requests):
    return [{"SCORES": fused_head(r["FEATURES"]).astype(np.float64)} for r in requests]


def main(argv: list[str] | None = None) -> None:
    from pytriton.model_config import ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--http-port", type=int, default=8010)
    ap.add_argument("--grpc-port", type=int, default=8011)
    ap.add_argument("--metrics-port", type=int, default=8012)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = TritonConfig(
        http_address="127.0.0.1", http_port=args.http_port, grpc_address="127.0.0.1", grpc_port=args.grpc_port,
        metrics_port=args.metrics_port, allow_metrics=False,
    )
    with Triton(config=config) as triton:
        triton.bind(
            model_name=MODEL,
            infer_func=_infer,
            inputs=[Tensor(name="FEATURES", dtype=np.float64, shape=(-1, len(FEATURES)))],
            outputs=[Tensor(name="SCORES", dtype=np.float64, shape=(-1,))],
            config=ModelConfig(batching=False, decoupled=False),
            strict=True,
        )
        triton.serve()


if __name__ == "__main__":
    main()
