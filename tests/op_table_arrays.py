"""Op-table cases of one op family (see `op_table.py` for `Case` and the value/shape helpers)."""

CASES: list = []
