"""Every shared sample either parses into an Encounter or raises IngestError, never anything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcore.errors import IngestError
from medcore.ingest import parse
from medcore.model import Encounter

REPO = Path(__file__).resolve().parents[3]
SHARED = (REPO / ".." / "shared").resolve()
HL7_DIR = SHARED / "data" / "hl7v2" / "ms-fhir-converter"
CCDA_DIR = SHARED / "data" / "fhir" / "ccda"
SYNTHEA_DIR = SHARED / "data" / "fhir" / "synthea-r4"

if not SHARED.is_dir():
    pytest.skip("../shared is not present on this machine", allow_module_level=True)


def _files(folder: Path) -> list[Path]:
    return (
        sorted(p for p in folder.iterdir() if p.is_file() and p.name != "LICENSE") if folder.is_dir() else []
    )


def _outcome(path: Path) -> Encounter | IngestError:
    try:
        return parse(path.read_bytes())
    except IngestError as exc:
        assert exc.field and exc.reason
        return exc


@pytest.mark.parametrize("path", _files(HL7_DIR), ids=lambda p: p.name)
def test_hl7_sample_parses_or_raises_ingest_error(path: Path) -> None:
    result = _outcome(path)
    if isinstance(result, Encounter):
        assert result.encounter_id and result.date_of_service.year > 1900
        assert all(n.source_format == "hl7" for n in result.notes)


@pytest.mark.parametrize("path", _files(CCDA_DIR), ids=lambda p: p.name)
def test_ccda_folder_sample_parses_or_raises_ingest_error(path: Path) -> None:
    result = _outcome(path)
    if isinstance(result, Encounter):
        assert result.encounter_id and result.date_of_service.year > 1900


@pytest.mark.parametrize("path", _files(SYNTHEA_DIR), ids=lambda p: p.name[:20])
def test_synthea_bundle_parses_or_raises_ingest_error(path: Path) -> None:
    result = _outcome(path)
    # These patient-history bundles carry no DocumentReference, so there is no note to code.
    assert isinstance(result, IngestError)
    assert result.field == "Bundle.entry"


def test_sample_outcomes_match_the_known_split() -> None:
    hl7 = [_outcome(p) for p in _files(HL7_DIR)]
    ccda = [_outcome(p) for p in _files(CCDA_DIR) if p.suffix == ".ccda"]
    # 73 of the 139 messages are ADT/ORU/MDM with usable content; the rest are other message types
    # or PDF-only documents. 4 C-CDA files are unstructured PDFs or external references.
    assert sum(isinstance(r, Encounter) for r in hl7) == 73
    assert sum(isinstance(r, Encounter) for r in ccda) == 18
    with_notes = [r for r in hl7 if isinstance(r, Encounter) and r.notes]
    assert len(with_notes) >= 5


@pytest.mark.parametrize("name", ["CDA_with_Embedded_PDF.ccda", "Unstructured_Document_embed.ccda"])
def test_embedded_pdf_is_refused_by_name(name: str) -> None:
    with pytest.raises(IngestError) as err:
        parse((CCDA_DIR / name).read_bytes())
    assert err.value.source_format == "ccda"
    assert "application/pdf" in err.value.reason


def test_external_reference_is_refused() -> None:
    with pytest.raises(IngestError) as err:
        parse((CCDA_DIR / "Unstructured_Document_reference.ccda").read_bytes())
    assert err.value.field.endswith("nonXMLBody/text/reference")
