"""A stand-in for a CUDA graph on the CPU, strict where a real graph would silently differ.

``capture`` takes the body ``xgrad/graphs.py`` generates, as ``Backend.capture_graph`` does, and
records nothing; each launch runs the body again and then does what a real graph would have done:
  * it reads the arrays it recorded: the launch fails (AssertionError) unless ``S`` and ``K`` still
    hold the very arrays they held at the capture (a real graph would read stale memory);
  * it writes the arrays it recorded: the results land in the arrays the first launch made, which go
    back into ``R`` (a real graph overwrites the memory it allocated while recording).
So a compiled step that passes here reads and writes only what a graph would, and gets the numbers a
graph would give, on NumPy or any backend whose arrays take ``a[...] = b``.
"""

import weakref


class EmulatedGraphs:
    def __init__(self):
        self.captures = 0
        self.launches = 0

    def __call__(self, body, device):
        ns = body.__globals__
        S, K, R = ns["S"], ns["K"], ns["R"]
        frozen_S, frozen_K = list(map(_ref, S)), list(map(_ref, K))
        recorded = []
        self.captures += 1

        def launch():
            assert len(S) == len(frozen_S) and all(r() is a for a, r in zip(S, frozen_S)), "S changed"
            assert len(K) == len(frozen_K) and all(r() is a for a, r in zip(K, frozen_K)), \
                "a loaded tensor holds another array than the one recorded"
            body(None)
            if not recorded:
                recorded.extend(map(_ref, R))
            else:
                for k, ref in enumerate(recorded):
                    a = ref()
                    if a is not None and hasattr(a, "__setitem__") and a is not R[k]:
                        a[...] = R[k]
                        R[k] = a
                    del a
            self.launches += 1

        return launch


def _ref(a):
    # (weak: a graph holds memory, not the Python objects whose references graphs.py counts)
    try:
        return weakref.ref(a)
    except TypeError:  # NumPy's scalars (0-d results on NumPy): immutable, made anew at each run
        return lambda: a
