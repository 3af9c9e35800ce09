"""NCCI edits: readers for the official CMS practitioner PTP and MUE layouts, and a local store."""

from rules.ncci.mue import MAI_TEXT, MUEEdit, read_medicaid_partial, read_mue
from rules.ncci.ptp import MODIFIER_INDICATORS, PTPEdit, read_ptp
from rules.ncci.store import NCCIStore, default_store, import_mue_file, import_ptp_file, store_path

__all__ = [
    "MAI_TEXT",
    "MODIFIER_INDICATORS",
    "MUEEdit",
    "NCCIStore",
    "PTPEdit",
    "default_store",
    "import_mue_file",
    "import_ptp_file",
    "read_medicaid_partial",
    "read_mue",
    "read_ptp",
    "store_path",
]
