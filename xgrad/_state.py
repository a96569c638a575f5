"""Process-wide engine state, kept in one small module the hot paths read directly."""

import itertools

grad_enabled = True  # flipped by no_grad / enable_grad

# Every recorded op output gets the next number. Inputs are always made before outputs, so
# descending numbers are a topological order: backward needs no separate graph sort.
next_seq = itertools.count().__next__
