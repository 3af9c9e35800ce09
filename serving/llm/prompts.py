"""Versioned prompt files (``serving/llm/prompts/*.txt``).

A prompt file starts with ``# id: NAME-vN`` and other ``#`` comment lines; the rest is a
:class:`string.Template`. The id travels with every output (``prompt_version``), so a result can be
traced to the exact wording that produced it. Change wording in a new file, never in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

PROMPT_DIR = Path(__file__).resolve().parent / "prompts"


@dataclass(frozen=True)
class Prompt:
    id: str
    template: Template

    def render(self, **values: str) -> str:
        return self.template.substitute(**values)


@lru_cache(maxsize=16)
def load_prompt(name: str) -> Prompt:
    """``load_prompt("adjudicate_v1")`` reads ``prompts/adjudicate_v1.txt``."""
    path = PROMPT_DIR / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"no prompt file {path.name} in {PROMPT_DIR}")
    lines = path.read_text().splitlines()
    ids = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("# id:")]
    if not ids:
        raise ValueError(f"{path.name}: no '# id:' line")
    body = "\n".join(ln for ln in lines if not ln.startswith("#")).strip("\n") + "\n"
    return Prompt(ids[0], Template(body))
