"""Fixtures of the bpf(2) layer's tests: an fd-leak check around every test, a fake kernel,
and the real one (skipped with the reason when not root)."""

from __future__ import annotations

from tests.bpf_fixtures import fake, kernel, no_fd_leak

__all__ = ["fake", "kernel", "no_fd_leak"]  # the fixtures of this package
