"""Batch coding on a Ray cluster with Ray Data: ``map_batches`` over the Coder.

Ray is imported lazily (``ray[serve]`` is an optional dependency); :func:`ray_available` says whether
it can be used. Each actor loads one Coder (dense retrieval per settings) and codes a batch of
encounters (Encounter JSON in the ``encounter`` column); the result column ``codes`` holds the
ranked ICD-10-CM codes and ``em_level`` the suggested E/M code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["CoderBatch", "code_with_ray", "ray_available"]


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


class CoderBatch:
    """The callable class Ray Data instantiates once per actor."""

    def __init__(self, dense: bool | None = False):
        from serving.pipeline.coder import Coder

        self.coder = Coder(dense=dense)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from medcore.model import Encounter

        codes, em = [], []
        for raw in batch["encounter"]:
            result = self.coder.code(Encounter.model_validate_json(raw))
            codes.append([c.code for c in result.codes])
            em.append((result.em_level or {}).get("code") or "")
        return {"encounter_id": [Encounter.model_validate_json(r).encounter_id for r in batch["encounter"]],
                "codes": codes, "em_level": em}


def code_with_ray(encounters: Iterable[str], concurrency: int = 1, batch_size: int = 16,
                  num_cpus: float = 1.0, dense: bool | None = False) -> list[dict[str, Any]]:
    """Code Encounter JSON strings on the current Ray cluster (``ray.init`` first, or a local one starts)."""
    import ray.data

    ds = ray.data.from_items([{"encounter": e} for e in encounters])
    out = ds.map_batches(CoderBatch, fn_constructor_kwargs={"dense": dense}, batch_size=batch_size,
                         concurrency=concurrency, num_cpus=num_cpus, batch_format="numpy")
    return [{"encounter_id": r["encounter_id"], "codes": list(r["codes"]), "em_level": r["em_level"]}
            for r in out.iter_rows()]
