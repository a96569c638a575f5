"""Engine state the hot paths read directly: grad mode (per thread), the op sequence counter, and
whether any thread has a per-op mode (autocast, anomaly detection) on."""

import itertools
import threading
from typing import Any


class _Mode(threading.local):
    """Per-thread switches: each thread starts with grad mode on, autocast and anomaly detection off."""

    grad_enabled = True  # set by no_grad / enable_grad and, inside backward, by create_graph
    anomaly: Any = None  # detect_anomaly's settings (xgrad/anomaly.py) while it is on in this thread
    autocast: Any = None  # autocast's settings (xgrad/amp.py) while it is on in this thread

    def __init__(self) -> None:
        self.saved: list[bool] = []  # what each open no_grad / enable_grad found on entry, innermost last


mode = _Mode()

# Every recorded op output gets the next number. Inputs are always made before outputs, so
# descending numbers are a topological order: backward needs no separate graph sort.
next_seq = itertools.count().__next__

engaged = 0
"""How many autocast / detect_anomaly contexts are open in all threads: an op call tests this integer
and, only when it is not zero, looks at its own thread's ``mode.autocast`` and ``mode.anomaly``."""

_lock = threading.Lock()


def engage(delta: int) -> None:
    """Count an autocast / detect_anomaly context opening (+1) or closing (-1)."""
    global engaged
    with _lock:
        engaged += delta


# Set once a complex tensor may need a gradient (made by xgrad.tensor/as_tensor, marked requires_grad_, or
# recorded as an op's result): from then on ops without complex rules check their inputs, not only their
# result (a real result of complex inputs, a norm say, would otherwise get a wrong gradient).
complex_seen = False
