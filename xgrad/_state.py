"""Engine state the hot paths read directly: grad mode (per thread) and the op sequence counter."""

import itertools
import threading


class _Mode(threading.local):
    """Per-thread switches: each thread starts with grad mode on."""

    grad_enabled = True  # set by no_grad / enable_grad and, inside backward, by create_graph

    def __init__(self) -> None:
        self.saved: list[bool] = []  # what each open no_grad / enable_grad found on entry, innermost last


mode = _Mode()

# Every recorded op output gets the next number. Inputs are always made before outputs, so
# descending numbers are a topological order: backward needs no separate graph sort.
next_seq = itertools.count().__next__
