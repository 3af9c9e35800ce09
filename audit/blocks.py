"""How entries sit in the table: blocks of lines, one line per entry.

An append batch of one shard is stored as one *block* item (ledger databases do the same: QLDB
blocks, CloudTrail digest files), keyed ``(shard, seq of its first entry)``. Its ``entries``
attribute is a string of lines joined by ``"\\n"``, one per entry, in seq order::

    <hash> <prev_hash> <canonical JSON of the entry>

``hash`` and ``prev_hash`` are 64 hex digits; the canonical JSON is exactly the bytes hashed,
``hash = SHA-256(canonical ‖ prev_hash)`` (:func:`audit.entry.entry_hash`), and holds the entry's
``seq`` and ``shard`` itself. So every entry keeps its own seq, link and hash, is checked on its
own, and a verifier names the first bad one by shard and seq. Canonical JSON escapes control
characters, so no entry contains a newline.

A block holds at most ``MAX_BATCH`` entries and ``MAX_BLOCK_BYTES`` of lines, well under
DynamoDB's 400 KB item limit. Reading a day takes a few items instead of one per event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .entry import EVENT_FIELDS
from .models import BoundModels

HASH_CHARS = 64
# where the canonical JSON starts in a line: two hashes and two spaces
TEXT_AT = 2 * HASH_CHARS + 2
LINE_SEP = "\n"


def entry_line(digest: str, prev_hash: str, text: str) -> str:
    """One stored line: ``"<hash> <prev_hash> <canonical JSON>"``."""
    return f"{digest} {prev_hash} {text}"


def split_line(line: str) -> tuple[str, str, str] | None:
    """``(hash, prev_hash, canonical JSON)`` of a line, or None when it is not shaped like one."""
    if len(line) <= TEXT_AT or line[HASH_CHARS] != " " or line[TEXT_AT - 1] != " ":
        return None
    return line[:HASH_CHARS], line[HASH_CHARS + 1 : TEXT_AT - 1], line[TEXT_AT:]


def line_bytes(text_bytes: int) -> int:
    """Bytes a line takes in a block (with its separator), given its canonical JSON's UTF-8 size."""
    return TEXT_AT + text_bytes + 1


def seq_marker(seq: int, shard_json: str) -> str:
    """What a canonical entry of ``seq`` holds at its last ``,"seq":`` (sorted keys put seq before shard).

    The values after ``seq`` in canonical JSON (shard, source, tenant_id) are strings, in which a quote
    is always escaped, so the last ``,"seq":`` of a canonical entry is its own top-level seq.
    """
    return f',"seq":{seq},"shard":{shard_json},"source":'


def shard_json(shard: str) -> str:
    return json.dumps(shard, ensure_ascii=False)


def decode_entry(line: str) -> tuple[int, str, dict[str, Any], str, str]:
    """``(seq, shard, event fields, prev_hash, hash)`` of one line, parsing its JSON.

    Raises
    ------
    ValueError
        The line is not a well-formed entry.
    """
    parts = split_line(line)
    if parts is None:
        raise ValueError("not an entry line")
    digest, prev_hash, text = parts
    body = json.loads(text)
    if not isinstance(body, dict) or not isinstance(body.get("seq"), int):
        raise ValueError("entry without a whole-number seq")
    fields = {name: body.get(name) for name in EVENT_FIELDS}
    return body["seq"], body.get("shard"), fields, prev_hash, digest


def block_entries(raw: dict[str, Any]) -> list[str]:
    """The lines of a raw block item; empty when it has none readable."""
    text = raw.get("entries", {}).get("S")
    return text.split(LINE_SEP) if isinstance(text, str) and text else []


def query_blocks(
    models: BoundModels, shard: str, after: int | float = 0, upto: int | None = None, consistent: bool = True
) -> Iterator[dict[str, Any]]:
    """Raw block items of ``shard`` keyed ``after < seq (<= upto)``, ascending; raw so a tampered type
    cannot stop a walk."""
    values: dict[str, Any] = {":s": {"S": shard}, ":a": {"N": str(after)}}
    condition = "#s = :s AND #q > :a"
    if upto is not None:
        condition = "#s = :s AND #q BETWEEN :a AND :u"
        values[":a"] = {"N": str(after + 1 if isinstance(after, int) else after)}
        values[":u"] = {"N": str(upto)}
    kwargs: dict[str, Any] = {
        "TableName": models.table_name,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#s": "shard", "#q": "seq"},
        "ExpressionAttributeValues": values,
        "ConsistentRead": consistent,
    }
    while True:
        page = models.client.query(**kwargs)
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return
        kwargs["ExclusiveStartKey"] = start


def block_at(models: BoundModels, shard: str, seq: int) -> dict[str, Any] | None:
    """The raw block that starts at or before ``seq`` (the one that should hold it), or None."""
    page = models.client.query(
        TableName=models.table_name,
        KeyConditionExpression="#s = :s AND #q BETWEEN :one AND :q",
        ExpressionAttributeNames={"#s": "shard", "#q": "seq"},
        ExpressionAttributeValues={":s": {"S": shard}, ":one": {"N": "1"}, ":q": {"N": str(seq)}},
        ScanIndexForward=False,
        Limit=1,
        ConsistentRead=True,
    )
    items = page.get("Items", [])
    return items[0] if items else None


def read_entries(
    models: BoundModels, shard: str, first: int = 1, last: int | None = None
) -> Iterator[tuple[int, dict[str, Any], str, str]]:
    """``(seq, event fields, prev_hash, hash)`` of ``shard``'s entries ``first..last`` in order, as stored.

    Lines that do not parse, or whose seq or shard is not what their place says, are skipped:
    reading is not verifying (:func:`audit.verify.verify` reports them).
    """
    start_block = block_at(models, shard, first) if first > 1 else None
    after = int(start_block["seq"]["N"]) - 1 if start_block and start_block["seq"]["N"].isdigit() else 0
    for raw in query_blocks(models, shard, after=after, upto=last):
        for line in block_entries(raw):
            try:
                seq, where, fields, prev_hash, digest = decode_entry(line)
            except ValueError:
                continue
            if where != shard or seq < first:
                continue
            if last is not None and seq > last:
                return
            yield seq, fields, prev_hash, digest
