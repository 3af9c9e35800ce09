"""Queues between the stages: one small interface, two backends, a dead-letter queue each, redrive.

- :class:`MemoryQueue`: in-process (the embedded default). Lost on a crash, which is fine because
  the bulk runner's checkpoint only moves past an encounter once every stage has finished it.
- :class:`SqsQueue`: Amazon SQS (moto server locally), created with a ``RedrivePolicy`` that sends a
  message to ``<name>-dlq`` after ``max_receive_count`` receives.

Both count receives and dead-letter the same way, so a message that keeps failing stops blocking its
stage. :func:`redrive` moves dead letters back once the cause is fixed. :class:`Backpressure` bounds
what is in flight.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from handlers.messages import STAGES

__all__ = ["Backpressure", "Message", "MemoryQueue", "Queue", "QueueSet", "SqsQueue", "redrive"]

DEFAULT_MAX_RECEIVE = 3


@dataclass
class Message:
    id: str
    body: str
    receipt: str
    receive_count: int = 1


class Queue(Protocol):
    name: str

    def send(self, body: str) -> str: ...
    def send_many(self, bodies: Iterable[str]) -> list[str]: ...
    def receive(self, max_messages: int = 10) -> list[Message]: ...
    def ack(self, message: Message) -> None: ...
    def nack(self, message: Message) -> None: ...
    def depth(self) -> int: ...


class MemoryQueue:
    """FIFO in one process; ``nack`` makes the message visible again at once (or dead-letters it)."""

    def __init__(self, name: str, dlq: MemoryQueue | None = None, max_receive_count: int = DEFAULT_MAX_RECEIVE):
        self.name = name
        self.dlq = dlq
        self.max_receive_count = max_receive_count
        self._visible: deque[Message] = deque()
        self._in_flight: dict[str, Message] = {}
        self._ids = itertools.count(1)

    def send(self, body: str) -> str:
        mid = f"{self.name}-{next(self._ids)}"
        self._visible.append(Message(mid, body, receipt="", receive_count=0))
        return mid

    def send_many(self, bodies: Iterable[str]) -> list[str]:
        return [self.send(b) for b in bodies]

    def receive(self, max_messages: int = 10) -> list[Message]:
        out = []
        while self._visible and len(out) < max_messages:
            m = self._visible.popleft()
            if self.dlq is not None and m.receive_count >= self.max_receive_count:
                self.dlq._visible.append(Message(m.id, m.body, "", 0))
                continue
            m.receive_count += 1
            m.receipt = uuid.uuid4().hex
            self._in_flight[m.receipt] = m
            out.append(m)
        return out

    def ack(self, message: Message) -> None:
        self._in_flight.pop(message.receipt, None)

    def nack(self, message: Message) -> None:
        m = self._in_flight.pop(message.receipt, None)
        if m is not None:
            self._visible.append(m)

    def depth(self) -> int:
        return len(self._visible) + len(self._in_flight)

    def purge(self) -> None:
        self._visible.clear()
        self._in_flight.clear()


def sqs_client(endpoint: str | None = None, region: str | None = None):
    import boto3

    from medcore.settings import get_settings

    s = get_settings()
    kwargs: dict[str, Any] = {"region_name": region or s.aws_region}
    endpoint = endpoint if endpoint is not None else s.moto_endpoint
    if endpoint:
        kwargs["endpoint_url"] = endpoint
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs |= {"aws_access_key_id": "medcodelocal", "aws_secret_access_key": "medcodelocal"}
    return boto3.client("sqs", **kwargs)


class SqsQueue:
    """An SQS standard queue with its dead-letter queue, created if missing."""

    def __init__(self, name: str, client: Any = None, max_receive_count: int = DEFAULT_MAX_RECEIVE,
                 visibility_timeout: int = 60, with_dlq: bool = True):
        self.name = name
        self.client = client or sqs_client()
        self.dlq: SqsQueue | None = None
        attrs = {"VisibilityTimeout": str(visibility_timeout), "SqsManagedSseEnabled": "true"}
        if with_dlq:
            self.dlq = SqsQueue(f"{name}-dlq", self.client, with_dlq=False)
            dlq_arn = self.dlq.attribute("QueueArn")
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn,
                                                 "maxReceiveCount": str(max_receive_count)})
        self.url = self.client.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]

    def attribute(self, name: str) -> str:
        return self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=[name])["Attributes"][name]

    def send(self, body: str) -> str:
        return self.client.send_message(QueueUrl=self.url, MessageBody=body)["MessageId"]

    def send_many(self, bodies: Iterable[str]) -> list[str]:
        ids: list[str] = []
        batch = list(bodies)
        for start in range(0, len(batch), 10):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(batch[start:start + 10])]
            resp = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            if resp.get("Failed"):
                raise RuntimeError(f"SQS refused {len(resp['Failed'])} message(s) on {self.name}")
            ids += [s["MessageId"] for s in sorted(resp["Successful"], key=lambda s: int(s["Id"]))]
        return ids

    def receive(self, max_messages: int = 10, wait_s: int = 0) -> list[Message]:
        resp = self.client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=min(max_messages, 10),
                                           WaitTimeSeconds=wait_s, MessageSystemAttributeNames=["ApproximateReceiveCount"])
        return [Message(m["MessageId"], m["Body"], m["ReceiptHandle"],
                        int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")))
                for m in resp.get("Messages", [])]

    def ack(self, message: Message) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt)

    def nack(self, message: Message) -> None:
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message.receipt, VisibilityTimeout=0)

    def depth(self) -> int:
        attrs = self.client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def purge(self) -> None:
        self.client.purge_queue(QueueUrl=self.url)


class QueueSet(dict):
    """One queue per stage (``<prefix>-<stage>``), each with its DLQ."""

    @classmethod
    def create(cls, backend: str = "memory", prefix: str = "medcode", stages: Iterable[str] = STAGES,
               max_receive_count: int = DEFAULT_MAX_RECEIVE, client: Any = None) -> QueueSet:
        qs = cls()
        for stage in stages:
            name = f"{prefix}-{stage}"
            if backend == "memory":
                qs[stage] = MemoryQueue(name, MemoryQueue(f"{name}-dlq"), max_receive_count)
            elif backend == "sqs":
                qs[stage] = SqsQueue(name, client, max_receive_count)
            else:
                raise ValueError(f"unknown queue backend {backend!r} (memory or sqs)")
        return qs

    def depth(self) -> int:
        return sum(q.depth() for q in self.values())


def redrive(queue: MemoryQueue | SqsQueue, limit: int | None = None) -> int:
    """Move messages from ``queue``'s dead-letter queue back onto it; returns how many moved."""
    if queue.dlq is None:
        raise ValueError(f"{queue.name} has no dead-letter queue")
    moved = 0
    while limit is None or moved < limit:
        batch = queue.dlq.receive(10 if limit is None else min(10, limit - moved))
        if not batch:
            break
        for m in batch:
            queue.send(m.body)
            queue.dlq.ack(m)
            moved += 1
    return moved


class Backpressure:
    """Bound the work in flight: ``wait(queues)`` blocks while their depth is at or above ``max_in_flight``.

    In-process the runner also drains between reads, so the bound holds by construction; against SQS
    with separate consumers this is the check that stops a producer from flooding the queues.
    """

    def __init__(self, max_in_flight: int = 256, poll_s: float = 0.05, timeout_s: float = 600.0):
        self.max_in_flight = max_in_flight
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.waits = 0

    def room(self, queues: QueueSet | Queue) -> int:
        return max(0, self.max_in_flight - queues.depth())

    def wait(self, queues: QueueSet | Queue) -> int:
        deadline = time.monotonic() + self.timeout_s
        while (room := self.room(queues)) == 0:
            self.waits += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"queues stayed at {self.max_in_flight}+ messages for {self.timeout_s}s")
            time.sleep(self.poll_s)
        return room
