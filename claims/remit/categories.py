"""CARC/RARC → actionable categories, read from the versioned ``claims/data/carc_categories.yaml``."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

__all__ = ["CATEGORIES_FILE", "CarcCatalog", "Category", "CodeInfo", "load_catalog"]

CATEGORIES_FILE = Path(__file__).resolve().parent.parent / "data" / "carc_categories.yaml"


class Category(StrEnum):
    eligibility = "eligibility"
    prior_authorization = "prior_authorization"
    coding_error = "coding_error"
    medical_necessity = "medical_necessity"
    bundling = "bundling"
    timely_filing = "timely_filing"
    duplicate = "duplicate"
    contractual = "contractual"
    patient_responsibility = "patient_responsibility"
    other = "other"


class CategoryInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    denial: bool
    appealable: bool
    action: str


class CodeInfo(BaseModel):
    """One CARC or RARC: its category and a short paraphrase of its meaning."""

    model_config = ConfigDict(frozen=True)

    code: str
    category: Category
    text: str
    known: bool = True


class CarcCatalog(BaseModel):
    """The category data file, loaded; ``version`` and ``source`` travel with every report."""

    model_config = ConfigDict(frozen=True)

    version: str
    source: str
    categories: dict[Category, CategoryInfo]
    carc: dict[str, CodeInfo]
    rarc: dict[str, CodeInfo]

    def carc_info(self, code: str) -> CodeInfo:
        code = code.strip().upper()
        return self.carc.get(code) or CodeInfo(code=code, category=Category.other, text="Unknown CARC.", known=False)

    def rarc_info(self, code: str) -> CodeInfo:
        code = code.strip().upper()
        return self.rarc.get(code) or CodeInfo(code=code, category=Category.other, text="Unknown RARC.", known=False)

    def categorize(self, group: str, carc: str, rarcs: list[str] | tuple[str, ...] = ()) -> Category:
        """The actionable category of one adjustment.

        The CARC decides. A generic CARC (category ``other``, such as 16 or A1) is refined by the
        first remark code with a specific category, because remark codes say what is missing. A
        ``PR`` adjustment whose CARC is contractual is the patient's share, not a write-off.
        """
        category = self.carc_info(carc).category
        if category is Category.other:
            for rarc in rarcs:
                specific = self.rarc_info(rarc).category
                if specific not in (Category.other, Category.contractual):
                    return specific
        if group.upper() == "PR" and category is Category.contractual:
            return Category.patient_responsibility
        return category

    def is_denial(self, category: Category) -> bool:
        return self.categories[category].denial

    def is_appealable(self, category: Category) -> bool:
        return self.categories[category].appealable


@lru_cache(maxsize=4)
def load_catalog(path: Path = CATEGORIES_FILE) -> CarcCatalog:
    """Load (and cache) a category file; the default is the one shipped in ``claims/data``."""
    raw = yaml.safe_load(path.read_text())
    missing = {c.value for c in Category} - set(raw["categories"])
    if missing:
        raise ValueError(f"{path.name}: categories missing: {sorted(missing)}")
    return CarcCatalog(
        version=str(raw["version"]),
        source=" ".join(str(raw["source"]).split()),
        categories=raw["categories"],
        carc={str(k): CodeInfo(code=str(k), **v) for k, v in raw["carc"].items()},
        rarc={str(k): CodeInfo(code=str(k), **v) for k, v in raw["rarc"].items()},
    )
