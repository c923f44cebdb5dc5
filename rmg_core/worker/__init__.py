"""``rmg worker``: continuous evaluation, each trace graded exactly once across restarts.

`service.Worker` runs cycles; `cycle` holds one cycle's adapters; `state`
is the SQLite watermark and ledger; `ledger` decides what is due and what a
grading left behind.
"""
