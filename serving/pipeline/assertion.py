"""Assertion status of mentions: negated, uncertain, hypothetical, historical, family/other person.

The engine is medspaCy's ConText (medcode's own sentence starts, the default ConText rule set, less
the few default rules ``data/context_rules.json`` replaces, plus medcode's own rules there). The
mentions come from our own extraction, with exact character offsets, so ConText never has to find
a concept itself: the span is placed as an entity before ConText runs (medspaCy's own target
matcher misses many concepts written differently from the rule).

medcode's rules (version 2) follow the ConText literature: "Extremities: No clubbing" negates
forward; an age ("45-year-old") or a recent duration ("two-day history of") is not history; the
present illness ("who presents", "now", "recent") ends a history cue's scope but not a negation's;
discharge precautions ("call for", "return if") and study purposes ("to evaluate for") are
hypothetical; "in remission" is a code axis (F10.21, C91.01), not history.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medcore.model import Assertion

_RULES = Path(__file__).resolve().parent / "data" / "context_rules.json"


@dataclass(frozen=True, slots=True)
class AssertionFlags:
    negated: bool = False
    uncertain: bool = False
    hypothetical: bool = False
    historical: bool = False
    family: bool = False

    def status(self) -> Assertion:
        """One status for a mention, in the order that decides whether it may be coded."""
        if self.negated:
            return Assertion.negated
        if self.family:
            return Assertion.family
        if self.hypothetical:
            return Assertion.hypothetical
        if self.uncertain:
            return Assertion.uncertain
        if self.historical:
            return Assertion.historical
        return Assertion.present


# ConText attaches a cue to a target only when the cue lies outside it, so a mention that starts
# with its own cue ("No evidence of neuropathy", "Probable pneumonia") enters ConText without it
_LEADING_CUE = re.compile(
    r"(?:(?:highly|very|most|more|somewhat|quite|strongly)\s+)?"
    r"(?:no(?:\s+(?:evidence|signs?|history|hx|h/o)\s+of)?|not|denies|denied|without|negative\s+for|"
    r"free\s+of|ruled\s+out|rule\s+out|r/o|probable|probably|possible|possibly|likely|suspected|"
    r"suspicious\s+for|concern(?:ing)?\s+for|questionable|presumed|cannot\s+exclude|"
    r"(?:personal\s+|past\s+)?(?:history|hx|h/o)\s+of|h/o|hx|s/p|status\s+post|prior|previous|remote|old|"
    r"family\s+(?:history|hx)(?:\s+of)?|fhx(?:\s+of)?|fh\s+of|former|ex-|quit|if|should|risk\s+of|avoid(?:ing)?|"
    # "brother w/ lung ca": the relative is the experiencer cue, the rest the condition
    r"(?:(?:maternal|paternal)\s+)?(?:mother|father|mom|dad|brother|sister|sibling|son|daughter|aunt|uncle|"
    r"grandmother|grandfather|cousin|parent)s?(?:\s+(?:w/|with|had|has|died\s+of|dx'?d\s+with))?)\b[\s:,-]*",
    re.I,
)


def _core(text: str, start: int, end: int) -> int:
    """The start of a mention after any leading cue words (the cue stays in the sentence)."""
    s = start
    while True:
        m = _LEADING_CUE.match(text, s, end)
        if not m or m.end() >= end or m.end() == s:
            return s
        s = m.end()


@lru_cache(maxsize=1)
def _nlp():
    import medspacy
    from loguru import logger

    # PyRuSH logs every sentence it splits at DEBUG through loguru: that is note text (PHI). medcode
    # splits sentences itself (_sentences: PyRuSH took a quarter of the coder's time), but keep it quiet
    logger.disable("PyRuSH")
    nlp = medspacy.load(medspacy_enable=["medspacy_pyrush"])  # only its tokenizer is used
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    context.add(_rules(context.DEFAULT_RULES_FILEPATH, _RULES))
    return nlp


def _rules(default_path: str | Path, ours_path: Path) -> list:
    """medspaCy's default ConText lexicon, less the rules medcode replaces, plus medcode's own."""
    from medspacy.context import ConTextRule

    ours = json.loads(ours_path.read_text())
    drop = {(r["category"].upper(), r["literal"].lower()) for r in ours.get("remove_default", [])}
    default = [r for r in ConTextRule.from_json(str(default_path)) if (r.category.upper(), r.literal.lower()) not in drop]
    rules = default + ConTextRule.from_json(str(ours_path))
    for rule in rules:
        if rule.category.upper() == "HISTORICAL":
            rule.terminated_by = set(rule.terminated_by or ()) | {"HISTORICAL_END", "LIST_END"}
        elif rule.category.upper() == "POSSIBLE_EXISTENCE":
            rule.terminated_by = set(rule.terminated_by or ()) | {"LIST_END"}
    return rules


def assess(text: str, spans: list[tuple[int, int]]) -> list[AssertionFlags]:
    """ConText flags for each (start, end) character span of ``text``."""
    if not spans:
        return []
    nlp = _nlp()
    doc = nlp.make_doc(text)
    doc = _sentences(doc)
    ents = []
    index: dict[tuple[int, int], int] = {}
    for i, (s, e) in enumerate(spans):
        span = doc.char_span(_core(text, s, e), e, label="MENTION", alignment_mode="expand")
        if span is None or len(span) == 0:
            continue
        key = (span.start, span.end)
        if key in index or any(not (span.end <= o.start or span.start >= o.end) for o in ents):
            continue  # spaCy entities may not overlap; the first mention over a token range wins
        index[key] = i
        ents.append(span)
    doc.ents = sorted(ents, key=lambda sp: sp.start)
    doc = nlp.get_pipe("medspacy_context")(doc)
    out = [AssertionFlags() for _ in spans]
    by_token = {(ent.start, ent.end): ent for ent in doc.ents}
    for key, i in index.items():
        ent = by_token.get(key)
        if ent is not None:
            out[i] = _flags(ent)
    # spans that collapsed onto another mention's tokens share its flags
    for i, (s, e) in enumerate(spans):
        if i in index.values():
            continue
        for (ts, te), j in index.items():
            span = doc[ts:te]
            if span.start_char <= s and e <= span.end_char:
                out[i] = out[j]
    return out


# a sentence ends at a line break, or at . ! ? before a space and a capital letter or digit (not
# after a genus initial, "H. pylori", nor inside "b.i.d" or "9.4"); a list marker starts one
_SENT_END = re.compile(r"\n|(?<![\s(][A-Za-z])(?<=[.!?])\s+(?=[A-Z0-9(\[*-])|\s+(?=\d{1,2}\)\s)")


def _sentences(doc):
    """Rule-based sentence starts for ConText's scopes, about thirty times faster than PyRuSH on
    these notes."""
    starts = {m.end() for m in _SENT_END.finditer(doc.text)}
    for tok in doc:
        tok.is_sent_start = tok.i == 0 or tok.idx in starts or (tok.i > 0 and "\n" in doc[tok.i - 1].text)
    return doc


_HISTORY_WORD = re.compile(r"\b(?:history|hx|h/o)\b", re.I)
# a family-history cue names both who had the condition and when: a relative's condition is history
_FAMILY_HISTORY = re.compile(r"\b(?:family\s+(?:history|hx)|fh|fhx)\b", re.I)
# a habit (drinking, drug use) is a pattern over time, never an event of this encounter: social
# history states it whether present ("Alcohol: two glasses a day") or denied ("Denies drugs"). Only
# the bare substance: "alcohol use" or "alcohol dependence" is a diagnosis the assessment may code
_HABIT = re.compile(
    r"(?:(?:illicit|recreational|street|iv|intravenous|other)\s+)?"
    r"(?:alcohol|etoh|drugs?|substances?)",
    re.I,
)

_CATEGORY_FLAG = {
    "NEGATED_EXISTENCE": "negated",
    "POSSIBLE_EXISTENCE": "uncertain",
    "HYPOTHETICAL": "hypothetical",
    "HISTORICAL": "historical",
    "FAMILY": "family",
}


def _flags(ent) -> AssertionFlags:
    """Flags from the ConText modifiers of an entity, ignoring cues inside the entity after its first
    token: "without" in "diabetes without complications" is part of the diagnosis, while a leading
    "Probable" or "No" in "Probable pneumonia" still qualifies it."""
    found: dict[str, bool] = {}
    for mod in ent._.modifiers:
        s, e = mod.modifier_span
        if ent.start < s and e <= ent.end:
            continue
        flag = _CATEGORY_FLAG.get(mod.category.upper())
        if flag:
            found[flag] = True
        if flag == "negated" and _HISTORY_WORD.search(ent.doc[s:e].text):
            found["historical"] = True  # "no history of CAD" denies a past condition
    if found.get("family") and _FAMILY_HISTORY.search(ent.sent.text[: ent.start_char - ent.sent.start_char]):
        found["historical"] = True
    if _HABIT.fullmatch(ent.text.strip()):
        found["historical"] = True
    return AssertionFlags(**found)


def locate(concept: str, sentence: str) -> tuple[int, int] | None:
    """Where a concept phrase occurs in a sentence: exact (case-insensitive), else the best window."""
    # the ConText set writes the target in capitals: an exact-case hit is the marked one
    i = sentence.find(concept.strip().upper())
    if i >= 0 and concept.strip().upper() != concept.strip():
        return i, i + len(concept.strip())
    i = sentence.lower().find(concept.lower().strip())
    if i >= 0:
        return i, i + len(concept.strip())
    words = [w for w in re.findall(r"\w+", concept.lower()) if len(w) > 2]
    if not words:
        return None
    hits = [(m.start(), m.end()) for m in re.finditer(r"\w+", sentence) if m.group().lower() in words]
    if not hits:
        # a prefix match catches inflections ("fractures" for "fracture")
        hits = [
            (m.start(), m.end())
            for m in re.finditer(r"\w+", sentence)
            if any(m.group().lower().startswith(w[:5]) for w in words)
        ]
    if not hits:
        return None
    return hits[0][0], hits[-1][1]
