"""Lambda adapters, one module per stage, each exposing ``lambda_handler(event, context)``.

``ingest`` (API Gateway, S3 ObjectCreated or SQS), ``code``, ``scrub``, ``claim``, ``submit`` and
``remit`` (SQS). Each is built on aws-lambda-powertools: a PHI-redacting Logger, Tracer, EMF Metrics
(namespace ``medcode``), parser models for its event, SQS partial batch responses, and idempotency
on DynamoDB keyed by (encounter id, stage). The stage logic itself is the plain functions in
``handlers/`` (through ``handlers.messages``); audit events are committed once per (encounter, stage)
by ``handlers.once``.
"""
