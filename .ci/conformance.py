"""CI: the array API conformance suite (vendored in third_party/array-api-tests) against xgrad, quickly, so conformance
cannot regress: every test must pass except those listed in .ci/conformance_known_failures.txt (each
with its cause; a line ending in "*" is a prefix). A listed test that now passes is reported, so the
list can shrink.

    python .ci/conformance.py                  # MAX_EXAMPLES=1 by default
    MAX_EXAMPLES=5 python .ci/conformance.py   # the README's measurement
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUITE = pathlib.Path(os.environ.get("ARRAY_API_TESTS", ROOT / "third_party" / "array-api-tests"))
KNOWN = ROOT / ".ci" / "conformance_known_failures.txt"


def main() -> int:
    if not (SUITE / "run").exists():
        print(f"conformance: the suite is not at {SUITE}; set ARRAY_API_TESTS to its folder", file=sys.stderr)
        return 2
    known = {line.split("#")[0].strip() for line in KNOWN.read_text().splitlines()} - {""}
    with tempfile.TemporaryDirectory() as tmp:
        report = pathlib.Path(tmp) / "report.json"
        env = dict(os.environ, PYTHONPATH=str(ROOT), MAX_EXAMPLES=os.environ.get("MAX_EXAMPLES", "1"),
                   PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        subprocess.run([str(SUITE / "run"), "xgrad", "-p", "no:warnings", "--json-report",
                        f"--json-report-file={report}"], env=env, stdout=subprocess.DEVNULL, check=False)
        tests = json.loads(report.read_text())["tests"]
    failed = {t["nodeid"] for t in tests if t["outcome"] in ("failed", "error")}
    # a listed line ending in "*" stands for every test whose id starts with the rest (special cases
    # whose draws differ from run to run)
    prefixes = tuple(k[:-1] for k in known if k.endswith("*"))
    known = {k for k in known if not k.endswith("*")} | {n for n in failed if prefixes and n.startswith(prefixes)}
    passed = sum(t["outcome"] == "passed" for t in tests)
    ran = sum(t["outcome"] in ("passed", "failed", "error") for t in tests)
    print(f"conformance: {passed} of {ran} passed ({100 * passed / max(ran, 1):.1f}%), "
          f"{len(tests) - ran} skipped")
    fixed = sorted(known - failed)
    if fixed:
        print(f"conformance: {len(fixed)} listed failures now pass; remove them from {KNOWN.name}:")
        print("\n".join(f"  {n}" for n in fixed))
    new = sorted(failed - known)
    if new:
        print(f"conformance: {len(new)} tests fail that did not before:", file=sys.stderr)
        print("\n".join(f"  {n}" for n in new), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
