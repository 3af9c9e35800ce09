"""ICD-10-CM reference data: the official CDC tabular XML plus the Alphabetic Index.

The tabular list gives codes, titles, hierarchy and instructional notes. Codes that take a 7th
character are not listed in the XML in full; they are generated here from the ``sevenChrDef``
that applies to each leaf (inherited from the nearest ancestor), padding with the placeholder X.

The Alphabetic Index ships as the FY2025 flattened CSV (one row per term, a Level column for the
hierarchy). Full term paths ("Pneumonia, aspiration, due to food") are rebuilt from the levels, and
every index code is reconciled against the tabular release it is loaded with: a code that release
lacks, or that became a header (expanded), is mapped to the release's code and flagged.
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

NOTE_KINDS = (
    "includes",
    "inclusion_terms",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional",
    "code_also",
)
_XML_NOTE_TAGS = {
    "includes": "includes",
    "inclusionTerm": "inclusion_terms",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional",
    "codeAlso": "code_also",
}

# code references inside notes: "E08.-", "O00-O9A", "R10.0-R10.9", "A15.0"
_CODE_REF = re.compile(
    r"\b([A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.-|-(?!\s*[A-TV-Z][0-9]))?"
    r"(?:\s*-\s*([A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.-)?)?"
)


# bump when the parsed structure changes, so stale pickles are not loaded
CACHE_VERSION = 3


def nodot(code: str) -> str:
    return code.replace(".", "").strip().upper()


def dotted(code: str) -> str:
    c = nodot(code)
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


@dataclass(frozen=True, slots=True)
class CodeRange:
    """A prefix range of codes (dots removed), inclusive at both ends."""

    lo: str
    hi: str

    def contains(self, code: str) -> bool:
        c = nodot(code)
        return self.lo <= c[: len(self.lo)] and c[: len(self.hi)] <= self.hi

    def __str__(self) -> str:
        return self.lo if self.lo == self.hi else f"{self.lo}-{self.hi}"


def parse_code_refs(text: str) -> list[CodeRange]:
    """Code references in an instructional note, as prefix ranges."""
    out: list[CodeRange] = []
    for m in _CODE_REF.finditer(text):
        lo = nodot(m.group(1))
        hi = nodot(m.group(2)) if m.group(2) else lo
        out.append(CodeRange(lo, hi))
    return out


@dataclass(slots=True)
class IndexEntry:
    """One Alphabetic Index term path and the code it leads to in this release."""

    path: str
    code: str  # dotted; a header code when ``status`` is incomplete/expanded
    status: str  # valid | incomplete | expanded | deleted | see
    source_code: str = ""  # as written in the index, when it differs
    nonessential: str = ""  # the term's nonessential modifiers, "(acute) (double)"
    level: int = 0  # 0 for a main term


# Neoplasm Table columns and the words a path says for them
NEOPLASM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("MalignantPrimary", "malignant"),
    ("MalignantSecondary", "secondary malignant"),
    ("CaInSitu", "in situ"),
    ("Benign", "benign"),
    ("UncertainBehavior", "uncertain behavior"),
    ("UnspecifiedBehavior", "unspecified behavior"),
)


@dataclass(slots=True)
class CodeEntry:
    code: str  # dotted
    description: str
    billable: bool
    parent: str | None
    chapter: str
    block: str
    notes: dict[str, list[str]] = field(default_factory=dict)
    seven_chr_def: dict[str, str] = field(default_factory=dict)  # only where defined on this node
    seven_chr_note: str = ""
    index_terms: list[str] = field(default_factory=list)
    generated: bool = False  # a 7th-character code generated from its parent's sevenChrDef


@dataclass(slots=True)
class Chapter:
    number: str
    description: str
    first: str
    last: str


class CodeSet:
    """One ICD-10-CM release, indexed by code.

    Parameters
    ----------
    release : str
        A label such as ``FY2026-April``.
    """

    def __init__(self, release: str):
        self.release = release
        self.codes: dict[str, CodeEntry] = {}
        self.chapters: dict[str, Chapter] = {}
        self.children: dict[str, list[str]] = {}
        self.index: list[IndexEntry] = []

    # -- lookups ---------------------------------------------------------------------------
    def get(self, code: str) -> CodeEntry | None:
        return self.codes.get(dotted(code))

    def __contains__(self, code: str) -> bool:
        return dotted(code) in self.codes

    def is_billable(self, code: str) -> bool:
        e = self.get(code)
        return bool(e and e.billable)

    def billable_codes(self) -> Iterator[CodeEntry]:
        return (e for e in self.codes.values() if e.billable)

    def ancestors(self, code: str) -> list[CodeEntry]:
        """The parent chain, nearest first (not including the code itself)."""
        out = []
        e = self.get(code)
        while e is not None and e.parent:
            e = self.codes.get(e.parent)
            if e is not None:
                out.append(e)
        return out

    def notes_for(self, code: str, kind: str, inherit: bool = True) -> list[str]:
        """Instructional notes of one kind that apply to a code (own first, then inherited)."""
        e = self.get(code)
        if e is None:
            return []
        chain = [e, *self.ancestors(code)] if inherit else [e]
        out: list[str] = []
        for node in chain:
            out.extend(node.notes.get(kind, []))
        return out

    def excludes1(self, code: str) -> list[CodeRange]:
        return [r for note in self.notes_for(code, "excludes1") for r in parse_code_refs(note)]

    def seven_chr_for(self, code: str) -> dict[str, str]:
        """The 7th-character definitions that apply to a code (from the nearest ancestor)."""
        e = self.get(code)
        for node in [e, *self.ancestors(code)] if e else []:
            if node.seven_chr_def:
                return node.seven_chr_def
        return {}

    def billable_descendants(self, code: str) -> list[str]:
        out: list[str] = []
        stack = [dotted(code)]
        while stack:
            c = stack.pop()
            e = self.codes.get(c)
            if e is not None and e.billable:
                out.append(c)
            stack.extend(self.children.get(c, []))
        return sorted(out)

    def chapter_of(self, code: str) -> Chapter | None:
        e = self.get(code)
        return self.chapters.get(e.chapter) if e else None

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def from_tabular_xml(
        cls, source: Path | bytes, release: str, code_list: set[str] | None = None
    ) -> CodeSet:
        """Parse the tabular XML.

        ``code_list`` (dot-less codes from the release's official code list) vets generated
        7th-character codes: the XML cannot express exclusions such as "7th characters D and S
        do not apply to S06 codes with death", while the code list does.
        """
        data = _read_bytes(source) if isinstance(source, Path) else source
        root = ET.fromstring(data)
        cs = cls(release)
        for ch in root.iter("chapter"):
            num = (ch.findtext("name") or "").strip()
            desc = (ch.findtext("desc") or "").strip()
            first = last = ""
            for sec in ch.findall("section"):
                block = sec.get("id", "")
                lo, _, hi = block.partition("-")
                first = first or lo
                last = hi or lo
                for d in sec.findall("diag"):
                    cs._add_diag(d, parent=None, chapter=num, block=block)
            cs.chapters[num] = Chapter(num, desc, first, last)
        cs._generate_seventh_characters(code_list)
        return cs

    def _add_diag(self, el: ET.Element, parent: str | None, chapter: str, block: str) -> None:
        code = (el.findtext("name") or "").strip()
        entry = CodeEntry(
            code=code,
            description=(el.findtext("desc") or "").strip(),
            billable=False,
            parent=parent,
            chapter=chapter,
            block=block,
        )
        for tag, kind in _XML_NOTE_TAGS.items():
            notes = [(n.text or "").strip() for x in el.findall(tag) for n in x.findall("note")]
            if notes:
                entry.notes[kind] = notes
        sdef = el.find("sevenChrDef")
        if sdef is not None:
            entry.seven_chr_def = {x.get("char", ""): (x.text or "").strip() for x in sdef.findall("extension")}
        snote = el.find("sevenChrNote")
        if snote is not None:
            entry.seven_chr_note = " ".join((n.text or "").strip() for n in snote.findall("note"))
        self.codes[code] = entry
        if parent:
            self.children.setdefault(parent, []).append(code)
        kids = el.findall("diag")
        for k in kids:
            self._add_diag(k, parent=code, chapter=chapter, block=block)
        entry.billable = not kids

    def _generate_seventh_characters(self, code_list: set[str] | None) -> None:
        leaves = [e for e in self.codes.values() if e.billable]
        for leaf in leaves:
            sdef = self.seven_chr_for(leaf.code)
            if not sdef:
                continue
            # a leaf under a 7th-character category is not itself billable: it needs its 7th char
            leaf.billable = False
            base = nodot(leaf.code).ljust(6, "X")
            for ch, meaning in sdef.items():
                if code_list is not None and base + ch not in code_list:
                    continue
                code = dotted(base + ch)
                self.codes[code] = CodeEntry(
                    code=code,
                    description=f"{leaf.description}, {meaning}",
                    billable=True,
                    parent=leaf.code,
                    chapter=leaf.chapter,
                    block=leaf.block,
                    generated=True,
                )
                self.children.setdefault(leaf.code, []).append(code)

    def attach_index(self, rows: Iterable[dict[str, str]]) -> None:
        """Rebuild term paths from the flattened index and reconcile its codes with this release."""
        stack: list[str] = []
        by_path: dict[str, IndexEntry] = {}
        pending_see: list[tuple[str, str, str]] = []
        for row in rows:
            level = int(row.get("Level") or 0)
            term = (row.get("Term") or "").strip()
            if not term:
                continue
            del stack[level:]
            path = ", ".join([*stack, term]) if level else term
            stack.append(term)
            raw = (row.get("Code") or "").strip()
            see = (row.get("See") or "").strip()
            nonessential = (row.get("NonEssModif") or "").strip()
            if raw:
                entry = self._reconcile(path, raw, nonessential)
                entry.level = level
                self.index.append(entry)
                by_path.setdefault(path.lower(), entry)
            elif see:
                pending_see.append((path, see, nonessential, level))
        # "see" cross-references become synonyms of the target term, when it carries a code
        for path, see, nonessential, level in pending_see:
            target = by_path.get(re.sub(r"\s+", " ", see).strip().lower())
            if target is not None:
                self.index.append(
                    IndexEntry(path=path, code=target.code, status="see", source_code=target.path,
                               nonessential=nonessential, level=level)
                )
        for e in self.index:
            node = self.codes.get(e.code)
            if node is not None:
                node.index_terms.append(e.path)

    def attach_neoplasm_table(self, rows: Iterable[dict[str, str]]) -> None:
        """Index paths from the Neoplasm Table, one per site and behaviour column.

        The Alphabetic Index sends "Cancer", "Carcinoma" and "Metastasis" to this table ("see
        Neoplasm, malignant, by site"), so without it a site such as "liver" reaches its secondary
        neoplasm code only through the code title. Each cell becomes a path like
        ``Neoplasm, secondary, liver`` or ``Neoplasm, malignant, lung, upper lobe of lung``.
        """
        stack: list[str] = []
        for row in rows:
            level = int(row.get("Level") or 0)
            term = (row.get("Term") or "").strip()
            if not term:
                continue
            del stack[max(level - 1, 0):]
            if level == 0:
                continue  # "Neoplasm, neoplastic": the table itself
            stack.append(term)
            site = ", ".join(stack)
            nonessential = (row.get("NonEssModif") or "").strip()
            for column, behaviour in NEOPLASM_COLUMNS:
                raw = (row.get(column) or "").strip()
                if not raw or raw == "-":
                    continue
                entry = self._reconcile(f"Neoplasm, {behaviour}, {site}", raw, nonessential)
                entry.level = level + 1
                self.index.append(entry)
                node = self.codes.get(entry.code)
                if node is not None:
                    node.index_terms.append(entry.path)

    def _reconcile(self, path: str, raw: str, nonessential: str) -> IndexEntry:
        incomplete = raw.endswith("-")
        code = dotted(raw.rstrip("-").rstrip("."))
        node = self.codes.get(code)
        if node is not None:
            if node.billable:
                return IndexEntry(path, code, "valid", nonessential=nonessential)
            return IndexEntry(path, code, "incomplete" if incomplete else "expanded", raw, nonessential)
        # not in this release: map to the nearest ancestor that is, and flag it
        c = nodot(code)
        while len(c) > 3 and dotted(c) not in self.codes:
            c = c[:-1]
        mapped = dotted(c)
        return IndexEntry(path, mapped if mapped in self.codes else code, "deleted", raw, nonessential)


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def read_index_csv(path: Path) -> list[dict[str, str]]:
    text = _read_bytes(path).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def read_code_list(path: Path) -> set[str]:
    return {line.strip() for line in _read_bytes(path).decode().splitlines() if line.strip()}


def load_codeset(
    tabular: Path,
    index: Path | None,
    release: str,
    code_list: Path | None = None,
    cache_dir: Path | None = None,
    neoplasms: Path | None = None,
) -> CodeSet:
    """Load one release (tabular + optional index and Neoplasm Table), through a pickle cache keyed
    by file stamps."""
    cache = None
    if cache_dir is not None:
        stamp = "-".join(
            f"{p.stat().st_mtime_ns}.{p.stat().st_size}"
            for p in (tabular, index, code_list, neoplasms) if p is not None
        )
        cache = cache_dir / f"codeset-{CACHE_VERSION}-{release}-{stamp}.pkl"
        if cache.exists():
            with cache.open("rb") as fh:
                return pickle.load(fh)
    cs = CodeSet.from_tabular_xml(tabular, release, read_code_list(code_list) if code_list else None)
    if index is not None:
        cs.attach_index(read_index_csv(index))
    if neoplasms is not None:
        cs.attach_neoplasm_table(read_index_csv(neoplasms))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(cs, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)
    return cs
