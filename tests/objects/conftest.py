"""Fixtures of the objects layer's tests.

Every test runs under an fd-leak check (a map, program or collection left open fails the
test). ``backend`` runs a test twice: against :class:`~pybpf.sys.fake.FakeBackend` (always)
and against the kernel (skipped with the reason when not root).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pybpf.sys import use_backend
from pybpf.sys.fake import FakeBackend
from tests.bpf_fixtures import fake, kernel, no_fd_leak, require_root

__all__ = ["backend", "fake", "kernel", "no_fd_leak"]  # the fixtures of this package


@pytest.fixture(params=["fake", "kernel"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test against the fake kernel and against the real one (root only)."""
    if request.param == "kernel":
        require_root()
        yield "kernel"
        return
    with use_backend(FakeBackend()):
        yield "fake"
