"""Envelope encryption: AES-256-GCM under data keys that a key-encryption key (KMS CMK) wraps.

Each :class:`Envelope` carries everything needed to open it except the master key: the key id it
was wrapped under, the wrapped (encrypted) data key, the nonce and the ciphertext with its tag.
The associated data (what the value *is*: tenant, encounter, field path) is not stored; the caller
passes it again on decrypt, so a ciphertext moved to another field or record fails to open.

Data keys come from :class:`KmsKeyProvider` (``GenerateDataKey``; moto server locally) or, for
offline use and tests, :class:`LocalKeyProvider`. :class:`EnvelopeCipher` caches plaintext data
keys in memory for a short time and a bounded number of uses, so KMS is called once per burst of
writes rather than once per field.

Rotation: point the cipher at a new master key (``use_key``) and new writes use it at once; old
envelopes stay readable (the provider unwraps under the key id they name) until :meth:`rotate`
re-encrypts them under a fresh data key, or :meth:`rewrap` re-wraps only their data key.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from medcore.errors import MedcodeError
from medcore.settings import Settings, get_settings

ALGORITHM = "AES-256-GCM"
_NONCE_BYTES = 12
_KEY_BYTES = 32
DEFAULT_KMS_ALIAS = "alias/medcode-phi"


class DecryptError(MedcodeError):
    """An envelope could not be opened: wrong associated data, a damaged value, or an unknown key.

    The message never holds the plaintext or key material.
    """


@dataclass(frozen=True)
class DataKey:
    """A fresh data key: its plaintext (memory only) and its wrapped form (stored)."""

    key_id: str
    plaintext: bytes
    wrapped: bytes


class KeyProvider(Protocol):
    """Wraps and unwraps data keys under named master keys."""

    def generate_data_key(self, key_id: str) -> DataKey: ...

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes: ...

    def rewrap(self, key_id: str, wrapped: bytes, new_key_id: str) -> tuple[str, bytes]:
        """The data key re-wrapped under ``new_key_id``: (resolved key id, wrapped key)."""
        ...


@dataclass(frozen=True)
class Envelope:
    """One encrypted value. ``to_dict``/``from_dict`` give its stored JSON form (base64 fields)."""

    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes  # includes the 16-byte GCM tag
    alg: str = ALGORITHM

    def to_dict(self) -> dict[str, str]:
        b64 = base64.b64encode
        return {
            "alg": self.alg,
            "kid": self.key_id,
            "edk": b64(self.wrapped_key).decode(),
            "iv": b64(self.nonce).decode(),
            "ct": b64(self.ciphertext).decode(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        try:
            if data["alg"] != ALGORITHM:
                raise DecryptError(f"unsupported algorithm {data['alg']!r}")
            b64 = base64.b64decode
            return cls(
                key_id=str(data["kid"]),
                wrapped_key=b64(data["edk"]),
                nonce=b64(data["iv"]),
                ciphertext=b64(data["ct"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DecryptError(f"malformed envelope ({type(exc).__name__})") from None

    @staticmethod
    def is_envelope(data: Any) -> bool:
        return isinstance(data, Mapping) and data.get("alg") == ALGORITHM and "edk" in data and "ct" in data


def _client_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"region_name": settings.aws_region}
    if settings.moto_endpoint:
        # moto checks no secret; dummy keys go to this client only, never into os.environ
        kwargs |= {
            "endpoint_url": settings.moto_endpoint,
            "aws_access_key_id": "medcodelocal",
            "aws_secret_access_key": "medcodelocal",
        }
    return kwargs


class KmsKeyProvider:
    """Data keys from AWS KMS (moto server at ``settings.moto_endpoint`` locally).

    Parameters
    ----------
    client : botocore KMS client, optional
        Defaults to one built from ``settings``.
    settings : Settings, optional
    """

    def __init__(self, client: Any = None, settings: Settings | None = None):
        if client is None:
            import boto3

            client = boto3.client("kms", **_client_kwargs(settings or get_settings()))
        self.client = client

    def ensure_key(self, alias: str = DEFAULT_KMS_ALIAS) -> str:
        """The ARN of the CMK behind ``alias``, creating both when absent."""
        try:
            return self.client.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
        except self.client.exceptions.NotFoundException:
            pass
        arn = self.create_key(description="medcode PHI envelope key")
        try:
            self.client.create_alias(AliasName=alias, TargetKeyId=arn)
        except self.client.exceptions.AlreadyExistsException:
            # another process won the race: use its key and leave ours unused
            return self.client.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
        return arn

    def create_key(self, description: str = "medcode PHI envelope key") -> str:
        meta = self.client.create_key(
            Description=description, KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT"
        )["KeyMetadata"]
        return meta["Arn"]

    def point_alias(self, alias: str, key_id: str) -> None:
        """Move ``alias`` to a new CMK: the rotation step that changes which key new writes use."""
        self.client.update_alias(AliasName=alias, TargetKeyId=key_id)

    def generate_data_key(self, key_id: str) -> DataKey:
        out = self.client.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        # record the ARN KMS resolved (an alias moves; the ARN that wrapped this key does not)
        return DataKey(key_id=out["KeyId"], plaintext=out["Plaintext"], wrapped=out["CiphertextBlob"])

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self.client.decrypt(CiphertextBlob=wrapped, KeyId=key_id)["Plaintext"]
        except self.client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise DecryptError(f"KMS could not unwrap the data key ({code})") from None

    def rewrap(self, key_id: str, wrapped: bytes, new_key_id: str) -> tuple[str, bytes]:
        out = self.client.re_encrypt(
            CiphertextBlob=wrapped, SourceKeyId=key_id, DestinationKeyId=new_key_id
        )
        return out["KeyId"], out["CiphertextBlob"]


class LocalKeyProvider:
    """Master keys kept as files (``<dir>/<key_id>.key``, 32 random bytes, mode 0600).

    For the embedded default without KMS and for tests. A master key wraps data keys with
    AES-256-GCM (the key id as associated data). Production uses :class:`KmsKeyProvider`.
    """

    def __init__(self, key_dir: Path):
        self.key_dir = Path(key_dir)

    def _path(self, key_id: str) -> Path:
        if not key_id or any(c in key_id for c in "/\\") or key_id.startswith("."):
            raise DecryptError("invalid local key id")
        return self.key_dir / f"{key_id}.key"

    def create_key(self, key_id: str | None = None) -> str:
        key_id = key_id or f"local-{os.urandom(8).hex()}"
        path = self._path(key_id)
        self.key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(AESGCM.generate_key(bit_length=256))
        return key_id

    def ensure_key(self, key_id: str = "local-default") -> str:
        if not self._path(key_id).exists():
            try:
                self.create_key(key_id)
            except FileExistsError:
                pass
        return key_id

    def _master(self, key_id: str) -> AESGCM:
        try:
            return AESGCM(self._path(key_id).read_bytes())
        except FileNotFoundError:
            raise DecryptError("master key not found") from None

    def generate_data_key(self, key_id: str) -> DataKey:
        plaintext = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(_NONCE_BYTES)
        wrapped = nonce + self._master(key_id).encrypt(nonce, plaintext, key_id.encode())
        return DataKey(key_id=key_id, plaintext=plaintext, wrapped=wrapped)

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self._master(key_id).decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise DecryptError("data key does not unwrap under the named master key") from None

    def rewrap(self, key_id: str, wrapped: bytes, new_key_id: str) -> tuple[str, bytes]:
        plaintext = self.unwrap(key_id, wrapped)
        nonce = os.urandom(_NONCE_BYTES)
        return new_key_id, nonce + self._master(new_key_id).encrypt(nonce, plaintext, new_key_id.encode())


class EnvelopeCipher:
    """Encrypt and decrypt values under envelope keys, with a short-lived in-memory key cache.

    Parameters
    ----------
    provider : KeyProvider
    key_id : str
        The master key (CMK ARN, alias or local key id) new envelopes are wrapped under.
    cache_ttl_s : float
        How long a plaintext data key stays in memory (for encrypting and for decrypting).
    max_uses : int
        Values one data key encrypts before a new one is generated. GCM's random 96-bit nonces
        stay far inside their 2**32-message bound at this size.
    """

    def __init__(
        self, provider: KeyProvider, key_id: str, cache_ttl_s: float = 60.0, max_uses: int = 10_000
    ):
        self.provider = provider
        self.key_id = key_id
        self.cache_ttl_s = cache_ttl_s
        self.max_uses = max_uses
        self._lock = threading.Lock()
        self._current: tuple[DataKey, float, int] | None = None  # key, created, uses
        self._opened: OrderedDict[bytes, tuple[bytes, float]] = OrderedDict()  # wrapped -> (plain, at)
        self._opened_max = 1024

    # key management ---------------------------------------------------------------------------
    def use_key(self, key_id: str) -> None:
        """Wrap new envelopes under ``key_id`` from now on; existing ones stay readable."""
        with self._lock:
            self.key_id = key_id
            self._current = None

    def clear_cache(self) -> None:
        """Forget every plaintext data key held in memory."""
        with self._lock:
            self._current = None
            self._opened.clear()

    def _data_key(self) -> DataKey:
        now = time.monotonic()
        with self._lock:
            if self._current is not None:
                key, born, uses = self._current
                if now - born < self.cache_ttl_s and uses < self.max_uses:
                    self._current = (key, born, uses + 1)
                    return key
            key = self.provider.generate_data_key(self.key_id)
            self._current = (key, now, 1)
            self._remember(key.wrapped, key.plaintext, now)
            return key

    def _remember(self, wrapped: bytes, plaintext: bytes, now: float) -> None:
        self._opened[wrapped] = (plaintext, now)
        self._opened.move_to_end(wrapped)
        while len(self._opened) > self._opened_max:
            self._opened.popitem(last=False)

    def _unwrap(self, envelope: Envelope) -> bytes:
        now = time.monotonic()
        with self._lock:
            hit = self._opened.get(envelope.wrapped_key)
            if hit is not None and now - hit[1] < self.cache_ttl_s:
                return hit[0]
        plaintext = self.provider.unwrap(envelope.key_id, envelope.wrapped_key)
        with self._lock:
            self._remember(envelope.wrapped_key, plaintext, now)
        return plaintext

    # values -----------------------------------------------------------------------------------
    def encrypt(self, plaintext: bytes | str, aad: bytes = b"") -> Envelope:
        """Encrypt one value.

        Parameters
        ----------
        plaintext : bytes or str
            A str is UTF-8 encoded.
        aad : bytes
            Associated data: what the value is (tenant, record, field). Needed again to decrypt.
        """
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        key = self._data_key()
        nonce = os.urandom(_NONCE_BYTES)
        ct = AESGCM(key.plaintext).encrypt(nonce, data, aad)
        return Envelope(key_id=key.key_id, wrapped_key=key.wrapped, nonce=nonce, ciphertext=ct)

    def decrypt(self, envelope: Envelope | Mapping[str, Any], aad: bytes = b"") -> bytes:
        """Open one value.

        Raises
        ------
        DecryptError
            Wrong ``aad``, a tampered value, or a master key that cannot unwrap the data key.
        """
        env = envelope if isinstance(envelope, Envelope) else Envelope.from_dict(envelope)
        key = self._unwrap(env)
        try:
            return AESGCM(key).decrypt(env.nonce, env.ciphertext, aad)
        except InvalidTag:
            raise DecryptError("value does not authenticate (tampered, or opened as another field)") from None

    def rotate(self, envelope: Envelope | Mapping[str, Any], aad: bytes = b"") -> Envelope:
        """Re-encrypt under a fresh data key wrapped by the current master key (``key_id``)."""
        return self.encrypt(self.decrypt(envelope, aad), aad)

    def rewrap(self, envelope: Envelope | Mapping[str, Any], new_key_id: str | None = None) -> Envelope:
        """Re-wrap only the data key under ``new_key_id`` (default: the current master key).

        Cheaper than :meth:`rotate` (the value is not re-encrypted, no associated data needed);
        use it when a master key is retired but the data keys themselves are not suspect.
        """
        env = envelope if isinstance(envelope, Envelope) else Envelope.from_dict(envelope)
        resolved, wrapped = self.provider.rewrap(env.key_id, env.wrapped_key, new_key_id or self.key_id)
        return Envelope(key_id=resolved, wrapped_key=wrapped, nonce=env.nonce, ciphertext=env.ciphertext)


def default_cipher(settings: Settings | None = None, alias: str = DEFAULT_KMS_ALIAS) -> EnvelopeCipher:
    """KMS (moto locally) when ``settings.moto_endpoint`` or real AWS is configured.

    ``MEDCODE_PHI_KEYS=local`` selects :class:`LocalKeyProvider` under ``var_dir/keys`` instead.
    """
    s = settings or get_settings()
    if os.environ.get("MEDCODE_PHI_KEYS", "kms") == "local":
        provider = LocalKeyProvider(Path(s.var_dir) / "keys")
        return EnvelopeCipher(provider, provider.ensure_key())
    kms = KmsKeyProvider(settings=s)
    return EnvelopeCipher(kms, kms.ensure_key(alias))
