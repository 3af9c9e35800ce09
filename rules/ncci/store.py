"""A compact local store of NCCI edits: one SQLite file under ``settings.var_dir / "ncci"``.

The real practitioner PTP table holds well over a million rows, so it stays on disk and is queried
once per claim (every pair among the claim's codes in one ``IN`` query, cached). The MUE table is a
few tens of thousands of rows and is read into memory on first use.

Lookup order for MUEs: an imported practitioner MUE wins; otherwise the partial Medicaid list shipped
in ``rules/data`` (MAI unknown, treated as MAI 1), so a fresh install still catches gross unit errors.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path

from medcore.settings import get_settings
from rules.ncci.mue import MUEEdit, read_medicaid_partial
from rules.ncci.ptp import PTPEdit

STORE_FILE = "ncci.sqlite"
_CACHE_MAX = 65536

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ptp (
    col1 TEXT NOT NULL, col2 TEXT NOT NULL, prior1996 INTEGER NOT NULL, effective TEXT NOT NULL,
    deleted TEXT, modifier TEXT NOT NULL, rationale TEXT NOT NULL,
    PRIMARY KEY (col1, col2, effective)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mue (
    code TEXT PRIMARY KEY, value INTEGER NOT NULL, mai TEXT NOT NULL, rationale TEXT NOT NULL,
    source TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class _NothingImported(Exception):
    pass


def store_path() -> Path:
    """Where the default store lives: ``settings.var_dir / "ncci" / "ncci.sqlite"``."""
    return get_settings().var_dir / "ncci" / STORE_FILE


class NCCIStore:
    """NCCI PTP and MUE edits for fast lookup during a scrub.

    Parameters
    ----------
    path : Path or None
        The SQLite file; ``None`` keeps the store in memory (tests, what-if runs).
    medicaid_fallback : bool
        Fall back to the shipped partial Medicaid MUE list for codes with no imported MUE.
    """

    def __init__(self, path: Path | None = None, *, medicaid_fallback: bool = True) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._medicaid_fallback = medicaid_fallback
        self._mue: dict[str, MUEEdit] | None = None
        self._fallback: dict[str, MUEEdit] | None = None
        self._ptp_cache: dict[tuple[str, ...], tuple[PTPEdit, ...]] = {}
        self._has_ptp: bool | None = None

    # ---- import -------------------------------------------------------------------------------
    def import_ptp(self, edits: Iterable[PTPEdit], *, replace: bool = False, label: str = "") -> int:
        """Add PTP edits (the quarterly table comes in several files, so the default appends).

        Returns
        -------
        int
            Rows written.
        """
        rows = (
            (e.column1, e.column2, int(e.prior_1996), e.effective.isoformat(),
             e.deleted.isoformat() if e.deleted else None, e.modifier, e.rationale)
            for e in edits
        )
        with self._lock:
            n = self._load("ptp", "INSERT OR REPLACE INTO ptp VALUES (?,?,?,?,?,?,?)", rows, replace, label)
        self._ptp_cache.clear()
        self._has_ptp = None
        return n

    def import_mue(self, edits: Iterable[MUEEdit], *, replace: bool = True, label: str = "") -> int:
        """Load MUEs (by default replacing the practitioner MUEs already stored).

        Returns
        -------
        int
            Rows written.
        """
        rows = ((e.code, e.value, e.mai, e.rationale, e.source) for e in edits)
        with self._lock:
            n = self._load("mue", "INSERT OR REPLACE INTO mue VALUES (?,?,?,?,?)", rows, replace, label)
        self._mue = None
        return n

    def _load(self, table: str, insert: str, rows: Iterable[tuple], replace: bool, label: str) -> int:
        # one transaction: a file with no usable rows leaves the stored table as it was
        try:
            with self._db:
                if replace:
                    self._db.execute(f"DELETE FROM {table}")
                start = self._db.total_changes
                self._db.executemany(insert, rows)
                n = self._db.total_changes - start
                if n == 0:
                    raise _NothingImported
                if label:
                    self._db.execute(f"INSERT OR REPLACE INTO meta VALUES ('{table}_source', ?)", (label,))
        except _NothingImported:
            return 0
        return n

    # ---- lookup -------------------------------------------------------------------------------
    @property
    def has_ptp(self) -> bool:
        if self._has_ptp is None:
            self._has_ptp = self._db.execute("SELECT 1 FROM ptp LIMIT 1").fetchone() is not None
        return self._has_ptp

    def ptp_edits(self, codes: Iterable[str], dos: date) -> list[PTPEdit]:
        """PTP edits in force on ``dos`` whose column 1 and column 2 codes are both in ``codes``."""
        key = tuple(sorted(set(codes)))
        if len(key) < 2 or not self.has_ptp:
            return []
        edits = self._ptp_cache.get(key)
        if edits is None:
            marks = ",".join("?" * len(key))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT col1, col2, prior1996, effective, deleted, modifier, rationale FROM ptp "
                    f"WHERE col1 IN ({marks}) AND col2 IN ({marks}) AND col1 != col2",
                    key + key,
                ).fetchall()
            edits = tuple(
                PTPEdit(r[0], r[1], bool(r[2]), date.fromisoformat(r[3]),
                        date.fromisoformat(r[4]) if r[4] else None, r[5], r[6])
                for r in rows
            )
            if len(self._ptp_cache) >= _CACHE_MAX:
                self._ptp_cache.clear()
            self._ptp_cache[key] = edits
        return [e for e in edits if e.in_force(dos)]

    def mue(self, code: str) -> MUEEdit | None:
        """The MUE for a code: the imported practitioner one, else the partial Medicaid one."""
        if self._mue is None:
            with self._lock:
                self._mue = {
                    r[0]: MUEEdit(r[0], r[1], r[2], r[3], r[4])
                    for r in self._db.execute("SELECT code, value, mai, rationale, source FROM mue")
                }
        hit = self._mue.get(code)
        if hit is None and self._medicaid_fallback:
            if self._fallback is None:
                self._fallback = _medicaid_partial()
            hit = self._fallback.get(code)
        return hit

    def counts(self) -> dict[str, int]:
        """Rows held: ``{"ptp": N, "mue": N}``."""
        with self._lock:
            return {
                "ptp": self._db.execute("SELECT COUNT(*) FROM ptp").fetchone()[0],
                "mue": self._db.execute("SELECT COUNT(*) FROM mue").fetchone()[0],
            }

    def close(self) -> None:
        self._db.close()


@lru_cache(maxsize=1)
def _medicaid_partial() -> dict[str, MUEEdit]:
    return {e.code: e for e in read_medicaid_partial()}


@lru_cache(maxsize=1)
def default_store() -> NCCIStore:
    """The store at :func:`store_path`; an empty in-memory one (Medicaid MUEs only) when none is imported."""
    path = store_path()
    return NCCIStore(path if path.exists() else None)


def import_ptp_file(path: str | Path, *, store: NCCIStore | None = None, replace: bool = False) -> int:
    """Read a CMS practitioner PTP file into the store (the default one under ``var_dir``)."""
    from rules.ncci.ptp import read_ptp

    target = store or NCCIStore(store_path())
    n = target.import_ptp(read_ptp(path), replace=replace, label=Path(path).name)
    default_store.cache_clear()
    return n


def import_mue_file(path: str | Path, *, store: NCCIStore | None = None, replace: bool = True) -> int:
    """Read a CMS practitioner MUE file into the store (the default one under ``var_dir``)."""
    from rules.ncci.mue import read_mue

    target = store or NCCIStore(store_path())
    n = target.import_mue(read_mue(path), replace=replace, label=Path(path).name)
    default_store.cache_clear()
    return n
