"""Mention extraction: the diagnostic statements a coder would read, with exact offsets.

In the assessment (or impression, diagnoses...) each list item is one problem. Its head, the words
before the first dash, colon, parenthesis or sentence end, names the condition ("Type 2 diabetes
mellitus without complications - improved, A1c at goal."). The item's later sentences are kept as
secondary mentions: they may add a condition, but they also hold plans and negations.

When a note has no assessment, sentences from the chief complaint, history of present illness and
findings are used as secondary mentions, which the coder holds to a stricter threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from serving.pipeline.abbreviations import expand
from serving.pipeline.guidelines import adverse_effect_wording
from serving.pipeline.sections import CODING_ROLES, Section, split_sections

_ITEM_SPLIT = re.compile(r"(?:^|\n)[ \t]*(?:\d{1,2}[.)]|[-*•#])[ \t]+|\n|;|\||(?<=[a-z0-9)])\s+(?=\d{1,2}[.)]\s+[A-Za-z])")
_HEAD_END = re.compile(r"\s[-–—]{1,2}\s|:\s|(?<!\b[A-Z])\.\s|\.$|,\s(?=(?:likely|probably|possibly|stable|improved|controlled|"
                       r"uncontrolled|worsening|resolved|new|chronic|acute|s/p|status)\b)|"
                       # "opacity, which may represent pneumonia": the finding is certain, the reading is not
                       r",?\s(?=(?:which|that)\s+(?:may|might|could|likely|probably|possibly|represents?|suggests?|"
                       r"is\s+(?:likely|probably|possibly|concerning|suspicious|worrisome))\b)", re.I)
# a period inside a number ("Hgb 9.4"), an abbreviation ("b.i.d") or after a genus initial ("H. pylori",
# "E. coli", "C. difficile") does not end a sentence
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?])|(?<=\b[A-Z])\.\s+(?=[a-z]))+[.!?]?")
_CUES = re.compile(
    r"\b(?:probable|probably|possible|possibly|likely|suspected|suspect|presumed|presumptive|questionable|"
    r"consistent with|concerning for|suggestive of|history of|rule out|known|new|newly diagnosed|"
    r"status post|s/p|\?)\b",
    re.I,
)
_UNCLOSED_ASIDE = re.compile(r"(?<=\w)\s*\([^()]*$")
# TNM staging ("pT1c pN0 M0") qualifies the neoplasm but is not a word of any code title
_TNM = re.compile(r"\b[pcyr]?T(?:[0-4]|is|x)[a-d]?\b|\b[pcyr]?N[0-3x][a-c]?\b|\b[pc]?M[01x]\b")
# "Hx of DVT, no current signs": a clause denying that anything is present now adds nothing to the name
_NOTHING_NOW = re.compile(r"[,;]\s*(?:no|w/o|without)\s+(?:current|acute|active|new|further|evidence|signs?|symptoms?|"
                          r"recurren\w*|complications?|issues?|problems?|concerns?|change)\b[^,;]*", re.I)
_INNER_NEGATION = re.compile(r"(?<=[\w)])([,;]?\s+)(?:no|w/o)\s+(?=[a-z])", re.I)
_MEASURED = re.compile(r"\([^()]*\d[^()]*\)")
# functional classes and reporting categories grade severity for the clinician but name no code axis:
# "stable angina (CCS class II)", "HFrEF, NYHA class III", "COPD, GOLD 3", "ECOG 1", "Lung-RADS 2"
_FUNCTIONAL_CLASS = re.compile(
    r"[,;]?\s*\(?\b(?:CCS|NYHA|Killip|GOLD|ECOG|ASA|mRS|Child[- ]Pugh|(?:Lung|BI|TI|LI|PI|O)-?RADS)"
    r"(?:\s+(?:class|grade|stage|score|category))?\s*:?\s+(?:[IVX]+|\d+[A-Z]?|[A-D])\b\)?(?:\s*\([^()]*\))?",
    re.I,
)
# what a lesion does to its neighbour is imaging detail, not the lesion: "disc extrusion displacing the
# traversing L5 nerve root" is a disc displacement (M51.26), not a nerve root disorder
_EFFECT_CLAUSE = re.compile(r"[,;]?\s+(?:displacing|compressing|contacting|abutting|impinging|effacing|deforming|"
                            r"indenting|encasing|narrowing)\b.*$", re.I)
# who the patient caught it from or who had it is no code axis: "Exposure to COVID-19 (husband positive)"
_PERSON_ASIDE = re.compile(r"\([^()]*\b(?:husband|wife|spouse|partner|mother|father|mom|dad|son|daughter|child|"
                           r"brother|sister|sibling|coworker|co-worker|roommate|household|contact|friend|"
                           r"classmate|grand\w+|aunt|uncle|cousin)s?\b[^()]*\)", re.I)
# a size is no code axis: "4 mm solid RUL nodule", "1.2 cm renal lesion", "3 x 2 cm mass"
_SIZE = re.compile(r"\b\d+(?:\.\d+)?(?:\s*(?:x|by)\s*\d+(?:\.\d+)?)*\s*(?:mm|cm)\b", re.I)
# when it began is not what it is: "stable angina, new since ~March", "knee pain x 8 weeks"
_ONSET = re.compile(
    r"[,;]?\s*\b(?:(?:new|present|ongoing|worse|worsening)\s+)?(?:(?:since|for|over\s+the\s+(?:last|past))\s+|x\s*)"
    r"~?\s*(?:(?:about|approx\.?|approximately|several|a\s+few|few|the\s+last|the\s+past|\d+(?:-\d+)?|one|two|"
    r"three|four|five|six|a)\s+)?(?:days?|weeks?|wks?|months?|mos?|years?|yrs?)\b"
    r"|[,;]?\s*\b(?:(?:new|present|ongoing)\s+)?since\s+~?\s*(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"[a-z]*\.?(?:\s+\d{4})?|\d{4}|childhood|birth|age\s+\d+)\b",
    re.I,
)
# "Displaced bimalleolar fx L ankle s/p ORIF": what follows "s/p" is the procedure done for the
# condition, not part of its name (a mention that starts with the cue is a status, routed by the coder)
_AFTER_PROCEDURE = re.compile(r"(?<=\w)[\s,;-]+(?:s/p|S/P|status\s+post)\b.*$", re.I)
_FAMILY_ITEM = re.compile(r"[^,;.\n]+")
FALLBACK_ROLES = frozenset({"preamble", "chief_complaint", "hpi", "results", "reasoning"})


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    text: str
    role: str  # the section role it came from
    primary: bool  # the head of an assessment item
    order: int  # position in reading order
    lead: str = ""  # words the mention inherits from the phrase it was split from ("metastases to ")

    def query(self) -> str:
        text = _AFTER_PROCEDURE.sub("", self.lead + self.text)
        # an aside cut off by the item split ("Hodgkin lymphoma in her 40s (treated") is not the condition
        text = _UNCLOSED_ASIDE.sub("", text)
        text = adverse_effect_wording(text)
        # a negated detail inside a diagnosis is an axis of it: "otitis media, no TM rupture" is otitis
        # media without rupture (H66.001), not with it
        text = _INNER_NEGATION.sub(r"\1without ", _NOTHING_NOW.sub("", text))
        text = expand(text, role="assessment" if self.role in CODING_ROLES else self.role)
        # assertion cues are handled by ConText; in the query they only dilute the match, and so do
        # measurements in parentheses ("Prediabetes (A1c 6.0)", "CHF (EF 30%)")
        text = _PERSON_ASIDE.sub(" ", _SIZE.sub(" ", _EFFECT_CLAUSE.sub("", text)))
        text = _TNM.sub(" ", _MEASURED.sub(" ", _FUNCTIONAL_CLASS.sub(" ", _ONSET.sub(" ", text))))
        return " ".join(_CUES.sub(" ", text).split()) or text


def _trim(note: str, s: int, e: int) -> tuple[int, int]:
    while s < e and note[s] in " \t\r\n-*•,;:.":
        s += 1
    while e > s and note[e - 1] in " \t\r\n-*•,;:.":
        e -= 1
    return s, e


def _items(note: str, sec: Section) -> list[tuple[int, int]]:
    body_start, body = sec.start, sec.text(note)
    cuts = [0]
    for m in _ITEM_SPLIT.finditer(body):
        cuts.extend([m.start(), m.end()])
    cuts.append(len(body))
    out = []
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):
        s, e = _trim(note, body_start + a, body_start + b)
        if e - s >= 3:
            out.append((s, e))
    return out


# "adenocarcinoma of RUL lung w/ mets to bone and brain": the primary and its metastases are coded
# separately (C34.11, C79.51, C79.31), so the metastases start a mention of their own
_METS = re.compile(r"[,;]?\s*\b(?:w/|with)\s+(?=(?:mets|metastas[ie]s|metastatic\s+disease)\b)", re.I)
_SITE_METS = re.compile(r"[,;]?\s*\b(?:w/|with)\s+(?P<part>(?:(?!mets\b|metastas)[a-z]+\s+){1,2}(?:mets|metastas[ie]s)\b)", re.I)
_SITE_LIST = re.compile(r"\s*(?:,|\band\b|&)\s*(?=[A-Za-z])")


_METS_TO = re.compile(r"\b(?:mets|metastas[ie]s|metastatic\s+disease)\s+(?:to|in|involving)\s+", re.I)
_METASTATIC_X_TO = re.compile(r"\bmetastatic\s+[a-z]+(?:\s+cell)?\s+(?:cancer|carcinoma|adenocarcinoma)"
                              r"(?P<to>\s+(?:to|in|involving)\s+)", re.I)


def _split_secondary(note: str, s: int, e: int) -> list[tuple[int, int, str]]:
    """(start, end, lead) of each part: the primary, then one part per metastatic site, each
    reading as "metastases to <site>" ("... w/ mets to bone and brain", "metastatic prostate
    cancer to bone")."""
    m = _SITE_METS.search(note, s, e)
    if m is not None and m.start() - s >= 3:
        # "prostate ca w/ bone mets, castration-sensitive": the primary, and "bone mets" read as the
        # secondary neoplasm of its site
        first = _trim(note, s, m.start())
        return [(*first, ""), (m.start("part"), m.end("part"), "")]
    m = _METS.search(note, s, e)
    if m is not None and m.start() - s >= 3:
        first, rest = _trim(note, s, m.start()), m.end()
    else:
        m = _METASTATIC_X_TO.search(note, s, e)
        if m is None:
            return [(s, e, "")]
        first, rest = _trim(note, s, m.start("to")), m.end("to")
    parts = [(*first, "")]
    cue = _METS_TO.match(note, rest)
    lead = "" if cue else "metastases to "
    pos = cue.end() if cue else rest
    sites = [pos, *(x for sm in _SITE_LIST.finditer(note, pos, e) for x in (sm.start(), sm.end())), e]
    for i, (a, b) in enumerate(zip(sites[::2], sites[1::2], strict=False)):
        a, b = _trim(note, a, b)
        if i == 0 and cue:
            parts.append((rest, b, ""))  # the first site keeps the note's own words
        elif b - a >= 3:
            parts.append((a, b, "metastases to "))
        if i == 0 and not cue and b - a >= 3:
            parts[-1] = (a, b, lead)
    return [p for p in parts if p[1] - p[0] >= 3]


def extract(note: str, sections: list[Section] | None = None, coding_roles: frozenset[str] = CODING_ROLES) -> list[Mention]:
    """The note's mentions; ``coding_roles`` are the sections read as lists of problems (the
    assessment; the indication when the coder falls back to the reasons for a study)."""
    sections = sections if sections is not None else split_sections(note)
    mentions: list[Mention] = []
    coding = [s for s in sections if s.role in coding_roles]
    for sec in coding or [s for s in sections if s.role in FALLBACK_ROLES]:
        for s, e in _items(note, sec):
            item = note[s:e]
            head_end = _HEAD_END.search(item)
            h_end = s + (head_end.start() if head_end else len(item))
            hs, he = _trim(note, s, h_end)
            head = None
            if coding and he - hs >= 3:
                head = (hs, he)
                for ps, pe, lead in _split_secondary(note, hs, he):
                    mentions.append(Mention(ps, pe, note[ps:pe], sec.role, True, len(mentions), lead))
                rest_start = h_end
            else:
                rest_start = s
            for m in _SENTENCE.finditer(note, rest_start, e):
                ss, se = _trim(note, m.start(), m.end())
                if se - ss >= 3 and (ss, se) != head:
                    mentions.append(Mention(ss, se, note[ss:se], sec.role, False, len(mentions)))
    # family history is coded as such (Z80-Z84): its items are mentions too, routed by the coder
    for sec in (s for s in sections if s.role == "family_history"):
        for s, e in _items(note, sec):
            for m in _FAMILY_ITEM.finditer(note, s, e):
                ms, me = _trim(note, m.start(), m.end())
                if me - ms >= 4:
                    mentions.append(Mention(ms, me, note[ms:me], sec.role, False, len(mentions)))
    return mentions


_CONJUNCT = re.compile(r",\s*|\s+(?:and|w/|with|&|plus)\s+|(?<!\b\w)\s*/\s*(?!\w\b)|;\s*", re.I)


def conjuncts(m: Mention) -> list[Mention]:
    """The parts of a coordinated mention ("dysuria w/ frequency, urgency and suprapubic pain"),
    each with its own exact offsets; empty when the mention has no parts."""
    parts: list[Mention] = []
    pos = 0
    text = m.text
    for sep in [*_CONJUNCT.finditer(text), None]:
        end = sep.start() if sep else len(text)
        s, e = pos, end
        while s < e and not text[s].isalnum():
            s += 1
        if e - s >= 3:
            parts.append(Mention(m.start + s, m.start + e, text[s:e], m.role, True, m.order))
        pos = sep.end() if sep else len(text)
    return parts if len(parts) > 1 else []
