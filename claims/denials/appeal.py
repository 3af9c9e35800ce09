"""Appeal letters for appealable denials, from a versioned template (``claims/data/appeal_template.txt``).

:class:`TemplateAppealWriter` works without any model. An LLM-backed writer can replace it by
implementing :class:`AppealWriter`: it receives the same :class:`AppealContext` (denial reasons,
CARC texts and categories, evidence spans) and returns the letter text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from string import Template
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from claims.remit import CarcCatalog, Category, ClaimPayment, load_catalog
from medcore.model import CodeSuggestion, Encounter, Evidence

__all__ = ["APPEAL_TEMPLATE", "AppealContext", "AppealWriter", "NotAppealable", "TemplateAppealWriter", "draft_appeal"]

APPEAL_TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "appeal_template.txt"


class NotAppealable(ValueError):
    """The denial's categories are not appealable (correct and resubmit instead); names the categories."""


class DenialReason(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str = Field(description="e.g. CO-50")
    carc_text: str
    category: Category
    amount: str
    remarks: list[str] = Field(default_factory=list)


class AppealContext(BaseModel):
    """What any appeal writer gets."""

    model_config = ConfigDict(frozen=True)

    claim_id: str
    payer_claim_number: str
    payer_name: str
    provider_name: str
    date_of_service: str
    charge: str
    paid: str
    denied_amount: str
    procedures: list[str]
    reasons: list[DenialReason]
    category: Category
    category_action: str
    evidence: list[tuple[str, Evidence]] = Field(description="(code, evidence span) pairs from the coder")
    catalog_version: str


@runtime_checkable
class AppealWriter(Protocol):
    def write(self, context: AppealContext) -> str: ...


class TemplateAppealWriter:
    """Fills the versioned template; every denial reason is named with its CARC, text and category."""

    def __init__(self, template: Path = APPEAL_TEMPLATE, catalog: CarcCatalog | None = None):
        lines = template.read_text().splitlines()
        self.version = next((ln.split("version", 1)[1].strip() for ln in lines if ln.startswith("#") and "version" in ln), "")
        self.template = Template("\n".join(ln for ln in lines if not ln.startswith("#")))
        self.catalog = catalog or load_catalog()

    def write(self, context: AppealContext) -> str:
        reasons = "\n".join(
            f"  - {r.label} ({r.amount}): {r.carc_text} [category: {r.category.value}]"
            + (f" Remarks: {', '.join(r.remarks)}." if r.remarks else "")
            for r in context.reasons
        )
        evidence = "\n".join(
            f'  - {code}: "{ev.text}" (note {ev.note_index + 1}, characters {ev.start}-{ev.end})' for code, ev in context.evidence
        ) or "  - (no evidence spans were attached by the coder; attach the note)"
        closing = {
            Category.prior_authorization: "Please review the enclosed authorization documentation and reprocess the claim.",
            Category.bundling: "The services were distinct and separately identifiable; please reprocess the lines separately.",
            Category.timely_filing: "The enclosed clearinghouse acceptance report (277CA) shows the claim was filed in time.",
        }.get(context.category, "Please review the documentation cited above and reprocess the claim for payment.")
        return self.template.substitute(
            claim_id=context.claim_id,
            payer_claim_number=context.payer_claim_number,
            payer_name=context.payer_name,
            provider_name=context.provider_name,
            date_of_service=context.date_of_service,
            charge=context.charge,
            paid=context.paid,
            denied_amount=context.denied_amount,
            procedures=", ".join(context.procedures),
            reasons=reasons,
            category_label=context.category.value.replace("_", " "),
            category_action=context.category_action,
            evidence=evidence,
            closing=closing,
        ).strip() + "\n"


def draft_appeal(
    denial: ClaimPayment,
    encounter: Encounter,
    evidence: Sequence[CodeSuggestion] | None = None,
    *,
    writer: AppealWriter | None = None,
    catalog: CarcCatalog | None = None,
) -> str:
    """Draft an appeal letter for a denied (or partly denied) claim.

    Parameters
    ----------
    denial : ClaimPayment
        The claim as the 835 reported it (see :func:`claims.remit.parse_835`).
    encounter : Encounter
        The encounter the claim came from (payer, providers, date of service).
    evidence : sequence of CodeSuggestion, optional
        The coder's suggestions whose ``evidence`` spans the letter cites; default
        ``encounter.diagnoses``.
    writer : AppealWriter, optional
        Default :class:`TemplateAppealWriter`.

    Raises
    ------
    NotAppealable
        When no denial adjustment on the claim is in an appealable category.
    """
    catalog = catalog or load_catalog()
    denials = [a for a in denial.all_adjustments() if catalog.is_denial(a.category) and a.amount > 0]
    appealable = [a for a in denials if catalog.is_appealable(a.category)]
    if not appealable:
        found = sorted({a.category.value for a in denials}) or ["none"]
        raise NotAppealable(f"claim {denial.claim_id}: no appealable denial (categories: {', '.join(found)})")
    remarks_by_line = {id(a): s.remarks for s in denial.services for a in s.adjustments}
    reasons = [
        DenialReason(label=a.label, carc_text=a.carc_text or catalog.carc_info(a.carc).text, category=a.category,
                     amount=f"{a.amount:.2f}", remarks=remarks_by_line.get(id(a), denial.remarks))
        for a in appealable
    ]
    suggestions = list(encounter.diagnoses if evidence is None else evidence)
    spans = [(s.code, ev) for s in suggestions for ev in s.evidence]
    category = appealable[0].category
    provider = encounter.billing_provider or encounter.rendering_provider
    context = AppealContext(
        claim_id=denial.claim_id,
        payer_claim_number=denial.payer_claim_number or "not given",
        payer_name=encounter.payer.name,
        provider_name=provider.name if provider else "Billing office",
        date_of_service=encounter.date_of_service.isoformat(),
        charge=f"{denial.charge:.2f}",
        paid=f"{denial.paid:.2f}",
        denied_amount=f"{denial.denied_amount:.2f}",
        procedures=[s.code + (f"-{'-'.join(s.modifiers)}" if s.modifiers else "") for s in denial.services]
        or [p.code for p in encounter.procedures],
        reasons=reasons,
        category=category,
        category_action=catalog.categories[category].action,
        evidence=spans,
        catalog_version=catalog.version,
    )
    return (writer or TemplateAppealWriter(catalog=catalog)).write(context)
