"""The 837P transaction set (ST...SE) and the interchange envelope (ISA/GS ... GE/IEA) around it."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field, model_validator

from claims.x837p.loops import Header, Loop1000A, Loop1000B, Loop2000A
from claims.x837p.segments import DEFAULT_DELIMITERS, GE, GS, IEA, ISA, SE, Delimiters, Segment


class HealthCareClaimProfessional(BaseModel):
    """One 837P transaction set: header, submitter, receiver and billing-provider hierarchies.

    The SE trailer is not stored: it is derived when the set is rendered, so its segment count
    (SE01) is always the exact number of segments from ST to SE inclusive.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    header: Header
    loop_1000a: Loop1000A
    loop_1000b: Loop1000B
    loop_2000a: list[Loop2000A] = Field(min_length=1)

    @model_validator(mode="after")
    def _hierarchy(self) -> HealthCareClaimProfessional:
        # HL01 numbers the levels 1, 2, 3... in the order they are transmitted.
        ids = [s.hierarchical_id_number for s in self._body() if s.segment_id == "HL"]
        if ids != list(range(1, len(ids) + 1)):
            raise ValueError(f"HL01 must run 1..n in transmission order, got {ids}")
        return self

    def _body(self) -> Iterator[Segment]:
        yield from self.header.segments()
        yield from self.loop_1000a.segments()
        yield from self.loop_1000b.segments()
        for billing in self.loop_2000a:
            yield from billing.segments()

    def segments(self) -> list[Segment]:
        """All segments from ST to SE, SE included."""
        body = list(self._body())
        control = self.header.st_segment.transaction_set_control_number
        return [*body, SE(number_of_included_segments=len(body) + 1, transaction_set_control_number=control)]


class Interchange(BaseModel):
    """An ISA/IEA interchange holding one GS/GE functional group of 837P transaction sets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    isa: ISA
    gs: GS
    transactions: list[HealthCareClaimProfessional] = Field(min_length=1)

    @model_validator(mode="after")
    def _control_numbers(self) -> Interchange:
        controls = [t.header.st_segment.transaction_set_control_number for t in self.transactions]
        if len(set(controls)) != len(controls):
            raise ValueError("ST02 must be unique within the functional group")
        return self

    def segments(self) -> list[Segment]:
        out: list[Segment] = [self.isa, self.gs]
        for transaction in self.transactions:
            out.extend(transaction.segments())
        out.append(GE(number_of_transaction_sets_included=len(self.transactions), group_control_number=self.gs.group_control_number))
        out.append(IEA(number_of_included_functional_groups=1, interchange_control_number=self.isa.interchange_control_number))
        return out

    def render(self, delimiters: Delimiters = DEFAULT_DELIMITERS, *, line_breaks: bool = True) -> str:
        """The interchange as X12 text, one segment per line unless ``line_breaks`` is false."""
        if (self.isa.repetition_separator, self.isa.component_element_separator) != (delimiters.repetition, delimiters.component):
            raise ValueError("ISA11/ISA16 must announce the delimiters used to render")
        joiner = "\n" if line_breaks else ""
        return joiner.join(s.render(delimiters) for s in self.segments()) + joiner
