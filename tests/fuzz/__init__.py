"""The fuzz suite (issue 15): hostile input for ``hepdl``; every case ends in success
(where success is meaningful) or one clear ``error:`` line, never a traceback, a hang, a
silent wrong result or a write outside the run (docs/fuzzing.md).

Cases per family (534 in all; ``python -m tests.fuzz.report`` runs them and counts the
outcomes; about a minute on 2 cores):

- config: 305, validated by ``hepdl check`` without training (config_cases.py):
  14 shipped configs as they are, 147 values of the wrong type, 100 out of range or
  impossible on this machine, 19 unknown keys, 25 whole-file damages (malformed YAML,
  Python tags, duplicate keys, non-UTF-8, NUL bytes, empty, a list, aliases, an alias
  bomb, deep nesting, megabyte values);
- data: 61, one 1-epoch training each on a 200-row file (data_cases.py): Parquet 22,
  CSV 15, HDF5 13, ROOT 11 (truncation, random or zero bytes in pages and chunks,
  duplicate and jagged columns, NaN/inf, metadata bombs, a directory, an empty file);
- run_dir: 168 damaged copies of one run trained per session (run_dir_cases.py):
  ``hepdl evaluate`` 57, ``hepdl train --resume`` 56, ``hepdl compare`` 55 (each artifact
  missing, truncated, empty, of another architecture, of the wrong shape, a pickle
  payload, a symlink out of the run; checkpoints/ and evaluations/ as symlinks).

Cases that fail today are in known_failures.py (xfail, strict).
"""
