"""The coder: an encounter in, ranked ICD-10-CM suggestions with confidence and evidence out.

sections → mentions → assertion (ConText) → guideline filter → hybrid retrieval → fused ranking →
Excludes1 resolution → ranked suggestions. Plain functions and one class; the Ray Serve deployment,
the Lambda handler and the CLI are adapters around :class:`Coder`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from medcore.model import Assertion, CodeSuggestion, Encounter, Evidence, Setting
from medcore.refdata.icd10cm import CodeSet, parse_code_refs
from medcore.refdata.releases import codeset_for, select_release
from medcore.settings import Settings, get_settings
from rules.demographics import conflicts_with_age, conflicts_with_sex
from rules.em_level import em_level
from serving.pipeline.assertion import AssertionFlags, assess
from serving.pipeline.combinations import combine, hypertension_code, missing_additional, supported
from serving.pipeline.guidelines import (
    HISTORY_ROUTES,
    WEIGHT_CONDITIONS,
    adverse_effect,
    antineoplastic_encounter,
    bmi_code,
    episode_of_care,
    history_chapter_codes,
    history_code,
    history_query,
    hormone_sensitivity,
    immunization_given,
    long_term_drugs,
    malignancy_follow_up,
    osteoporotic_fracture,
    preventive_exam_code,
    receptor_status,
    screening_exam,
    sepsis_first,
    social_determinants,
    status_codes,
    tobacco_status,
    treatment_history,
)
from serving.pipeline.mentions import Mention, conjuncts, extract
from serving.pipeline.sections import CODING_ROLES, NON_DIAGNOSTIC_ROLES, split_sections
from serving.ranker.fused import FusedRanker, Ranked
from serving.retriever.hybrid import HybridRetriever

log = logging.getLogger(__name__)

# a secondary mention (not the head of an assessment item) must match more closely to be coded
PRIMARY_MIN, SECONDARY_MIN = 0.55, 0.72
MIN_QUERY_COVERAGE = 0.6
# a sentence that is not an assessment heading must be accounted for almost word for word
SECONDARY_STRICT_COVERAGE = 0.75
# with dense retrieval on, a pick must also be semantically close to the mention: lexical overlap
# alone ("RTC 3 mo" and a Babesia title) is not evidence
MIN_DENSE_SIMILARITY = 0.35
# words that qualify a condition without naming one: "Frequent PVCs, symptomatic, benign-appearing"
# must not code "symptomatic" as symptomatic neurosyphilis
_QUALIFIERS = frozenset(
    "stable unstable symptomatic asymptomatic benign appearing benign-appearing improved improving controlled "
    "uncontrolled well-controlled poorly-controlled worsening worse better resolved resolving healed healing "
    "well-healed new chronic acute mild "
    "moderate severe bilateral left right unchanged persistent recurrent intermittent ongoing active good poor "
    "fair frequent occasional rare likely overall currently today now clinically significant noted present "
    "status quo baseline at of and with w the a an in on is are was".split()
)
# a normal finding ("structurally normal heart", "QTc normal") is not a diagnosis, unless the code is
# itself about normality (normal pregnancy, normal pressure hydrocephalus)
_NORMAL = re.compile(r"(?<!ab)\bnormal\b|\bunremarkable\b|\bwithin normal limits\b|\bWNL\b", re.I)


def _visit_spans(text: str, roles: tuple[str, ...] = ("chief_complaint", "assessment")) -> list[tuple[int, int]]:
    """Where a note says what kind of visit it is: its first two lines (the title) and the sections
    of the given roles (the chief complaint and the assessment)."""
    second = text.find("\n", text.find("\n") + 1)
    spans = [(0, second if second != -1 else len(text))]
    spans += [(sec.start, sec.end) for sec in split_sections(text) if sec.role in roles]
    return spans


@lru_cache(maxsize=64)
def _documents_pregnancy(note: str) -> bool:
    """Whether the note documents a pregnancy (asked once per note, not once per mention)."""
    return bool(_PREGNANCY.search(note))


def _names_a_condition(query: str) -> bool:
    """False for a query made only of qualifiers ("symptomatic", "stable", "benign-appearing")."""
    words = re.findall(r"[a-z][a-z-]*", query.lower())
    return any(w not in _QUALIFIERS for w in words)


_EXTERNAL_CAUSES = ("V", "W", "X", "Y")
# never the reading of one mention: external causes; the chemotherapy/immunotherapy encounter codes,
# which guidelines.antineoplastic_encounter decides from the administration record (I.C.2.e.2); and
# receptor status, which guidelines.receptor_status reads marker by marker ("ER+ ... HER2 negative")
_NEVER_FROM_A_MENTION = (*_EXTERNAL_CAUSES, "Z51.1", "Z17")
# a line that starts with a drug and its dose is a medication record ("Leuprolide acetate 22.5 mg SC given")
_DOSE_LEAD = re.compile(r"[A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)?\s+\d+(?:\.\d+)?\s*(?:mg|mcg|units?|mL)\b", re.I)
# an assessment line that starts with an order or a follow-up is plan, not a diagnosis ("RTC 3 mo w/ PSA, CBC")
_PLAN_LEAD = re.compile(r"(?:RTC|F/?U|follow[- ]?up|return|recheck|repeat|continue|cont|start|stop|order|refer\w*|recommend\w*|"
                        r"schedul\w*|obtain|will|plan|consider|discuss\w*|counsel\w*|advis\w*|increase|decrease|"
                        r"reduce|add|hold|titrate|resume|monitor)\b", re.I)
_TOBACCO_PRODUCT = re.compile(r"cigarette|chew|vap|e-?cig|cigar|pipe|snuff|smokeless|dip", re.I)
_CAUSE = re.compile(r"\b(?:secondary\s+to|due\s+to|2/2)\s+(?P<what>(?:[^(),;.]|(?<=\b[A-Z])\.\s)+)", re.I)
_ENCOUNTER_TITLE = re.compile(r"^Encounter for\b|\bcounseling\b", re.I)
_ENCOUNTER_WORDS = re.compile(r"\b(?:encounter|visit|screen\w*|counsel\w*|exam\w*|evaluat\w*|check\w*|here for|"
                              r"presents? for|follow[- ]?up|f/u|surveillance|immuniz\w*|vaccin\w*|fitting|adjust\w*|"
                              r"removal|aftercare|clearance|pre-?op\w*|consult\w*|education|advice)\b", re.I)
_UNSPECIFIED = re.compile(r"\bunspecified\b", re.I)
_LINKED = re.compile(r"\s(?:with|w/)\s", re.I)
_STATUS_POST = re.compile(r"\s*(?:s/p|status\s+post)\b", re.I)
_HISTORY_PREFIX = re.compile(r"^history (?:family|personal) ")
_NOT_CONDITION_WORDS = frozenset({"unspecified", "other", "site", "with", "without", "malignant", "neoplasm", "disease",
                                  "diseases", "disorder", "disorders", "type", "history", "family", "organs", "specified",
                                  "conditions", "system"})
_PREGNANCY = re.compile(r"\b(?:pregnan\w*|gravid\w*|G\d+\s*P\d+|postpartum|post-partum|puerper\w*|trimester|"
                        r"weeks?\s+(?:gestation|pregnant)|\d+\s*w(?:ks?)?\s*\d*\s*d?\s+(?:IUP|gestation)|IUP|EGA|GA\s+\d+|"
                        r"deliver\w*|antepartum|prenatal|obstetric\w*|labor)\b", re.I)
_CATCH_ALL = re.compile(r"\bunspecified\b|\bother (?:specified )?(?:conditions|diseases)\b", re.I)


def _history_from_condition(cs: CodeSet, ranked: list[Ranked], conditions: list[Ranked],
                            route: tuple[str, ...]) -> Ranked | None:
    """A history mention coded the way a coder does it: the condition first, then the history code
    whose chapter holds it (guidelines.history_code). None when a history code itself matches the
    mention at least as well (Z91.81 "history of falling"), or no condition is recognised."""
    kind = "family" if route[0] == "Z80" else "historical"
    # the condition as scored against the mention's own words, without "history family"
    condition = conditions[0] if conditions else None
    if condition is None or condition.score < PRIMARY_MIN or condition.query_coverage < MIN_QUERY_COVERAGE:
        return None
    if condition.dense is not None and condition.dense < MIN_DENSE_SIMILARITY:
        return None
    direct = next((r for r in ranked if r.code.startswith(route)), None)
    # a history title that names the mention itself wins ("Personal history of nicotine dependence"),
    # but not a catch-all ("Family history of malignant neoplasm, unspecified")
    if direct is not None and direct.score >= condition.score and not _CATCH_ALL.search(direct.description):
        return None
    code = history_code(cs, condition.code, kind)
    if code is None:
        return None
    return Ranked(code, cs.codes[code].description, condition.score, condition.query_coverage, 1.0,
                  f"{condition.matched_text} ({condition.code}, as {'family' if kind == 'family' else 'personal'} "
                  "history)", 1.0, condition.dense, condition=condition.code)


_MALIGNANCY = re.compile(r"\b(?:cancer|ca|carcinoma|adenocarcinoma|malignan\w*|lymphoma|leukemia|melanoma|sarcoma|"
                         r"myeloma|seminoma|glioma|blastoma)\b", re.I)
_TREATED = re.compile(r"\b(?:s/p|status post|resect\w*|excis\w*|\w*ectomy|completed|treated|remission|no recurrence|NED|"
                      r"cured|surveillance|in \d{4}|\d{4})\b", re.I)
_ACTIVE = re.compile(r"\b(?:metasta\w*|mets|on (?:chemo|treatment|therapy)|currently|active|(?<!no )recurren(?:t|ce)(?! free)|"
                     r"progress\w*)\b", re.I)
_DIABETES = ("E08", "E09", "E10", "E11", "E13")
_DIABETES_DRUGS = frozenset({"Z79.4", "Z79.84", "Z79.85"})
_SGLT2 = re.compile(r"gliflozin|jardiance|farxiga|invokana", re.I)
_BILATERAL = re.compile(r"\b(?:bilateral|bilat|both)\b|\bB/L\b", re.I)
_SIDE_WORD = re.compile(r"\b(?:right|left|unspecified)(?=\s+(?:hand|foot|knee|hip|shoulder|elbow|wrist|ankle|"
                        r"upper|lower|eye|ear|leg|arm|thigh|lung|kidney|breast|forearm|finger|toe|side)\b)")


def _asked_for(cs: CodeSet, code: str, have: set[str], conditions: tuple[str, ...]) -> bool:
    """Whether a coded condition of the given categories asks for ``code`` in its "use additional
    code" notes; True when none of those conditions is coded (the drug treats something else)."""
    coded = [c for c in have if c.startswith(conditions)]
    return not coded or any(r.contains(code) for c in coded for n in cs.notes_for(c, "use_additional")
                            for r in parse_code_refs(n))


