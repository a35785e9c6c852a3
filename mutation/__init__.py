"""How much of the reference server's behaviour the conformance suite pins down.

mutmut changes the server's code one small edit at a time (a comparison flipped, a
condition dropped, a value replaced) and runs the suite against each such mutant
(`suite_tests.py`). A mutant the suite does not notice points at a rule no scenario
isolates, or a field no scenario reads. `python -m mutation` runs mutmut, then writes
the survivors with their diffs (`report.py`), leaving aside the mutants reviewed as
equivalent (`equivalent.yaml`): edits no client could ever observe.
"""
