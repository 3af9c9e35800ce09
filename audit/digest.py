"""Signed digests of the shards' heads, anchored in S3 under Object Lock (CloudTrail-style).

A hash chain alone cannot show that its *tail* is gone: an intruder who deletes the last events of
a day and moves the head back leaves a shorter chain that is perfectly consistent. A digest fixes
each shard's head at a moment, in a place the intruder cannot rewrite:

1. :meth:`Digests.create` reads every shard's head and lists those that moved since the previous
   digest: ``(shard, seq, head hash)``, sorted by shard.
2. It builds a Merkle tree over them (RFC 6962 hashing: ``0x00`` leaf and ``0x01`` node prefixes,
   split at the largest power of two), and signs the digest (the list, the root, the previous
   digest's hash, its number and time) with Ed25519.
3. It writes it to ``s3://<bucket>/audit-digests/<table>/<number>.json`` with Object Lock
   (COMPLIANCE by default) until six years and two days after, the audit items' own retention
   plus the day the digest may lag. ``IfNoneMatch`` keeps a digest number from being written twice.

Digests form their own chain (``previous_digest_hash``), so deleting or replacing one is seen too.
:func:`prove` gives an inclusion proof for one event: the chain from the event to an anchored head
plus the Merkle path from that head to the digest's root; :func:`check_proof` checks it offline.

The signing key is an Ed25519 PEM at ``AuditConfig.signing_key_path``, generated there (0600) on
first use; its public half is written beside it (``.pub.pem``). Every ``*.pub.pem`` in that folder
is trusted, so a rotated key's old digests still verify. The private key is never logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .blocks import read_entries
from .chain import AppendResult, AuditLog
from .config import AuditConfig
from .entry import GENESIS_HASH, HEAD_SEQ, RETENTION_YEARS, entry_hash, retain_until
from .exceptions import AuditError

logger = logging.getLogger(__name__)

FORMAT = "medcode.audit-digest/1"
PREFIX = "audit-digests"
_SCAN_SEGMENTS = 4


class DigestError(AuditError):
    """A digest could not be created, read or used for a proof."""


class DigestConflict(DigestError):
    """Another writer anchored the same digest number first; nothing was written. Try again."""


# Merkle tree (RFC 6962 / 9162 hashing) ----------------------------------------------------------


def leaf_hash(shard: str, seq: int, head: str) -> bytes:
    """The Merkle leaf of one anchored head."""
    body = json.dumps([shard, int(seq), head], separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(b"\x00" + body).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: list[bytes]) -> str:
    """The root over ``leaves`` as hex; the empty tree's root is ``SHA-256("")``."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    return _root(leaves).hex()


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(_root(leaves[:k]), _root(leaves[k:]))


def merkle_path(leaves: list[bytes], index: int) -> list[tuple[str, str]]:
    """The audit path of leaf ``index``, leaf to root: ``(side, sibling hex)``, side ``L`` or ``R``."""
    if not 0 <= index < len(leaves):
        raise IndexError(index)
    path: list[tuple[str, str]] = []
    lo, hi = 0, len(leaves)
    stack: list[tuple[str, str]] = []
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            stack.append(("R", _root(leaves[lo + k : hi]).hex()))
            hi = lo + k
        else:
            stack.append(("L", _root(leaves[lo : lo + k]).hex()))
            lo = lo + k
    path.extend(reversed(stack))
    return path


def climb(leaf: bytes, path: Iterable[tuple[str, str]]) -> str:
    h = leaf
    for side, sibling in path:
        sib = bytes.fromhex(sibling)
        h = _node(sib, h) if side == "L" else _node(h, sib)
    return h.hex()


# Keys -------------------------------------------------------------------------------------------


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(_public_bytes(key)).hexdigest()[:16]


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key at ``path``, generated there (mode 0600) when absent."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process generated it first: use theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            logger.info("generated an audit digest signing key (key id %s)", key_id(key.public_key()))
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise DigestError("the audit signing key is not an Ed25519 key")
    pub = path.with_name(path.name.removesuffix(".pem") + ".pub.pem")
    if not pub.exists():
        pub.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return key


