"""The NumPy backend keeps freed host memory for the next step (glibc's malloc thresholds raised), so a
loop that allocates and frees the same arrays stops faulting in fresh pages; XGRAD_KEEP_FREED_MEMORY=0
leaves malloc as it was."""

import ctypes
import os
import subprocess
import sys

import pytest


def _glibc():
    try:
        ctypes.CDLL(None).gnu_get_libc_version  # noqa: B018
        return True
    except (OSError, AttributeError):
        return False


pytestmark = pytest.mark.skipif(not _glibc(), reason="malloc tuning applies to glibc only")

# 50 rounds of 2 MiB temporaries, as an eager step makes: page faults counted after a warm-up round
_LOOP = """
import resource, numpy as np, xgrad
x = xgrad.ones(2**18, dtype="float64")
def step():
    for _ in range(4):
        y = (x * 2.0 + 1.0).sum()
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    step()
from xgrad.backends.allocator import keep_freed_memory
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, keep_freed_memory())
"""


def _faults(env_value):
    env = dict(os.environ, XGRAD_BACKEND="numpy")
    env.pop("XGRAD_KEEP_FREED_MEMORY", None)
    if env_value is not None:
        env["XGRAD_KEEP_FREED_MEMORY"] = env_value
    out = subprocess.run([sys.executable, "-c", _LOOP], env=env, capture_output=True, text=True, check=True)
    faults, kept = out.stdout.split()
    return int(faults), kept == "True"


def test_repeated_steps_reuse_freed_memory_instead_of_faulting_in_new_pages():
    faults, kept = _faults(None)
    assert kept
    # 50 steps x 8 temporaries of 2 MiB (512 pages each) would be ~200,000 faults without reuse
    assert faults < 2000


def test_the_setting_can_be_turned_off():
    faults, kept = _faults("0")
    assert not kept
    assert faults > 50 * 4 * 512  # every 2 MiB temporary is a fresh mmap again
