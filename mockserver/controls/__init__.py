"""What integrators steer at run time: faults, rate limits and the request journal, and their middleware.

>>> from mockserver.controls import ConnectionDropped, RateLimit  # doctest: +SKIP
"""

from __future__ import annotations

from mockserver.controls.faults import ConnectionDropped
from mockserver.controls.rate_limit import RateLimit

__all__ = ["ConnectionDropped", "RateLimit"]
