"""Fixtures shared by every test package. Keep it small: package fixtures live beside their tests."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# pytest puts tests/ first on sys.path, where tests/audit, tests/rules... would shadow the real
# packages as empty namespace packages; the checkout goes in front of them.
# (`pythonpath = ["."]` under [tool.pytest.ini_options] would do the same.)
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))


def _services_module():
    # scripts/ is not a package; load the same code `make` runs
    spec = importlib.util.spec_from_file_location("_medcode_services", ROOT / "scripts" / "services.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def services():
    """The local AWS stand-ins (DynamoDB Local, moto server), started unless already listening.

    Yields the endpoints by name. Stops, at the end of the session, only what it started itself.
    """
    svc = _services_module()
    if shutil.which("java") is None and not all(s.listening() for s in svc.services()):
        pytest.skip("DynamoDB Local needs Java 17+ on PATH (`java` not found), and it is not running")
    try:
        started = svc.up()
    except svc.ServiceError as exc:
        pytest.fail(f"local stand-ins did not start: {exc}")
    yield {s.name: f"http://{s.host}:{s.port}" for s in svc.services()}
    if started:
        svc.down(started)
