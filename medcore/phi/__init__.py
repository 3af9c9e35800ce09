"""PHI at rest: envelope encryption (``envelope``) and the encrypted encounter store (``store``)."""

from .envelope import (
    DecryptError,
    Envelope,
    EnvelopeCipher,
    KmsKeyProvider,
    LocalKeyProvider,
    default_cipher,
)
from .store import PHI_PATHS, EncounterNotFound, EncounterStore

__all__ = [
    "PHI_PATHS",
    "DecryptError",
    "EncounterNotFound",
    "EncounterStore",
    "Envelope",
    "EnvelopeCipher",
    "KmsKeyProvider",
    "LocalKeyProvider",
    "default_cipher",
]
