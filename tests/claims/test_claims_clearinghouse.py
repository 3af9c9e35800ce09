"""The HTTP adapter against the real simulator on an ephemeral loopback port (no HTTP mocks)."""

from __future__ import annotations

import pytest

from claims.acks import parse_277
from claims.clearinghouse import (
    ClearinghouseAuthError,
    ClearinghouseConfig,
    ClearinghouseRequestError,
    ClearinghouseUnavailable,
    HttpClearinghouse,
    claim_payload,
)
from claims.remit import Category
from claims.simulator import ClearinghouseSimulator, load_rules, running_simulator
from claims.submission import submit_and_reconcile
from claims.x837p.build import build_837p, claim_from_encounter
from claims.x837p.validate import validate_837p
from medcore.model import CodeSuggestion, Encounter


def _no_sleep(_: float) -> None:
    pass


@pytest.fixture
def sim():
    with ClearinghouseSimulator(load_rules().without_noise()) as simulator:
        yield simulator


def _client(base_url: str, **kwargs) -> HttpClearinghouse:
    config = ClearinghouseConfig(base_url=base_url, **{"max_retries": 2, "read_timeout_s": 10.0, **kwargs})
    return HttpClearinghouse(config, sleep=_no_sleep)


@pytest.fixture
def x12(three_encounters: list[Encounter], settings, created) -> str:
    return build_837p([(e, claim_from_encounter(e)) for e in three_encounters], settings=settings, created=created)


def test_valid_837p_is_accepted_acknowledged_and_paid(sim, x12) -> None:
    with _client(sim.base_url) as client:
        outcome = submit_and_reconcile(client, x12, timeout_s=10)
        acks = client.fetch_acknowledgements(outcome.receipt.submission_id)
        remits = client.fetch_remittance(submission_id=outcome.receipt.submission_id)
    assert outcome.ack_999 == "accepted" and outcome.complete
    assert [c.claim_id for c in outcome.claims] == ["ENC-0001", "ENC-0002", "ENC-0003"]
    for claim in outcome.claims:
        assert claim.ack_277ca == "accepted" and claim.status_codes == ["A2:20"]
        assert claim.remit == "paid" and claim.paid > 0 and claim.categories == []
        assert claim.payment is not None and claim.payment.balanced
        assert any(a.startswith("CO-45") for a in claim.adjustments)  # contractual on paid lines
    commercial = outcome.claims[0]
    assert {a.split()[0] for a in commercial.adjustments} >= {"PR-1", "PR-2"}  # deductible, coinsurance
    # the simulator's own 277CA and 835 pass pyx12 (X214 and X221A1 maps)
    assert [d.kind for d in acks] == ["999", "277CA"]
    assert validate_837p(acks[1].x12).valid
    assert len(remits) == 1 and validate_837p(remits[0].x12).valid
    assert sum(r.payment_amount for r in outcome.remittances) == sum(c.paid for c in outcome.claims)


def test_invalid_837p_gets_a_rejecting_999_with_ik3_ik4(sim, x12) -> None:
    bad = x12.replace("CLM*ENC-0001*185.5*", "CLM*ENC-0001*ABC*").replace("SBR*P*18*******MB", "SBR*P*18*******QQ")
    with _client(sim.base_url) as client:
        outcome = submit_and_reconcile(client, bad, timeout_s=5)
        kinds = [d.kind for d in client.fetch_acknowledgements(outcome.receipt.submission_id)]
    assert outcome.ack_999 == "rejected"
    assert kinds == ["999"]  # nothing goes on to the payer
    ack = outcome.ack_999_detail[0]
    assert ack.status == "R" and ack.accepted_count == 0
    errors = {e.segment_id: e for t in ack.transactions for e in t.segment_errors}
    assert errors["CLM"].code == "8" and errors["CLM"].elements[0].position == 2 and errors["CLM"].elements[0].code == "6"
    assert errors["SBR"].elements[0].position == 9 and errors["SBR"].elements[0].code == "7"
    assert "QQ" not in repr(errors["SBR"])  # the bad value is kept out of repr (it can be PHI)
    assert all(c.ack_277ca == "not_sent" and c.remit == "none" for c in outcome.claims)


def test_same_idempotency_key_is_one_submission(sim, x12) -> None:
    with _client(sim.base_url) as client:
        first = client.submit_x12(x12, idempotency_key="key-1")
        again = client.submit_x12(x12, idempotency_key="key-1")
        default_a = client.submit_x12(x12)
        default_b = client.submit_x12(x12)  # default key: a digest of the bytes
        with pytest.raises(ClearinghouseRequestError) as info:
            client.submit_x12(x12.replace("ENC-0001", "ENC-0009"), idempotency_key="key-1")
    assert again.submission_id == first.submission_id and again.replayed and not first.replayed
    assert default_a.submission_id == default_b.submission_id
    assert info.value.status == 422
    assert sim.submission_count == 2


