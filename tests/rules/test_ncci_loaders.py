from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rules.ncci import MAI_TEXT, NCCIStore, read_medicaid_partial, read_mue, read_ptp

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"
PTP = FIX / "ptp_practitioner_sample.txt"
MUE = FIX / "mue_practitioner_sample.csv"


def test_ptp_reader_skips_disclaimer_and_header():
    edits = list(read_ptp(PTP))
    assert len(edits) == 10
    first = edits[0]
    assert (first.column1, first.column2, first.modifier) == ("43239", "43235", "1")
    assert first.effective == date(2015, 1, 1) and first.deleted is None and not first.prior_1996
    ecg = next(e for e in edits if e.column2 == "93005")
    assert ecg.prior_1996 and ecg.modifier == "0"
    deleted = next(e for e in edits if e.column1 == "12001")
    assert deleted.deleted == date(2024, 1, 1)
    assert deleted.in_force(date(2023, 12, 31)) and not deleted.in_force(date(2024, 1, 1))


def test_ptp_reader_accepts_csv_saved_from_xlsx(tmp_path):
    f = tmp_path / "ptp.csv"
    f.write_text(
        '"CPT codes ... copyright American Medical Association"\n'
        "Column 1,Column 2,*=in existence prior to 1996,Effective Date,Deletion Date *=no data,"
        '"Modifier 0=not allowed 1=allowed 9=not applicable",PTP Edit Rationale\n'
        ",,,,,,\n"
        '45380,45378,,1/1/2015,*,1,"Misuse of column two code with column one code"\n'
    )
    [e] = read_ptp(f)
    assert (e.column1, e.column2, e.effective, e.deleted) == ("45380", "45378", date(2015, 1, 1), None)


def test_mue_reader_keeps_the_mai_digit():
    edits = {e.code: e for e in read_mue(MUE)}
    assert len(edits) == 14
    assert (edits["36415"].value, edits["36415"].mai) == (2, "2")
    assert edits["36415"].mai_text == MAI_TEXT["2"] == "2 Date of Service Edit: Policy"
    assert edits["94640"].mai == "1" and not edits["94640"].per_day
    assert edits["20610"].per_day and edits["20610"].rationale == "Clinical: Medicare Data"


def test_medicaid_partial_list_is_shipped_and_read_as_mai_1():
    edits = list(read_medicaid_partial())
    assert len(edits) == 8253
    assert all(e.mai == "1" and e.source == "medicaid-partial" for e in edits)
    by_code = {e.code: e for e in edits}
    assert by_code["36415"].value == 2


def test_store_round_trip_on_disk(tmp_path):
    path = tmp_path / "ncci" / "ncci.sqlite"
    store = NCCIStore(path)
    assert store.import_ptp(read_ptp(PTP)) == 10
    assert store.import_mue(read_mue(MUE)) == 14
    store.close()
    again = NCCIStore(path)
    assert again.counts() == {"ptp": 10, "mue": 14}
    [e] = again.ptp_edits(["43235", "43239", "99213"], date(2026, 5, 1))
    assert (e.column1, e.column2) == ("43239", "43235")
    assert again.ptp_edits(["12001", "11042"], date(2026, 5, 1)) == []  # deleted 2024
    assert len(again.ptp_edits(["12001", "11042"], date(2023, 5, 1))) == 1
    assert again.mue("73560").mai == "1"
    assert again.mue("90471").source == "medicaid-partial"  # fallback
    assert NCCIStore(None, medicaid_fallback=False).mue("90471") is None


def test_an_empty_file_does_not_wipe_the_store(tmp_path):
    store = NCCIStore(None)
    store.import_mue(read_mue(MUE))
    junk = tmp_path / "junk.csv"
    junk.write_text("not,an,mue,file\n")
    assert store.import_mue(read_mue(junk), replace=True) == 0
    assert store.counts()["mue"] == 14


@pytest.mark.parametrize("text", ["", "*", "20260101", "2026-01-01", "1/1/2026"])
def test_dates(text):
    from rules.ncci.ptp import parse_date

    assert parse_date(text) == (None if text in ("", "*") else date(2026, 1, 1))
