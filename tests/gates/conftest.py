"""Every gate test doubles as a reason-code test: a non-pass result the gates build must carry a reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures.reason_audit import reasonless_results


@pytest.fixture(autouse=True)
def _non_pass_results_carry_a_reason() -> Iterator[None]:
    with reasonless_results() as missing:
        yield
    assert not missing, "non-pass results without a reason (checks.result.Reason): " + "; ".join(missing[:5])