def test_lost_response_is_retried_with_the_same_key(sim, x12) -> None:
    sim.inject_fault(status=503, after_processing=True, times=1)
    with _client(sim.base_url) as client:
        receipt = client.submit_x12(x12, idempotency_key="lost-1")
    assert receipt.replayed  # the retry got the original receipt back
    assert sim.submission_count == 1 and sim.requests_seen == 2


def test_5xx_is_retried_then_a_clear_error(sim, x12) -> None:
    sim.inject_fault(status=503, times=10)
    with _client(sim.base_url, max_retries=2) as client, pytest.raises(ClearinghouseUnavailable) as info:
        client.submit_x12(x12)
    assert info.value.attempts == 3 and info.value.last_status == 503
    assert "after 3 attempt(s)" in str(info.value) and "ENC-0001" not in str(info.value)
    assert sim.requests_seen == 3 and sim.submission_count == 0


def test_transient_5xx_then_success(sim, x12) -> None:
    sim.inject_fault(status=502, times=2)
    with _client(sim.base_url, max_retries=3) as client:
        receipt = client.submit_x12(x12)
    assert receipt.submission_id and sim.submission_count == 1 and sim.requests_seen == 3


def test_timeout_is_retried_then_a_clear_error(sim, x12) -> None:
    sim.inject_fault(status=None, delay_s=0.6, times=2)
    with _client(sim.base_url, max_retries=1, read_timeout_s=0.2) as client, pytest.raises(ClearinghouseUnavailable) as info:
        client.fetch_acknowledgements("sub_unknown")
    assert info.value.attempts == 2 and "timed out" in str(info.value)


def test_authentication() -> None:
    with running_simulator(api_key="k-123", bearer_token="t-456") as base_url:
        with _client(base_url) as client, pytest.raises(ClearinghouseAuthError) as info:
            client.fetch_remittance()
        assert info.value.status == 401
        with _client(base_url, api_key="k-123") as client:
            assert client.fetch_remittance() == []
        with _client(base_url, bearer_token="t-456") as client:
            assert client.fetch_remittance() == []


def test_json_submission_and_denial_categories(sim, office_visit: Encounter) -> None:
    # a diagnosis the fictional commercial plan does not cover, pointed to by the lab line
    encounter = office_visit.model_copy(update={
        "diagnoses": [*office_visit.diagnoses, CodeSuggestion(code="Z41.1", rank=4)],
    })
    claim = claim_from_encounter(encounter)
    lines = [claim.lines[0], claim.lines[1].model_copy(update={"dx_pointers": [4]}), claim.lines[2]]
    claim = claim.model_copy(update={"lines": lines})
    with _client(sim.base_url) as client:
        receipt = client.submit_json(claim_payload(claim, encounter))
        acks = client.fetch_acknowledgements(receipt.submission_id)
        remits = client.fetch_remittance(submission_id=receipt.submission_id)
    assert receipt.format == "json" and receipt.claim_ids == ["ENC-0001"]
    assert [d.kind for d in acks] == ["277CA"]
    assert parse_277(acks[0].x12)[0].claims[0].accepted
    payment = remits[0].parse()[0].claims[0]
    assert payment.status == "partial" and payment.balanced
    assert payment.denial_categories == [Category.medical_necessity]
    assert [a.label for s in payment.services if s.code == "83036" for a in s.adjustments] == ["CO-167"]


def test_bad_npi_is_rejected_by_the_277ca(sim, x12) -> None:
    # pyx12 does not check NPI check digits, so the 999 accepts; the clearinghouse's 277CA rejects
    bad = x12.replace("XX*1003000126", "XX*1003000127")
    with _client(sim.base_url) as client:
        outcome = submit_and_reconcile(client, bad, timeout_s=10)
    by_id = {c.claim_id: c for c in outcome.claims}
    assert outcome.ack_999 == "accepted"
    assert by_id["ENC-0003"].ack_277ca == "rejected" and by_id["ENC-0003"].status_codes == ["A7:562:85"]
    assert by_id["ENC-0003"].remit == "none"
    assert by_id["ENC-0001"].remit == "paid"


def test_remittance_since_filter(sim, x12) -> None:
    with _client(sim.base_url) as client:
        outcome = submit_and_reconcile(client, x12, timeout_s=10)
        remit = client.fetch_remittance(submission_id=outcome.receipt.submission_id)[0]
        assert client.fetch_remittance(since=remit.created_at) == []
        assert len(client.fetch_remittance()) == 1
