"""fmeval's record sampling, reproduced without pandas.

fmeval takes the first 100 000 rows (when there are more) and calls
`DataFrame.sample(n, random_state=1234)`. Without weights or replacement pandas draws with
`RandomState(1234).choice(rows, n, replace=False)`, which numpy defines as
`permutation(rows)[:n]`; numpy keeps the legacy RandomState stream stable, so this is exact.
"""

from __future__ import annotations

import numpy as np

SEED = 1234
MAX_ROWS_TO_SAMPLE_FROM = 100_000


def sample_positions(count: int, num_records: int | None) -> list[int]:
    """Positions (0-based, into `count` records) of the records fmeval would sample, in its order.

    `num_records=None` keeps every record in file order.
    """
    if num_records is None:
        return list(range(count))
    if isinstance(num_records, bool) or not isinstance(num_records, int) or num_records < 1:
        raise ValueError(f"num_records must be a positive integer or None, got {num_records!r}")
    pool = min(count, MAX_ROWS_TO_SAMPLE_FROM)
    # fmeval computes n against the full count; capping at the pool avoids its pandas error
    # ("cannot take a larger sample than population") when num_records > 100 000.
    n = min(num_records, count, pool)
    if n == 0:
        return []
    return np.random.RandomState(SEED).permutation(pool)[:n].tolist()
