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

# Set once a complex tensor may need a gradient (made by xgrad.tensor/as_tensor, marked requires_grad_, or
# recorded as an op's result): from then on ops without complex rules check their inputs, not only their
# result (a real result of complex inputs, a norm say, would otherwise get a wrong gradient).
complex_seen = False
