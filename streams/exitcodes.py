"""Exit statuses of ``churn-detector`` (documented in ``churn-detector --help``).

0 and the click defaults (1: an error, such as an invalid configuration; 2: a usage error,
such as a bad option or a refused action) plus one status per "finished, but" outcome, so a
script can tell them apart.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    #: ``score`` / ``replay``: every valid line was processed, but some lines were rejected
    #: (reported on stderr and with ``--rejects FILE``).
    LINES_REJECTED = 3
    #: ``bench``: the run completed, but at least one target was not met.
    TARGETS_MISSED = 4


EPILOG = """\b
Exit status:
  0  success
  1  error (e.g. invalid configuration, a broker that cannot be reached)
  2  usage error, or an action refused without its explicit flag
  3  score/replay: finished, but some input lines were rejected
  4  bench: finished, but a target was missed
"""