def trusted_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """Public keys trusted to sign digests: every ``*.pub.pem`` beside the signing key, by key id."""
    out: dict[str, Ed25519PublicKey] = {}
    folder = Path(path).parent
    for pem in sorted(folder.glob("*.pub.pem")) if folder.is_dir() else []:
        try:
            key = serialization.load_pem_public_key(pem.read_bytes())
        except ValueError:
            continue
        if isinstance(key, Ed25519PublicKey):
            out[key_id(key)] = key
    return out


# Digest documents -------------------------------------------------------------------------------


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_part(doc: dict[str, Any]) -> bytes:
    return _canonical({k: v for k, v in doc.items() if k != "signature"})


def digest_hash(doc: dict[str, Any]) -> str:
    """The hash the next digest links to: SHA-256 of the whole canonical digest, signature included."""
    return hashlib.sha256(_canonical(doc)).hexdigest()


def digest_leaves(doc: dict[str, Any]) -> list[bytes]:
    return [leaf_hash(s["shard"], s["seq"], s["head"]) for s in doc["shards"]]


@dataclass(frozen=True)
class Anchor:
    """The newest anchored head of one shard."""

    shard: str
    seq: int
    head: str
    digest_number: int


@dataclass(frozen=True)
class BadDigest:
    """A digest that failed: its number (0 when unknown), S3 key and why."""

    number: int
    key: str
    reason: str

    def __str__(self) -> str:
        return f"digest {self.number} ({self.key}): {self.reason}"


@dataclass(frozen=True)
class DigestResult:
    """What :meth:`Digests.create` anchored."""

    number: int
    key: str
    merkle_root: str
    digest_hash: str
    shards: int
    created_at: str
    regressed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Proof:
    """Inclusion of one event in an anchored digest.

    ``event`` (the hashed fields) and ``prev_hash`` give the event's hash; ``chain`` lists the
    fields of every later entry up to the anchored head (``head_seq``), whose hashes the checker
    recomputes; ``merkle_path`` leads from that head's leaf to ``root``, the Merkle root of digest
    ``digest_number``.
    """

    shard: str
    seq: int
    event: dict[str, Any]
    prev_hash: str
    event_hash: str
    chain: list[dict[str, Any]]
    head_seq: int
    head_hash: str
    leaf_index: int
    merkle_path: list[tuple[str, str]]
    root: str
    digest_number: int
    digest_key: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["merkle_path"] = [list(p) for p in self.merkle_path]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proof:
        data = dict(data)
        data["merkle_path"] = [tuple(p) for p in data["merkle_path"]]
        return cls(**data)


def check_proof(proof: Proof, root: str) -> bool:
    """True when ``proof`` shows its event inside the digest whose Merkle root is ``root``.

    Everything is recomputed from the proof's contents; nothing is trusted from its hash fields
    except as values to compare with.
    """
    try:
        h = entry_hash(proof.event, proof.shard, proof.seq, proof.prev_hash)
        if h != proof.event_hash:
            return False
        for offset, fields in enumerate(proof.chain, start=1):
            h = entry_hash(fields, proof.shard, proof.seq + offset, h)
        if proof.seq + len(proof.chain) != proof.head_seq or h != proof.head_hash:
            return False
        return climb(leaf_hash(proof.shard, proof.head_seq, proof.head_hash), proof.merkle_path) == root
    except (TypeError, ValueError, KeyError, AttributeError):
        return False


