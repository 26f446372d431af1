"""BLAS on one thread while labkit works on its many small matrices.

labkit's fits, Kramers-Kronig tests and DRTs solve thousands of small systems (tens to a
few hundred rows). A multi-threaded BLAS (OpenBLAS starts one thread per core) spends
more on waking and synchronising its threads than on such a system: on a busy 2-core
machine a 158 × 58 QR took 28 ms with two threads and 1.9 ms with one. :func:`one_blas_thread`
limits BLAS to one thread for the duration of a labkit computation (threadpoolctl) and
restores the caller's setting afterwards; nested uses cost nothing.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

_state = threading.local()
P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with BLAS limited to one thread (the outermost use sets it)."""
    if getattr(_state, "active", False):
        yield
        return
    from threadpoolctl import threadpool_limits

    _state.active = True
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        _state.active = False


def on_one_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator: ``function`` runs inside :func:`one_blas_thread`."""
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_blas_thread():
            return function(*args, **kwargs)
    return wrapper