class CodingResult(BaseModel):
    """The ``medcode code`` JSON."""

    encounter_id: str
    code_set: str
    code_set_approximate: bool = False
    codes: list[CodeSuggestion] = Field(default_factory=list)
    procedures: list[CodeSuggestion] = Field(default_factory=list)
    em_level: dict | None = None
    review: list[str] = Field(default_factory=list, description="codes below the auto-accept threshold")
    dropped: list[dict] = Field(default_factory=list, description="mentions not coded, and why (no text)")
    ranker: str = Field(default="fused", description="the ranker that chose the codes: cross, or fused (with "
                        "the reason when the cross-encoder was asked for but could not load)")
    llm: dict = Field(default_factory=lambda: {"status": "not_configured"},
                      description="the LLM stage: status, model, prompt_version, decisions (serving/llm)")


@dataclass
class _Pick:
    mention: Mention
    note_index: int
    flags: AssertionFlags
    best: Ranked
    evidence: list[Evidence] = field(default_factory=list)


def allowed(flags: AssertionFlags, setting: Setting) -> tuple[bool, str]:
    """Whether a mention with these flags may be coded as a current diagnosis (ICD-10-CM I.B, IV.H)."""
    status = flags.status()
    if status is Assertion.present:
        return True, ""
    if status is Assertion.uncertain and not setting.is_outpatient:
        # inpatient: code uncertain diagnoses documented at discharge as if established (II.H)
        return True, ""
    return False, status.value


