"""The FastAPI app of the partner coding API (GUIDE.md section 2), independent of Ray.

``create_app()`` builds the routes; whoever hosts it (the Ray ingress deployment) puts an
:class:`ApiContext` on ``app.state.ctx``. Order of checks on ``/v1/*``: key (401) → role (403) →
declared size (413) → body (422) → tenant (403) → note size (413) → rate limit and quota (429).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from medcore.access import AccessDenied, Action, Principal, authorize
from medcore.errors import MedcodeError
from medcore.ingest import parse
from medcore.model import AuditAction, AuditEvent, Encounter
from serving.api.config import ApiConfig
from serving.api.keys import KeyStore
from serving.api.limits import RateLimiter
from serving.api.logs import api_logger, new_request_id, request_id
from serving.api.metering import Outcome, UsageMeter, seconds_to_next_period, units_for
from serving.api.schemas import BatchItem, BatchRequest, BatchResponse, CodeRequest, ErrorBody, UsageResponse
from serving.pipeline.coder import CodingResult

log = api_logger()
ACTIONS = {"/v1/code": Action.code_submit, "/v1/code:batch": Action.code_submit, "/v1/usage": Action.usage_read}


class CodingService(Protocol):
    async def code(self, encounters: list[Encounter]) -> list[CodingResult]: ...

    async def ready(self) -> dict[str, bool]: ...


class AuditSink(Protocol):
    def append_many(self, events: list[AuditEvent]) -> object: ...


@dataclass
class ApiContext:
    """Everything a request needs; one per ingress replica."""

    config: ApiConfig
    keys: KeyStore
    meter: UsageMeter
    audit: AuditSink
    service: CodingService
    limiter: RateLimiter = field(default_factory=RateLimiter)
    io: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8, thread_name_prefix="medcode-io"))

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.io, fn, *args)


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None,
           rid: str | None = None, set_header: bool = True) -> JSONResponse:
    rid = rid or request_id.get()
    body = ErrorBody(error=error, message=message, request_id=rid).model_dump()
    hdrs = ({"x-request-id": rid} if set_header else {}) | (headers or {})
    return JSONResponse(body, status_code=status, headers=hdrs)


class ApiError(HTTPException):
    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(status, message, headers)
        self.error = error


def create_app(set_request_id_header: bool = True) -> FastAPI:
    """The API. ``set_request_id_header=False`` when a proxy in front adds ``x-request-id`` (Ray Serve's)
    from the request's header, which this app then uses as the id."""
    app = FastAPI(
        title="medcode coding API",
        version="1",
        description="ICD-10-CM coding of clinical notes (text, FHIR R4, HL7 v2, C-CDA), metered in 100-character units.",
    )
    key_header = APIKeyHeader(name="x-api-key", auto_error=False)  # documents the scheme; checked in middleware

    def err(request: Request, status: int, error: str, message: str, headers: dict | None = None) -> JSONResponse:
        rid = getattr(request.state, "request_id", None) or new_request_id(request.headers.get("x-request-id"))
        return _error(status, error, message, headers, rid=rid, set_header=set_request_id_header)

    def ctx() -> ApiContext:
        c = getattr(app.state, "ctx", None)
        if c is None:
            raise ApiError(503, "not_ready", "the API is starting")
        return c

    @app.middleware("http")
    async def envelope(request: Request, call_next):
        rid = new_request_id(request.headers.get("x-request-id"))
        request_id.set(rid)
        request.state.request_id = rid
        t0 = time.perf_counter()
        tenant = "-"
        action = ACTIONS.get(request.url.path)
        if action is not None:
            c = getattr(app.state, "ctx", None)
            if c is None:
                return err(request, 503, "not_ready", "the API is starting")
            info = await c.run(c.keys.verify, request.headers.get("x-api-key"))
            if info is None:
                return err(request, 401, "unauthorized", "missing or unknown API key")
            principal = info.principal()
            tenant = principal.tenant_id
            try:
                authorize(principal, action, principal.tenant_id)
            except AccessDenied as exc:
                return err(request, 403, "forbidden", str(exc))
            request.state.principal = principal
            declared = request.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > c.config.max_body_bytes:
                return err(request, 413, "payload_too_large", f"body over {c.config.max_body_bytes} bytes")
        response = await call_next(request)
        if set_request_id_header:
            response.headers["x-request-id"] = rid
        log.info("request", extra={"fields": {
            "method": request.method, "path": request.url.path, "status": response.status_code,
            "ms": round((time.perf_counter() - t0) * 1000, 1), "tenant": tenant,
            "bytes_in": request.headers.get("content-length", "0"),
        }})
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return err(request, exc.status_code, exc.error, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return err(request, exc.status_code, "http_error", str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        # FastAPI's default echoes the offending input, which may be note text: send locations only
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        resp = err(request, 422, "invalid_request", "the body does not match the schema")
        body = json.loads(resp.body) | {"detail": errors}
        return JSONResponse(body, status_code=422, headers={k: v for k, v in resp.headers.items()
                                                            if k == "x-request-id"})

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):
        log.error("unhandled error", extra={"fields": {"type": type(exc).__name__}})
        return err(request, 500, "internal", "internal error")

    def principal_of(request: Request) -> Principal:
        return request.state.principal

    def check_tenant(principal: Principal, tenant: str | None, action: Action) -> None:
        if tenant is not None:
            try:
                authorize(principal, action, tenant)
            except AccessDenied as exc:
                raise ApiError(403, "forbidden", str(exc)) from None

    async def admit(c: ApiContext, principal: Principal, units: int, notes: int) -> None:
        limits = c.config.limits(principal.tenant_id)
        wait = c.limiter.take(principal.tenant_id, limits.rate_per_s, limits.burst, cost=min(notes, limits.burst))
        if wait:
            raise ApiError(429, "rate_limited", "too many requests", {"Retry-After": str(wait)})
        if limits.quota_units_per_month is not None:
            used = await c.run(c.meter.usage, principal.tenant_id)
            if used.units + units > limits.quota_units_per_month:
                raise ApiError(429, "quota_exceeded", "monthly quota reached",
                               {"Retry-After": str(seconds_to_next_period())})

    def parse_one(principal: Principal, item: CodeRequest, raw: str) -> Encounter:
        defaults: dict[str, Any] = {}
        for name in ("encounter_id", "date_of_service", "patient", "setting"):
            if getattr(item, name) is not None:
                defaults[name] = getattr(item, name)
        enc = parse(raw, item.format, **defaults)
        update: dict[str, Any] = {"tenant_id": principal.tenant_id}
        if item.setting is not None:
            update["setting"] = item.setting
        return enc.model_copy(update=update)

    async def finish(c: ApiContext, request: Request, principal: Principal, coded: list[tuple[Encounter, int]],
                     idem: str | None) -> Outcome:
        """Audit the notes read, then count their units once."""
        events = [
            AuditEvent(
                tenant_id=principal.tenant_id, actor=principal.actor, action=AuditAction.read,
                resource_type="Encounter", resource_id=enc.encounter_id, source="api", purpose="payment",
                detail={"request_id": request_id.get(), "stage": "code", "chars": str(chars),
                        "units": str(units_for(chars))},
            )
            for enc, chars in coded
        ]
        try:
            await c.run(c.audit.append_many, events)
        except Exception as exc:  # noqa: BLE001 - no audit, no result
            log.error("audit append failed", extra={"fields": {"type": type(exc).__name__}})
            raise ApiError(503, "audit_unavailable", "the access could not be audited; nothing was billed") from None
        key = idem or hashlib.sha256(request.url.path.encode() + b"\0" + await request.body()).hexdigest()
        limits = c.config.limits(principal.tenant_id)
        units = sum(units_for(chars) for _, chars in coded)
        outcome = await c.run(c.meter.record, principal.tenant_id, key, units, len(coded), limits.quota_units_per_month)
        if outcome is Outcome.over_quota:
            raise ApiError(429, "quota_exceeded", "monthly quota reached", {"Retry-After": str(seconds_to_next_period())})
        return outcome

    def idem_key(value: str | None) -> str | None:
        if value is not None and not (1 <= len(value) <= 255):
            raise ApiError(422, "invalid_request", "Idempotency-Key must have 1 to 255 characters")
        return value

    @app.post("/v1/code", dependencies=[Depends(key_header)], response_model=CodingResult, tags=["coding"],
              responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 413: {"model": ErrorBody},
                         422: {"model": ErrorBody}, 429: {"model": ErrorBody}})
    async def code(
        body: CodeRequest, request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ):
        """Code one note; the response is the ``medcode code --json`` document."""
        c, principal = ctx(), principal_of(request)
        check_tenant(principal, body.tenant_id, Action.code_submit)
        idem = idem_key(idempotency_key)
        raw = body.raw()
        if len(raw) > c.config.max_note_chars:
            raise ApiError(413, "payload_too_large", f"note over {c.config.max_note_chars} characters")
        await admit(c, principal, units_for(len(raw)), 1)
        try:
            enc = await c.run(parse_one, principal, body, raw)
        except MedcodeError as exc:
            raise ApiError(422, "unparseable", str(exc)) from None
        if not enc.notes:
            raise ApiError(422, "unparseable", "the input holds no note text to code")
        try:
            [result] = await c.service.code([enc])
        except MedcodeError as exc:
            raise ApiError(422, "uncodable", str(exc)) from None
        outcome = await finish(c, request, principal, [(enc, len(raw))], idem)
        return JSONResponse(result.model_dump(mode="json"), headers={"idempotent-replay": str(outcome is Outcome.duplicate).lower()})

    @app.post("/v1/code:batch", dependencies=[Depends(key_header)], response_model=BatchResponse, tags=["coding"],
              responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 413: {"model": ErrorBody},
                         422: {"model": ErrorBody}, 429: {"model": ErrorBody}})
    async def code_batch(
        body: BatchRequest, request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ):
        """Code up to ``max_batch_notes`` notes; a note that cannot be parsed gets its own 422 and is not billed."""
        c, principal = ctx(), principal_of(request)
        check_tenant(principal, body.tenant_id, Action.code_submit)
        for item in body.notes:
            check_tenant(principal, item.tenant_id, Action.code_submit)
        idem = idem_key(idempotency_key)
        if len(body.notes) > c.config.max_batch_notes:
            raise ApiError(413, "payload_too_large", f"more than {c.config.max_batch_notes} notes")
        raws = [n.raw() for n in body.notes]
        if any(len(r) > c.config.max_note_chars for r in raws):
            raise ApiError(413, "payload_too_large", f"a note is over {c.config.max_note_chars} characters")
        await admit(c, principal, sum(units_for(len(r)) for r in raws), len(raws))
        items: list[BatchItem] = []
        encs: list[tuple[int, Encounter, int]] = []
        for i, (n, raw) in enumerate(zip(body.notes, raws, strict=True)):
            try:
                enc = await c.run(parse_one, principal, n, raw)
                if not enc.notes:
                    raise ApiError(422, "unparseable", "the input holds no note text to code")
                encs.append((i, enc, len(raw)))
            except (MedcodeError, ApiError) as exc:
                items.append(BatchItem(index=i, status=422, error=str(getattr(exc, "detail", exc))))
        results = await c.service.code([e for _, e, _ in encs]) if encs else []
        for (i, _, _), res in zip(encs, results, strict=True):
            items.append(BatchItem(index=i, status=200, result=res))
        units = 0
        if encs:
            await finish(c, request, principal, [(e, n) for _, e, n in encs], idem)
            units = sum(units_for(n) for _, _, n in encs)
        items.sort(key=lambda it: it.index)
        return BatchResponse(results=items, units=units, notes_coded=len(encs))

    @app.get("/v1/usage", dependencies=[Depends(key_header)], response_model=UsageResponse, tags=["billing"],
             responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}})
    async def usage(request: Request, tenant_id: Annotated[str | None, Query()] = None):
        """The caller's metered units this month (UTC) and in total."""
        c, principal = ctx(), principal_of(request)
        tenant = tenant_id or principal.tenant_id
        check_tenant(principal, tenant, Action.usage_read)
        used = await c.run(c.meter.usage, tenant, c.config.limits(tenant).quota_units_per_month)
        return UsageResponse(**used.as_dict())

    @app.get("/healthz", tags=["ops"])
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz():
        c = getattr(app.state, "ctx", None)
        checks: dict[str, bool] = {"ingress": c is not None}
        if c is not None:
            try:
                checks |= await asyncio.wait_for(c.service.ready(), timeout=10)
            except Exception:  # noqa: BLE001
                checks["pipeline"] = False
            try:
                await c.run(c.keys.ensure_table)
                await c.run(c.meter.ensure_table)
                checks["dynamodb"] = True
            except Exception:  # noqa: BLE001
                checks["dynamodb"] = False
        ok = all(checks.values())
        body: dict = {"status": "ready" if ok else "not_ready", "checks": checks}
        if c is not None and hasattr(c.service, "stats"):
            try:  # the ranker's backend and @serve.batch sizes, for operators (no PHI)
                body["ranker"] = await asyncio.wait_for(c.service.stats(), timeout=10)
            except Exception:  # noqa: BLE001
                body["ranker"] = None
        return JSONResponse(body, status_code=200 if ok else 503)

    return app