class Digests:
    """The digest chain of one audit table: create, read, check, prove.

    Parameters
    ----------
    log : AuditLog or AuditConfig, optional
        Defaults to the configured log.
    s3 : botocore S3 client, optional
        Defaults to one for ``config.s3_endpoint`` (moto server locally).
    """

    def __init__(self, log: AuditLog | AuditConfig | None = None, s3: Any = None):
        if isinstance(log, AuditLog):
            self.log = log
        else:
            self.log = AuditLog(log or AuditConfig.from_settings())
        self.config = self.log.config
        if s3 is None:
            import boto3

            s3 = boto3.client("s3", **self.config.s3_client_kwargs())
        self.s3 = s3
        self.prefix = f"{PREFIX}/{self.config.table_name}/"
        self._key: Ed25519PrivateKey | None = None

    # keys and bucket --------------------------------------------------------------------------
    def _signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            if self.config.signing_key_path is None:
                raise DigestError("no signing_key_path configured")
            self._key = load_signing_key(self.config.signing_key_path)
        return self._key

    def trusted(self) -> dict[str, Ed25519PublicKey]:
        keys = trusted_keys(self.config.signing_key_path) if self.config.signing_key_path else {}
        if self.config.signing_key_path and self.config.signing_key_path.exists():
            pub = self._signing_key().public_key()
            keys.setdefault(key_id(pub), pub)
        return keys

    def ensure_bucket(self) -> None:
        """Create the digest bucket with Object Lock enabled unless it exists."""
        bucket = self.config.digest_bucket
        try:
            self.s3.head_bucket(Bucket=bucket)
            return
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
        kwargs: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": True}
        if self.config.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.config.region}
        try:
            self.s3.create_bucket(**kwargs)
        except (self.s3.exceptions.BucketAlreadyOwnedByYou, self.s3.exceptions.BucketAlreadyExists):
            pass

    # reading ----------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        """The digest objects' keys, in chain order."""
        out: list[str] = []
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.config.digest_bucket, Prefix=self.prefix
            )
            for page in pages:
                out.extend(obj["Key"] for obj in page.get("Contents", []))
        except self.s3.exceptions.NoSuchBucket:
            return []
        return sorted(out)

    def load(self, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(digest document, S3 object metadata: lock mode and retain-until)."""
        obj = self.s3.get_object(Bucket=self.config.digest_bucket, Key=key)
        doc = json.loads(obj["Body"].read())
        meta = {"lock_mode": obj.get("ObjectLockMode"), "retain_until": obj.get("ObjectLockRetainUntilDate")}
        return doc, meta

    def documents(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        keys = self.keys()
        if not keys:
            return []
        with ThreadPoolExecutor(max_workers=8) as pool:
            loaded = list(pool.map(self.load, keys))
        return [(k, doc, meta) for k, (doc, meta) in zip(keys, loaded, strict=True)]

    @staticmethod
    def anchors_of(docs: Iterable[dict[str, Any]]) -> dict[str, Anchor]:
        """The newest (highest-seq) anchored head of each shard across ``docs``."""
        out: dict[str, Anchor] = {}
        for doc in docs:
            for s in doc.get("shards", []):
                old = out.get(s["shard"])
                if old is None or int(s["seq"]) >= old.seq:
                    out[s["shard"]] = Anchor(s["shard"], int(s["seq"]), s["head"], int(doc["number"]))
        return out

    def anchored_heads(self, docs: Iterable[dict[str, Any]]) -> dict[str, dict[int, str]]:
        """Every anchored (seq → head hash) of each shard across ``docs``."""
        out: dict[str, dict[int, str]] = {}
        for doc in docs:
            for s in doc.get("shards", []):
                out.setdefault(s["shard"], {})[int(s["seq"])] = s["head"]
        return out

    def current_heads(self) -> dict[str, tuple[int, str]]:
        """Every shard's head item now: shard → (last_seq, last_hash). Parallel segmented scan."""
        if not self.log.table_exists():
            return {}
        import boto3

        client = boto3.client(
            "dynamodb",
            endpoint_url=self.config.endpoint,
            region_name=self.config.region,
            **{k: v for k, v in self.config.credentials().items() if v},
        )

        def segment(n: int) -> list[dict[str, Any]]:
            items, start = [], None
            while True:
                kwargs: dict[str, Any] = {
                    "TableName": self.config.table_name,
                    "Segment": n,
                    "TotalSegments": _SCAN_SEGMENTS,
                    "FilterExpression": "#q = :zero",
                    "ProjectionExpression": "#s, #q, last_seq, last_hash",
                    "ExpressionAttributeNames": {"#s": "shard", "#q": "seq"},
                    "ExpressionAttributeValues": {":zero": {"N": str(HEAD_SEQ)}},
                    "ConsistentRead": True,
                }
                if start:
                    kwargs["ExclusiveStartKey"] = start
                page = client.scan(**kwargs)
                items.extend(page.get("Items", []))
                start = page.get("LastEvaluatedKey")
                if not start:
                    return items

        with ThreadPoolExecutor(max_workers=_SCAN_SEGMENTS) as pool:
            pages = list(pool.map(segment, range(_SCAN_SEGMENTS)))
        heads: dict[str, tuple[int, str]] = {}
        for item in (i for page in pages for i in page):
            try:
                heads[item["shard"]["S"]] = (int(item["last_seq"]["N"]), item["last_hash"]["S"])
            except (KeyError, ValueError):
                continue  # an unreadable head is verify's business; it is not anchored
        return heads

    # writing ----------------------------------------------------------------------------------
    def create(self, now: datetime | None = None) -> DigestResult:
        """Sign and anchor a digest of every shard whose head moved since the previous digest.

        A shard whose head is now *behind* (or beside) what an earlier digest anchored is not
        re-anchored, which would launder a truncation; it is returned in ``regressed`` and
        ``verify`` reports it.

        Raises
        ------
        DigestConflict
            Another writer anchored this digest number first.
        """
        now = (now or datetime.now(UTC)).astimezone(UTC)
        self.ensure_bucket()
        docs = [doc for _k, doc, _m in self.documents()]
        previous = docs[-1] if docs else None
        anchors = self.anchors_of(docs)
        listed, regressed = [], []
        for shard, (seq, head) in sorted(self.current_heads().items()):
            old = anchors.get(shard)
            if old is not None and (seq < old.seq or (seq == old.seq and head != old.head)):
                regressed.append(shard)
                continue
            if old is None or seq > old.seq:
                listed.append({"shard": shard, "seq": seq, "head": head})
        if regressed:
            logger.warning("audit digest: %d shard(s) behind their anchored head were not re-anchored", len(regressed))
        number = int(previous["number"]) + 1 if previous else 1
        doc: dict[str, Any] = {
            "format": FORMAT,
            "table": self.config.table_name,
            "number": number,
            "created_at": now.isoformat(timespec="microseconds"),
            "shards": listed,
            "merkle_root": merkle_root(digest_leaves({"shards": listed})),
            "previous_digest_hash": digest_hash(previous) if previous else GENESIS_HASH,
        }
        key = self._signing_key()
        doc["key_id"] = key_id(key.public_key())
        doc["signature"] = key.sign(signed_part(doc)).hex()
        s3_key = f"{self.prefix}{number:012d}.json"
        # as long as the newest items it covers may live (six years and a day past their day), plus a day
        days = [f"_#{now.date().isoformat()}", *(s["shard"] for s in listed)]
        retain = max(_retention(d) for d in days) + timedelta(days=1)
        try:
            self.s3.put_object(
                Bucket=self.config.digest_bucket,
                Key=s3_key,
                Body=_canonical(doc),
                ContentType="application/json",
                ObjectLockMode=self.config.lock_mode,
                ObjectLockRetainUntilDate=retain,
                IfNoneMatch="*",
            )
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise DigestConflict(f"digest {number} of {self.config.table_name} already anchored") from None
            raise
        return DigestResult(
            number=number,
            key=s3_key,
            merkle_root=doc["merkle_root"],
            digest_hash=digest_hash(doc),
            shards=len(listed),
            created_at=doc["created_at"],
            regressed=regressed,
        )

    # checking ---------------------------------------------------------------------------------
    def check_chain(
        self, documents: list[tuple[str, dict[str, Any], dict[str, Any]]] | None = None
    ) -> tuple[int, list[BadDigest]]:
        """Check every digest's signature, Merkle root, number, link and Object Lock.

        Returns
        -------
        (digests checked, failures in chain order)
        """
        documents = self.documents() if documents is None else documents
        trusted = self.trusted()
        bad: list[BadDigest] = []
        previous: dict[str, Any] | None = None
        for index, (key, doc, meta) in enumerate(documents, start=1):
            number = doc.get("number", 0) if isinstance(doc, dict) else 0
            reason = self._check_one(key, doc, meta, index, previous, trusted)
            if reason:
                bad.append(BadDigest(int(number) if isinstance(number, int) else 0, key, reason))
            previous = doc
        if documents:
            versions = self._overwritten()
            bad.extend(BadDigest(0, k, "object has more than one version (overwritten)") for k in versions)
        return len(documents), bad

    def _check_one(self, key, doc, meta, index, previous, trusted) -> str | None:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return "not a digest document"
        if doc.get("table") != self.config.table_name:
            return "digest of another table"
        if doc.get("number") != index or key != f"{self.prefix}{index:012d}.json":
            return f"out of sequence (expected number {index})"
        public = trusted.get(doc.get("key_id", ""))
        if public is None:
            return "signed by an untrusted key"
        try:
            public.verify(bytes.fromhex(doc.get("signature", "")), signed_part(doc))
        except (InvalidSignature, ValueError):
            return "bad signature"
        expected_prev = digest_hash(previous) if previous is not None else GENESIS_HASH
        if doc.get("previous_digest_hash") != expected_prev:
            return "previous_digest_hash does not match the previous digest"
        if merkle_root(digest_leaves(doc)) != doc.get("merkle_root"):
            return "Merkle root does not match the listed heads"
        if not meta.get("lock_mode"):
            return "not under Object Lock"
        return None

    def _overwritten(self) -> list[str]:
        counts: dict[str, int] = {}
        try:
            pages = self.s3.get_paginator("list_object_versions").paginate(
                Bucket=self.config.digest_bucket, Prefix=self.prefix
            )
            for page in pages:
                for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    counts[v["Key"]] = counts.get(v["Key"], 0) + 1
        except self.s3.exceptions.ClientError:
            return []
        return sorted(k for k, n in counts.items() if n > 1)

    # proving ----------------------------------------------------------------------------------
    def prove(self, event: AppendResult | tuple[str, int] | str) -> Proof:
        """An inclusion proof for one event.

        Parameters
        ----------
        event : AppendResult, (shard, seq) or ``"shard:seq"``

        Raises
        ------
        DigestError
            The event is not anchored yet (run :meth:`create`), or its chain cannot be read intact.
        """
        shard, seq = parse_event_ref(event)
        documents = self.documents()
        # the earliest digest that anchors this shard at or past the event: the shortest chain
        chosen = None
        for key, doc, _meta in documents:
            for index, s in enumerate(doc.get("shards", [])):
                if s["shard"] == shard and int(s["seq"]) >= seq:
                    chosen = (key, doc, index, s)
                    break
            if chosen:
                break
        if chosen is None:
            raise DigestError(f"{shard} seq {seq} is not anchored by any digest yet")
        key, doc, index, anchored = chosen
        head_seq, head_hash = int(anchored["seq"]), anchored["head"]
        entries = self._entries(shard, seq, head_seq)
        if len(entries) != head_seq - seq + 1 or entries[0][0] != seq:
            raise DigestError(f"{shard}: entries {seq}..{head_seq} are not all present")
        _, first, prev_hash, first_hash = entries[0]
        leaves = digest_leaves(doc)
        return Proof(
            shard=shard,
            seq=seq,
            event=first,
            prev_hash=prev_hash,
            event_hash=first_hash,
            chain=[fields for _s, fields, _p, _h in entries[1:]],
            head_seq=head_seq,
            head_hash=head_hash,
            leaf_index=index,
            merkle_path=merkle_path(leaves, index),
            root=doc["merkle_root"],
            digest_number=int(doc["number"]),
            digest_key=key,
        )

    def _entries(self, shard: str, first: int, last: int) -> list[tuple[int, dict[str, Any], str, str]]:
        return list(read_entries(self.log.models, shard, first, last))

    def verify_proof(self, proof: Proof) -> bool:
        """:func:`check_proof` against the root of the anchored, correctly signed digest it names."""
        documents = self.documents()
        count, bad = self.check_chain(documents)
        for key, doc, _meta in documents:
            if key == proof.digest_key:
                if any(b.key == key for b in bad):
                    return False
                return check_proof(proof, doc["merkle_root"])
        return False


def _retention(shard: str) -> datetime:
    try:
        return retain_until(shard)
    except (ValueError, IndexError):
        return datetime.now(UTC).replace(year=datetime.now(UTC).year + RETENTION_YEARS + 1)


def parse_event_ref(event: AppendResult | tuple[str, int] | str) -> tuple[str, int]:
    if isinstance(event, AppendResult):
        return event.shard, event.seq
    if isinstance(event, str):
        shard, _, seq = event.rpartition(":")
        if not shard or not seq.isdigit():
            raise DigestError("an event is named '<tenant>#<YYYY-MM-DD>:<seq>'")
        return shard, int(seq)
    shard, seq = event
    return shard, int(seq)


def prove(event: AppendResult | tuple[str, int] | str, log: AuditLog | AuditConfig | None = None) -> Proof:
    """Module-level shortcut for :meth:`Digests.prove` on the configured (or given) log."""
    return Digests(log).prove(event)


def create_digest(log: AuditLog | AuditConfig | None = None) -> DigestResult:
    """Module-level shortcut for :meth:`Digests.create`."""
    return Digests(log).create()