class Coder:
    """Codes encounters against the release for their date of service.

    Parameters
    ----------
    settings : Settings, optional
    dense : bool, optional
        Use dense retrieval (defaults to ``settings.dense_enabled``).
    """

    def __init__(self, settings: Settings | None = None, dense: bool | None = None, llm=None):
        self.settings = settings or get_settings()
        self.dense = self.settings.dense_enabled if dense is None else dense
        self._retrievers: dict[str, HybridRetriever] = {}
        # when a set, every retrieved candidate code is added to it (benchmarks report recall@k)
        self.candidate_log: set[str] | None = None
        # serving.llm.LlmStage: accepts/rejects and re-scores the ranked codes; None: ranker only
        self.llm = llm
        # the cross-encoder (serving.ranker.cross), loaded on first use when settings.ranker is "cross"
        self._cross_scorer = None
        self.ranker_status = self.settings.ranker if self.settings.ranker == "fused" else "cross (not loaded)"

    def warm(self, dos) -> None:
        """Load the code set, the indexes and the NLP models now, so timings measure coding only."""
        cs = codeset_for(dos)
        retriever = self.retriever(cs)
        assess("No cough.", [(3, 8)])
        retriever.search(["cough"], k=1)
        self.cross_scorer()

    def cross_scorer(self):
        """The cross-encoder scorer, or None: fused ranking, by setting or because the artifact failed."""
        if self.settings.ranker != "cross" or self.ranker_status.startswith("fused"):
            return None
        if self._cross_scorer is None:
            from serving.ranker.cross import ArtifactError, load_scorer

            try:
                self._cross_scorer = load_scorer(self.settings.ranker_artifact)
                self.ranker_status = "cross"
            except (ArtifactError, OSError, ImportError) as exc:
                log.warning("cross-encoder ranker unavailable, using the fused ranker: %s", exc)
                self.ranker_status = f"fused (cross-encoder unavailable: {exc})"
        return self._cross_scorer

    def retriever(self, cs: CodeSet) -> HybridRetriever:
        r = self._retrievers.get(cs.release)
        if r is None:
            r = HybridRetriever.load_or_build(cs, Path(self.settings.index_dir), dense=self.dense)
            self._retrievers[cs.release] = r
        return r

    def code(self, enc: Encounter) -> CodingResult:
        result = self.code_ranked(enc)
        if self.llm is None:
            return result
        return self.llm.apply(enc, result, self.settings.accept_threshold)

    def code_ranked(self, enc: Encounter) -> CodingResult:
        """The ranker's result, before the LLM stage."""
        selection = select_release(enc.date_of_service)
        cs = codeset_for(enc.date_of_service)
        result = CodingResult(
            encounter_id=enc.encounter_id, code_set=cs.release, code_set_approximate=selection.approximate
        )
        picks: dict[str, _Pick] = {}
        queue: list[tuple[int, Mention, AssertionFlags, str, tuple[str, ...] | None]] = []
        # notes with a chief complaint or indication, read only when the assessment confirms nothing
        with_reasons: list[tuple[int, str, list, int]] = []
        for ni, note in enumerate(enc.notes):
            sections = split_sections(note.text)
            mentions = [
                m for m in extract(note.text, sections)
                if m.role not in NON_DIAGNOSTIC_ROLES or m.role == "family_history"
            ]
            flags = assess(note.text, [(m.start, m.end) for m in mentions])
            if any(s.role == "chief_complaint" for s in sections):
                with_reasons.append((ni, note.text, sections, len(mentions)))
            for m, f in zip(mentions, flags, strict=True):
                if _PLAN_LEAD.match(m.text) or _DOSE_LEAD.match(m.text):
                    result.dropped.append({"note_index": ni, "start": m.start, "end": m.end, "reason": "plan"})
                    continue
                if m.role == "family_history":
                    f = AssertionFlags(negated=f.negated, family=True)
                ok, why = allowed(f, enc.setting)
                if ok:
                    queue.append((ni, m, f, m.query(), None))
                    cause = _CAUSE.search(m.text) if m.primary and m.role in CODING_ROLES else None
                    if cause is not None and cause.end() - cause.start("what") >= 3:
                        # "septic shock secondary to urinary tract infection": the cause is coded too
                        part = Mention(m.start + cause.start("what"), m.start + cause.end(), cause.group("what"),
                                       m.role, False, m.order)
                        queue.append((ni, part, f, part.query(), None))
                elif why in HISTORY_ROUTES and (m.primary or m.role in CODING_ROLES) or why == "family":
                    # history-of and family history are coded as such (Z80-Z87), not as the condition
                    queue.append((ni, m, f, history_query(m.query(), why), HISTORY_ROUTES[why]))
                else:
                    result.dropped.append({"note_index": ni, "start": m.start, "end": m.end, "reason": why})

            # a malignancy in the past history is coded as personal history (Z85, I.C.2.d) when the note
            # says it was treated or is gone; a current one is coded from the assessment
            for m in self._past_malignancies(note.text, sections):
                queue.append((ni, m, AssertionFlags(historical=True), history_query(m.query(), "historical"),
                              HISTORY_ROUTES["historical"]))

        def reasons() -> list[tuple[int, Mention, AssertionFlags, str, None]]:
            return [(ni, m, f, m.query(), None) for ni, text, sections, after in with_reasons
                    for m, f in self._reasons_for_visit(text, sections, after) if allowed(f, enc.setting)[0]]

        if not any(m.primary and m.role in CODING_ROLES for _, m, _, _, route in queue if route is None):
            queue.extend(reasons())  # the assessment confirms nothing: the reasons for the visit instead
            with_reasons = []
        assessment = "\n".join(
            sec.text(n.text) for n in enc.notes for sec in split_sections(n.text) if sec.role == "assessment"
        ) or None
        if not queue:
            result.em_level = em_level(enc, 0, assessment).as_dict()
            return result
        retriever = self.retriever(cs)
        ranker = FusedRanker(cs, dense_on=retriever.dense is not None, idf=retriever.idf)
        cross = self._cross_ranker(cs, ranker)
        result.ranker = self.ranker_status
        retry: list[tuple[int, Mention, AssertionFlags, str, tuple[str, ...] | None]] = []
        for attempt in (queue, retry):
            if not attempt:
                break
            queries = [q for *_, q, _ in attempt]
            hits = retriever.search(queries, k=self.settings.retrieval_k)
            if self.candidate_log is not None:
                self.candidate_log.update(c.code for cands in hits for c in cands)
            if cross is not None:
                cross.prepare([self._rerank_request(m, q, route, c)
                               for (_, m, _, q, route), c in zip(attempt, hits, strict=True)])
            for (ni, m, f, query, route), cands in zip(attempt, hits, strict=True):
                best = self._best(cs, cross or ranker, enc, ni, m, query, route, cands)
                if best is None:
                    if attempt is queue and m.primary and route is None and _names_a_condition(query):
                        # "Dysuria w/ frequency, urgency and suprapubic pain": no one code says it
                        # all, so each conjunct is tried as a mention of its own
                        retry.extend((ni, part, f, part.query(), None) for part in conjuncts(m))
                    continue
                ev = Evidence(start=m.start, end=m.end, text=m.text, note_index=ni)
                have = picks.get(best.code)
                if have is None:
                    picks[best.code] = _Pick(m, ni, f, best, [ev])
                else:
                    have.evidence.append(ev)
                    if best.score > have.best.score:
                        have.best = best
            if attempt is queue and with_reasons and not self._confirms(picks):
                # only signs, symptoms and findings so far (IV.K): the ordering reasons are coded too
                retry.extend(r for ni, m, f, _, _ in reasons()
                             for r in ([(ni, p, f, p.query(), None) for p in conjuncts(m)] or [(ni, m, f, m.query(), None)]))
        self._refine_unspecified(cs, retriever, cross or ranker, enc, picks)
        chosen = self._resolve_excludes1(cs, self._relevant_family_history(cs, list(picks.values()), assessment))
        # sequencing: assessment items in the order the clinician listed them, heads before details
        chosen.sort(key=lambda p: (p.note_index, not p.mention.primary, p.mention.order))
        chosen = self._combine(cs, chosen)
        chosen = self._bilateral(cs, chosen)
        chosen = self._use_additional(cs, retriever, chosen)
        chosen = self._restage_hypertension(cs, chosen)
        chosen = self._adverse_effects(cs, enc, chosen)
        chosen = self._code_first_sepsis(cs, chosen)
        chosen = self._osteoporotic_fractures(cs, enc, chosen)
        # a malignancy still coded as current is not also a personal history of itself (I.C.2.d)
        current = {history_code(cs, p.best.code, "historical") for p in chosen if p.best.code.startswith("C")}
        chosen = [p for p in chosen if not (p.best.code.startswith("Z85") and p.best.code in current)]
        for p in chosen[self.settings.max_codes:]:
            result.dropped.append({"note_index": p.note_index, "start": p.mention.start, "end": p.mention.end,
                                   "reason": f"over max_codes ({p.best.code})"})
        for rank, p in enumerate(chosen[: self.settings.max_codes], start=1):
            result.codes.append(
                CodeSuggestion(
                    code=p.best.code,
                    description=p.best.description,
                    confidence=round(p.best.score, 3),
                    rank=rank,
                    assertion=p.flags.status(),
                    evidence=p.evidence,
                    explanation=f'matched "{p.best.matched_text}" (covers {p.best.query_coverage:.0%} of the mention)',
                )
            )
            if p.best.score < self.settings.accept_threshold:
                result.review.append(p.best.code)
        self._add_long_term_drugs(enc, cs, result)
        self._add_status_codes(enc, cs, result)
        self._add_documented_status(enc, cs, result)
        self._first_list_antineoplastic_therapy(enc, cs, result)
        problems = len({p.best.code for p in chosen if p.mention.primary}) or min(len(chosen), 1)
        result.em_level = em_level(enc, problems, assessment).as_dict()
        self._encounter_reasons(enc, cs, result)
        self._cap(result)
        return result

    def _cap(self, result: CodingResult) -> None:
        """At most ``max_codes`` codes (12 fit an 837P): the guideline passes that add status, history
        and encounter codes run after the ranked picks, so the cap is applied once more at the end;
        the codes cut are listed in ``dropped`` so a reviewer can see them."""
        extra = result.codes[self.settings.max_codes:]
        if not extra:
            return
        result.codes = result.codes[: self.settings.max_codes]
        kept = {c.code for c in result.codes}
        result.review = [c for c in result.review if c in kept]
        for c in extra:
            ev = c.evidence[0] if c.evidence else None
            result.dropped.append({"note_index": ev.note_index if ev else 0, "start": ev.start if ev else 0,
                                   "end": ev.end if ev else 0, "reason": f"over max_codes ({c.code})"})

    @staticmethod
    def _past_malignancies(text: str, sections) -> list[Mention]:
        """Past-history items naming a malignancy that the note says was treated or is gone ("R breast
        ca 2010 s/p R mastectomy, tamoxifen x 5 yr completed 2015, no recurrence")."""
        out = []
        for sec in (s for s in sections if s.role == "past_history"):
            for m in re.finditer(r"[^;\n]+", text[sec.start:sec.end]):
                item = m.group()
                if _MALIGNANCY.search(item) and _TREATED.search(item) and not _ACTIVE.search(item):
                    s = sec.start + m.start() + (len(item) - len(item.lstrip(" :,-")))
                    head = re.split(r",|\s(?:s/p|status post|treated|dx|diagnosed)\b", text[s: sec.start + m.end()], maxsplit=1)[0]
                    if len(head.strip()) >= 3:
                        out.append(Mention(s, s + len(head.rstrip()), head.rstrip(), "past_history", True, 10_000 + len(out)))
        return out

    @staticmethod
    def _reasons_for_visit(text: str, sections, after: int) -> list[tuple[Mention, AssertionFlags]]:
        """The chief complaint, indication or clinical history read as a problem list, with flags:
        coded when the assessment or impression confirms no diagnosis (IV.H, IV.K)."""
        found = [m for m in extract(text, sections, coding_roles=frozenset({"chief_complaint"}))
                 if m.role == "chief_complaint" and m.primary]
        found = [Mention(m.start, m.end, m.text, m.role, True, after + i, m.lead) for i, m in enumerate(found)]
        out = []
        for sec in (s for s in sections if s.role == "chief_complaint"):
            # the section alone: its header ("HISTORY:" on a requisition) is not a history cue
            mine = [m for m in found if sec.start <= m.start and m.end <= sec.end]
            flags = assess(sec.text(text), [(m.start - sec.start, m.end - sec.start) for m in mine])
            out.extend(zip(mine, flags, strict=True))
        return out

    @staticmethod
    def _confirms(picks: dict[str, _Pick]) -> bool:
        """Whether the assessment yielded a diagnosis, not only signs, symptoms and abnormal findings."""
        return any(p.mention.role in CODING_ROLES and not p.best.code.startswith("R") for p in picks.values())

    @staticmethod
    def _encounter_reasons(enc: Encounter, cs: CodeSet, result: CodingResult) -> None:
        """Z codes for why the patient came (I.C.21.c): a preventive visit's routine examination
        first-listed (Z00.0-, Z00.12-), and Z23 for a vaccine given."""
        text = "\n".join(n.text for n in enc.notes)
        have = [c.code for c in result.codes]
        front: list[CodeSuggestion] = []
        if (result.em_level or {}).get("basis") == "preventive":
            code = preventive_exam_code(text, enc.patient.age_on(enc.date_of_service), have)
            if code and cs.is_billable(code):
                # the exam mention itself may have reached another encounter code: the rule decides
                result.codes = [c for c in result.codes if not c.code.startswith(("Z00.0", "Z00.1", "Z02."))]
                front.append(CodeSuggestion(code=code, description=cs.codes[code].description, confidence=0.8,
                                            rank=1, explanation="preventive visit: routine examination (I.C.21.c.13)"))
        given = [(ni, h) for ni, n in enumerate(enc.notes) if (h := immunization_given(n.text)) is not None]
        if given and "Z23" not in have and cs.is_billable("Z23"):
            ni, hit = given[0]
            note = enc.notes[ni].text
            result.codes.append(CodeSuggestion(
                code="Z23", description=cs.codes["Z23"].description, confidence=0.8, rank=len(result.codes) + 1,
                evidence=[Evidence(start=hit.start, end=hit.end, text=note[hit.start:hit.end], note_index=ni)],
                explanation="vaccine administered at this encounter"))
        if not front and have and have[0].startswith("Z85") and "Z08" not in have and cs.is_billable("Z08") \
                and not any(c.startswith(("C", "Z51.1")) for c in have):
            # the visit is about a treated malignancy: surveillance after completed treatment (I.C.21.c.8)
            for ni, n in enumerate(enc.notes):
                hit = malignancy_follow_up(n.text, _visit_spans(n.text))
                if hit is not None:
                    front.append(CodeSuggestion(
                        code="Z08", description=cs.codes["Z08"].description, confidence=0.75, rank=1,
                        evidence=[Evidence(start=hit.start, end=hit.end, text=n.text[hit.start:hit.end], note_index=ni)],
                        explanation="follow-up after completed treatment of a malignancy, no recurrence: first-listed, "
                                    "the history code after it (I.C.21.c.8)"))
                    break
        if not front:
            for ni, n in enumerate(enc.notes):
                hit = screening_exam(n.text, _visit_spans(n.text, ("chief_complaint",)))
                if hit and cs.is_billable(hit.code) and hit.code not in have:
                    result.codes = [c for c in result.codes if not c.code.startswith(("Z12", "Z13"))]
                    front.append(CodeSuggestion(
                        code=hit.code, description=cs.codes[hit.code].description, confidence=0.8, rank=1,
                        evidence=[Evidence(start=hit.start, end=hit.end, text=n.text[hit.start:hit.end], note_index=ni)],
                        explanation="encounter for screening: first-listed, findings after it (I.C.21.c.12)"))
                    break
        if front or given:
            result.codes[:0] = front
            for rank, c in enumerate(result.codes, start=1):
                c.rank = rank

    @staticmethod
    def _first_list_antineoplastic_therapy(enc: Encounter, cs: CodeSet, result: CodingResult) -> None:
        """I.C.2.e.2: an encounter for administering chemotherapy or immunotherapy to a coded
        malignancy lists Z51.11 / Z51.12 first, the malignancy after."""
        if not any(c.code.startswith("C") for c in result.codes):
            return
        have = {c.code for c in result.codes}
        front: list[CodeSuggestion] = []
        for ni, note in enumerate(enc.notes):
            for hit in antineoplastic_encounter(note.text):
                if hit.code in have or not cs.is_billable(hit.code):
                    continue
                have.add(hit.code)
                front.append(CodeSuggestion(
                    code=hit.code, description=cs.codes[hit.code].description, confidence=0.8, rank=1,
                    evidence=[Evidence(start=hit.start, end=hit.end, text=note.text[hit.start:hit.end], note_index=ni)],
                    explanation="antineoplastic drug administered at this encounter (guideline I.C.2.e.2: first-listed)",
                ))
        if front:
            result.codes[:0] = front
            for rank, c in enumerate(result.codes, start=1):
                c.rank = rank

    def _add_status_codes(self, enc: Encounter, cs: CodeSet, result: CodingResult) -> None:
        """Receptor (Z17) and hormone-sensitivity (Z19) status that a coded malignancy's "use
        additional code" note asks for, when the note documents it."""
        asks = [r for c in result.codes for n in cs.notes_for(c.code, "use_additional") for r in parse_code_refs(n)]
        finders = [f for probe, f in (("Z17.0", receptor_status), ("Z19.1", hormone_sensitivity))
                   if any(r.contains(probe) for r in asks)]
        have = {c.code for c in result.codes}
        for ni, note in enumerate(enc.notes):
            spans = [(s.start, s.end) for s in split_sections(note.text) if s.role != "family_history"]
            for hit in (h for f in finders for h in f(note.text, spans)):
                if hit.code in have or not cs.is_billable(hit.code) or len(result.codes) >= self.settings.max_codes:
                    continue
                have.add(hit.code)
                result.codes.append(CodeSuggestion(
                    code=hit.code, description=cs.codes[hit.code].description, confidence=0.8,
                    rank=len(result.codes) + 1,
                    evidence=[Evidence(start=hit.start, end=hit.end, text=note.text[hit.start:hit.end], note_index=ni)],
                    explanation="status the malignancy's 'use additional code' note asks for",
                ))

    def _add_documented_status(self, enc: Encounter, cs: CodeSet, result: CodingResult) -> None:
        """Status codes the note documents (devices, grafts, transplants, ostomies, oxygen or dialysis
        dependence, artificial joints: I.C.21.c.3), and the BMI (Z68) when a weight diagnosis that it
        is reported with is coded (I.B.14)."""
        if not result.codes:
            return  # a status alone is not a reason for the encounter
        have = {c.code for c in result.codes}
        age = enc.patient.age_on(enc.date_of_service)
        for ni, note in enumerate(enc.notes):
            sections = split_sections(note.text)
            spans = [(s.start, s.end) for s in sections if s.role not in ("family_history", "ros")]
            # a device placed at this encounter (a procedure section documents it) is not yet a status
            done_here = {h.code for h in status_codes(note.text, [(s.start, s.end) for s in sections
                                                                  if s.role == "procedure"])}
            hits = [h for h in status_codes(note.text, spans) if h.code not in done_here]
            # past chemotherapy, irradiation and organs removed, when they bear on a coded condition
            # (an operation this encounter documents in its procedure section is not yet history)
            done_here |= {h.code for h in treatment_history(note.text, [(s.start, s.end) for s in sections
                                                                         if s.role == "procedure"], None)}
            hits += [h for h in treatment_history(note.text, spans, [c.code for c in result.codes])
                     if h.code not in done_here]
            # social determinants and occupational exposures (I.B.14, I.C.21.c.17), from what the
            # patient's history and the assessment say (not the family history, ROS or plan)
            hits += social_determinants(note.text, [(s.start, s.end) for s in sections
                                                    if s.role in ("social_history", "hpi", "assessment", "preamble",
                                                                  "chief_complaint", "past_history")])
            # the patient's own tobacco status, unless the assessment coded it already
            tobacco = tobacco_status(note.text, spans)
            self._tobacco_product(cs, result, tobacco)
            have = {c.code for c in result.codes}
            hits += [h for h in tobacco
                     if h.code == "Z77.22" or not any(c.startswith(("F17", "Z87.891", "Z72.0")) for c in have)]
            if any(c.startswith(WEIGHT_CONDITIONS) for c in have):
                bmi = bmi_code(note.text, age, spans)
                hits += [bmi] if bmi else []
            for hit in hits:
                if hit.code in have or not cs.is_billable(hit.code) or len(result.codes) >= self.settings.max_codes:
                    continue
                have.add(hit.code)
                bmi = hit.code.startswith("Z68")
                result.codes.append(CodeSuggestion(
                    code=hit.code, description=cs.codes[hit.code].description, confidence=0.75,
                    rank=len(result.codes) + 1,
                    evidence=[Evidence(start=hit.start, end=hit.end, text=note.text[hit.start:hit.end], note_index=ni)],
                    explanation="BMI reported with the coded weight diagnosis (guideline I.B.14)" if bmi
                    else "status documented in the note (guideline I.C.21.c.3)",
                ))

    @staticmethod
    def _tobacco_product(cs: CodeSet, result: CodingResult, tobacco) -> None:
        """A nicotine dependence the assessment states without the product ("Tobacco dependence")
        takes the product the social history documents ("smokes 1 ppd": cigarettes, F17.21-)."""
        product = next((h.code for h in tobacco if h.code.startswith("F17.2")), None)
        if product is None:
            return
        for c in result.codes:
            said = " ".join(ev.text for ev in c.evidence)
            if (c.code.startswith("F17.2") and c.code[:6] != product[:6] and not _TOBACCO_PRODUCT.search(said)):
                code = product[:6] + c.code[6:]
                if cs.is_billable(code):
                    c.code, c.description = code, cs.codes[code].description
                    c.explanation += "; product from the social history"

    def _add_long_term_drugs(self, enc: Encounter, cs: CodeSet, result: CodingResult) -> None:
        """Z79 long-term drug therapy codes after the conditions they treat (I.C.21.c.3)."""
        have = {c.code for c in result.codes}
        if not have:
            return  # no treated condition coded: a drug alone is not a reason to code Z79
        rank = len(result.codes)
        for ni, note in enumerate(enc.notes):
            spans = [(s.start, s.end) for s in split_sections(note.text)
                     if s.role in ("medications", "assessment", "plan", "hpi", "past_history", "preamble")]
            for hit in long_term_drugs(note.text, spans):
                if hit.code in have or not cs.is_billable(hit.code) or len(result.codes) >= self.settings.max_codes:
                    continue
                if hit.code in _DIABETES_DRUGS and not _asked_for(cs, hit.code, have, _DIABETES):
                    continue  # type 1 diabetes (E10) asks for no Z79.4: insulin is inherent to it
                if (hit.code == "Z79.84" and not any(c.startswith(_DIABETES) for c in have)
                        and _SGLT2.search(note.text, hit.start, hit.end)):
                    continue  # an SGLT2 inhibitor without diabetes treats the heart or kidneys, not glucose
                have.add(hit.code)
                rank += 1
                result.codes.append(CodeSuggestion(
                    code=hit.code, description=cs.codes[hit.code].description, confidence=0.7, rank=rank,
                    evidence=[Evidence(start=hit.start, end=hit.end, text=note.text[hit.start:hit.end], note_index=ni)],
                    explanation="long-term (current) drug therapy documented (guideline I.C.21.c.3)",
                ))
                result.review.append(hit.code)

    def _cross_ranker(self, cs: CodeSet, fused: FusedRanker):
        if self.settings.ranker == "cross" and type(self)._best is not Coder._best:
            # a subclass that ranks elsewhere (serving.api.pipeline.DistributedCoder: the Ray ranker
            # deployment) never reads an in-process reranking; say so rather than claim "cross"
            self.ranker_status = "fused (the cross-encoder reranks in-process coding only)"
            return None
        scorer = self.cross_scorer()
        if scorer is None:
            return None
        from serving.ranker.rerank import CrossRanker

        margin = self.settings.ranker_margin
        return CrossRanker(cs, fused, scorer, top_k=self.settings.ranker_top_k, margin=margin if margin >= 0 else None)

    @staticmethod
    def _rerank_request(m: Mention, query: str, route, cands):
        """The cross-encoder reads only candidates that the gates of :meth:`_best` other than the score
        floor would let through: one that could never be coded is not worth a forward pass."""
        from serving.ranker.rerank import RerankRequest

        def eligible(r: Ranked) -> bool:
            if r.query_coverage < MIN_QUERY_COVERAGE:
                return False
            if route is None and not m.primary and r.strict_coverage < SECONDARY_STRICT_COVERAGE:
                return False
            return not (r.dense is not None and r.dense < MIN_DENSE_SIMILARITY and route is None)

        return RerankRequest(query, cands, eligible, route)

    @staticmethod
    def _best(cs, ranker, enc, ni, m, query, route, cands) -> Ranked | None:  # noqa: PLR0913
        """The mention's code, or None when nothing passes the thresholds."""
        # a code for the other sex's anatomy is never the answer (C50.422 for a woman)
        # external causes (V00-Y99) are reported with the injury they explain, never as a diagnosis
        # nor a code the patient's age rules out (neonatal UTI for a 70-year-old: the MCE age edits)
        if not _names_a_condition(_HISTORY_PREFIX.sub("", query)):
            return None  # "healed" or "stable" alone, past or present, names nothing to code
        age = enc.patient.age_on(enc.date_of_service)
        # and a pregnancy code (O00-O9A) only on a record that documents the pregnancy (I.C.15.a)
        pregnant = _documents_pregnancy(enc.notes[ni].text)
        ranked = [r for r in ranker.score(query, cands)
                  if not conflicts_with_sex(cs, r.code, enc.patient.sex) and not conflicts_with_age(r.code, age)
                  and not r.code.startswith(_NEVER_FROM_A_MENTION) and (pregnant or not r.code.startswith("O"))]
        if route is not None and not _STATUS_POST.match(m.text):
            # "status post <procedure>" is a status (Z95-Z99, the status table), not a past condition
            condition_query = _HISTORY_PREFIX.sub("", query)
            conditions = [r for r in ranker.score(condition_query, cands) if not r.code.startswith(("Z", *_EXTERNAL_CAUSES))
                          and (pregnant or not r.code.startswith("O")) and not conflicts_with_age(r.code, age)]
            mapped = _history_from_condition(cs, ranked, conditions, route)
            if mapped is not None and mapped.score >= (PRIMARY_MIN if m.primary else SECONDARY_MIN):
                return mapped
        if route is not None:
            ranked = [r for r in ranked if r.code.startswith(route)]
            if ranked and ranked[0].score >= PRIMARY_MIN and ranked[0].query_coverage >= MIN_QUERY_COVERAGE:
                ranked[0].strict_coverage = 1.0  # the route, not the wording, made it a history code
        if not ranked:
            return None
        best = ranked[0]
        if _ENCOUNTER_TITLE.search(best.description) and not _ENCOUNTER_WORDS.search(m.text):
            # "Encounter for ..." and counseling codes say why the visit happened; "Germline testing
            # (2024)" or "weight bearing exercise" in an assessment is not a reason for this visit
            return None
        if _NORMAL.search(m.text) and not (any("normal" in t.lower() for t in (best.description, best.matched_text))
                                            and best.strict_coverage >= 0.8):
            # a code about normality must say the whole mention ("normal pressure hydrocephalus"); "heart
            # failure with normal ejection fraction" is not a "structurally normal heart"
            return None
        code = episode_of_care(cs, best.code, m.text, enc.notes[ni].text)
        if code != best.code:
            best = Ranked(code, cs.codes[code].description, best.score, best.query_coverage,
                          best.doc_coverage, best.matched_text, best.strict_coverage, best.dense)
        floor = PRIMARY_MIN if m.primary else SECONDARY_MIN
        if best.score < floor or best.query_coverage < MIN_QUERY_COVERAGE:
            return None
        if not m.primary and best.strict_coverage < SECONDARY_STRICT_COVERAGE:
            return None
        if best.dense is not None and best.dense < MIN_DENSE_SIMILARITY and route is None:
            return None
        return best

    def _refine_unspecified(self, cs: CodeSet, retriever: HybridRetriever, ranker, enc: Encounter,
                            picks: dict[str, _Pick]) -> None:
        """An "unspecified" pick for a mention that links two conditions ("CAD of native coronary artery
        w/ stable angina" → I25.119) is refined through the combination the index gives its parts: the
        angina coded alone (I20.89) and combined with the pick (I.A.15) → I25.118."""
        todo = [(key, p, parts) for key, p in picks.items()
                if p.mention.primary and _UNSPECIFIED.search(p.best.description) and _LINKED.search(p.mention.text)
                and (parts := conjuncts(p.mention))]
        if not todo:
            return
        queries = [part.query() for _, _, parts in todo for part in parts]
        hits = iter(retriever.search(queries, k=self.settings.retrieval_k))
        for key, p, parts in todo:
            codes = []
            for part in parts:
                cands = next(hits)
                best = self._best(cs, ranker, enc, p.note_index, part, part.query(), None, cands)
                if best is not None:
                    codes.append(best.code)
            for c in combine(cs, [p.best.code, *codes]):
                # a sibling of the pick (I25.119 → I25.118), never a broader or different condition
                if (c.code != p.best.code and c.code[:-1] == p.best.code[:-1] and cs.is_billable(c.code)
                        and not _UNSPECIFIED.search(cs.codes[c.code].description)):
                    p.best = Ranked(c.code, cs.codes[c.code].description, p.best.score, p.best.query_coverage,
                                    p.best.doc_coverage, f"{p.best.matched_text} (with {', '.join(codes)}: combination "
                                    "code, guideline I.A.15)", p.best.strict_coverage, p.best.dense)
                    picks[c.code] = picks.pop(key)
                    break

    @staticmethod
    def _restage_hypertension(cs: CodeSet, chosen: list[_Pick]) -> list[_Pick]:
        """The CKD stage a "use additional code" note added after the combination pass decides the
        hypertensive CKD code's stage too (I12.0 for stage 5/ESRD only, I.C.9.a.2)."""
        have = [p.best.code for p in chosen]
        target = hypertension_code(have)
        for p in chosen:
            if (target and p.best.code[:3] in ("I10", "I11", "I12", "I13") and p.best.code != target and target not in have
                    and cs.is_billable(target)):
                p.best = Ranked(target, cs.codes[target].description, p.best.score, p.best.query_coverage,
                                p.best.doc_coverage, f"{p.best.matched_text} (stage from the coded CKD, I.C.9.a)",
                                p.best.strict_coverage, p.best.dense)
        return chosen

    @staticmethod
    def _bilateral(cs: CodeSet, chosen: list[_Pick]) -> list[_Pick]:
        """I.B.13: a bilateral condition whose category has no bilateral code is coded for each side
        ("arthralgia, bilateral hands": M25.541 and M25.542)."""
        out: list[_Pick] = []
        have = {p.best.code for p in chosen}
        for p in chosen:
            out.append(p)
            entry = cs.get(p.best.code)
            if entry is None or entry.generated or not _BILATERAL.search(p.mention.text):
                continue
            title = entry.description
            side = _SIDE_WORD.search(title)
            if side is None or "bilateral" in title.lower():
                continue
            siblings = {cs.codes[c].description: c for c in cs.billable_descendants(entry.parent or "")
                        if c in cs.codes} if entry.parent else {}
            if any("bilateral" in cs.codes[c].description.lower() for c in cs.billable_descendants(p.best.code[:3])
                   if c in cs.codes):
                continue  # the category has a bilateral code (M17.0): the ranker's pick stands
            sides = [siblings.get(title[:side.start()] + word + title[side.end():]) for word in ("right", "left")]
            if not all(sides):
                continue
            right, left = sides
            out.pop()
            for code in (right, left):
                if code in have and code != p.best.code:
                    continue
                best = Ranked(code, cs.codes[code].description, p.best.score, p.best.query_coverage,
                              p.best.doc_coverage, f"{p.best.matched_text} (bilateral: each side, guideline I.B.13)",
                              p.best.strict_coverage, p.best.dense)
                out.append(_Pick(p.mention, p.note_index, p.flags, best, list(p.evidence)))
                have.add(code)
        return out

    @staticmethod
    def _relevant_family_history(cs: CodeSet, picks: list[_Pick], assessment: str | None) -> list[_Pick]:
        """A relative's condition read only from the family history section is coded when it bears on
        this encounter: a coded condition is in the same chapter, or the assessment names it (a
        mother's Hodgkin lymphoma at a lymphadenopathy work-up). The assessment's own family history
        items are always coded."""
        current = {cs.get(p.best.code).chapter for p in picks
                   if p.mention.role != "family_history" and cs.get(p.best.code) and not p.best.code.startswith("Z")}
        said = (assessment or "").lower()
        out = []
        for p in picks:
            if p.mention.role != "family_history":
                out.append(p)
                continue
            source = cs.get(p.best.condition) if p.best.condition else None
            # the condition's own title, or the family history title's ("Family history of diabetes mellitus")
            title = source.description if source else p.best.description.lower().replace("family history of", "")
            words = [w for w in re.findall(r"[a-z]{4,}", title.lower()) if w not in _NOT_CONDITION_WORDS]
            sources = [source] if source else [cs.get(c) for c in history_chapter_codes(p.best.code)]
            if any(e is not None and e.chapter in current for e in sources) or any(re.search(rf"\b{w}", said) for w in words):
                out.append(p)
        return out

    @staticmethod
    def _combine(cs: CodeSet, chosen: list[_Pick]) -> list[_Pick]:
        """Linked conditions reported with one combination code (I.A.15 "with", I.C.9.a), the other
        code kept where the combination's "use additional code" note asks for it."""
        by_code = {p.best.code: p for p in chosen}
        out: list[_Pick] = []
        for c in combine(cs, list(by_code)):
            sources = [by_code[s] for s in c.sources if s in by_code]
            head = sources[0]
            if c.code == head.best.code:
                # unchanged, or it absorbed a less specific code of the same condition
                head.evidence.extend(ev for s in sources[1:] for ev in s.evidence)
                out.append(head)
                continue
            what = " with ".join(dict.fromkeys(s.best.matched_text for s in sources))
            best = Ranked(
                code=c.code, description=cs.codes[c.code].description,
                score=min(s.best.score for s in sources),
                query_coverage=min(s.best.query_coverage for s in sources),
                doc_coverage=min(s.best.doc_coverage for s in sources),
                matched_text=f"{what} (combination code, guideline {'I.A.15' if c.rule == 'with' else c.rule})",
                strict_coverage=min(s.best.strict_coverage for s in sources),
                dense=head.best.dense,
            )
            out.append(_Pick(head.mention, head.note_index, head.flags, best,
                             [ev for s in sources for ev in s.evidence]))
        return out

    def _use_additional(self, cs: CodeSet, retriever: HybridRetriever, chosen: list[_Pick]) -> list[_Pick]:
        """A code whose "use additional code" note asks for the heart-failure type or the CKD stage
        gets it from the same mention, when the mention says every word of that code's title."""
        out: list[_Pick] = []
        have = [p.best.code for p in chosen]
        for p in chosen:
            out.append(p)
            ranges = missing_additional(cs, p.best.code, have)
            if not ranges:
                continue
            # the mention's own candidates, and its parts' ("T1DM with diabetic CKD stage 3b": the
            # stage code ranks among the second part's candidates, not the diabetes-led whole's)
            queries = [p.mention.query(), *(part.query() for part in conjuncts(p.mention))]
            cands = [c for hits in retriever.search(queries, k=self.settings.retrieval_k) for c in hits]
            for r in ranges:
                fits = [(supported(cs, c.code, p.mention.query()), c.code) for c in cands
                        if r.contains(c.code) and cs.is_billable(c.code) and c.code not in have]
                fits = [f for f in fits if f[0]]
                if not fits:
                    continue
                code = min(fits, key=lambda f: (-f[0], f[1]))[1]
                have.append(code)
                best = Ranked(code=code, description=cs.codes[code].description, score=p.best.score,
                              query_coverage=p.best.query_coverage, doc_coverage=1.0,
                              matched_text=f"{p.mention.text} (use additional code with {p.best.code})",
                              strict_coverage=p.best.strict_coverage, dense=p.best.dense)
                out.append(_Pick(p.mention, p.note_index, p.flags, best, list(p.evidence)))
        return out

    @staticmethod
    def _osteoporotic_fractures(cs: CodeSet, enc: Encounter, chosen: list[_Pick]) -> list[_Pick]:
        """A fragility fracture in known osteoporosis is M80 (I.C.13.d.1): it replaces the traumatic
        fracture code, and the osteoporosis code it includes (M81 Excludes1 M80)."""
        osteo = next((p.best.code for p in chosen if p.best.code.startswith(("M81", "M80"))), None)
        if osteo is None:
            return chosen
        out, replaced = [], False
        for p in chosen:
            note = enc.notes[p.note_index].text
            code = osteoporotic_fracture(cs, p.best.code, osteo, note) if p.best.code.startswith("S") else None
            if code is None:
                out.append(p)
                continue
            replaced = True
            best = Ranked(code, cs.codes[code].description, p.best.score, p.best.query_coverage, 1.0,
                          f"{p.best.matched_text} (fragility fracture in osteoporosis, guideline I.C.13.d.1)",
                          p.best.strict_coverage, p.best.dense)
            out.append(_Pick(p.mention, p.note_index, p.flags, best, list(p.evidence)))
        # the osteoporosis now said by the M80 code: M81, or an M80 of unspecified site
        return [p for p in out if not (replaced and (p.best.code.startswith("M81") or p.best.code[5:6] == "0"
                                                      and p.best.code.startswith(("M80.0", "M80.8"))))]

    @staticmethod
    def _code_first_sepsis(cs: CodeSet, chosen: list[_Pick]) -> list[_Pick]:
        """Severe sepsis (R65.2-) follows its systemic infection, A41.9 when the organism is not named
        (I.C.1.d.1.a: the underlying infection first, then R65.2-, then the localized infection)."""
        code = sepsis_first([p.best.code for p in chosen])
        if code is None or not cs.is_billable(code):
            return chosen
        i = next(i for i, p in enumerate(chosen) if p.best.code.startswith("R65.2"))
        p = chosen[i]
        best = Ranked(code, cs.codes[code].description, p.best.score, p.best.query_coverage, 1.0,
                      f"{p.best.matched_text} (severe sepsis: the systemic infection is coded first, I.C.1.d.1.a)",
                      p.best.strict_coverage, p.best.dense)
        return [*chosen[:i], _Pick(p.mention, p.note_index, p.flags, best, list(p.evidence)), *chosen[i:]]

    @staticmethod
    def _adverse_effects(cs: CodeSet, enc: Encounter, chosen: list[_Pick]) -> list[_Pick]:
        """The T36-T50 adverse-effect code right after a condition whose statement blames a drug
        (I.C.19.e.5.a: the nature of the effect first, then the drug)."""
        out: list[_Pick] = []
        have = {p.best.code for p in chosen}
        for p in chosen:
            out.append(p)
            if p.best.code.startswith(("Z", "T")):
                continue
            note = enc.notes[p.note_index].text
            line_start = note.rfind("\n", 0, p.mention.start) + 1
            line_end = note.find("\n", p.mention.end)
            line = note[line_start: line_end if line_end != -1 else len(note)]
            hit = adverse_effect(cs, line)
            if hit is None or hit.code in have:
                continue
            have.add(hit.code)
            s, e = line_start + hit.start, line_start + hit.end
            best = Ranked(hit.code, cs.codes[hit.code].description, p.best.score, p.best.query_coverage, 1.0,
                          f"{note[s:e]} (adverse effect of the drug, guideline I.C.19.e.5.a)",
                          p.best.strict_coverage, p.best.dense)
            out.append(_Pick(p.mention, p.note_index, p.flags, best,
                             [Evidence(start=s, end=e, text=note[s:e], note_index=p.note_index)]))
        return out

    @staticmethod
    def _resolve_excludes1(cs: CodeSet, picks: list[_Pick]) -> list[_Pick]:
        """Drop the weaker code of any pair that an Excludes1 note forbids together."""
        picks = sorted(picks, key=lambda p: -p.best.score)
        kept: list[_Pick] = []
        for p in picks:
            clash = any(
                any(r.contains(k.best.code) for r in cs.excludes1(p.best.code))
                or any(r.contains(p.best.code) for r in cs.excludes1(k.best.code))
                for k in kept
            )
            if not clash:
                kept.append(p)
        return kept
