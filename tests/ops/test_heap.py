"""Start-up objects are frozen out of the collector's reach (shorter pauses while serving)."""

from __future__ import annotations

import gc

from patchbay.ops.heap import freeze_startup_heap


def test_freeze_moves_live_objects_to_the_permanent_generation() -> None:
    survivor = [object() for _ in range(100)]
    try:
        frozen = freeze_startup_heap()
        assert frozen == gc.get_freeze_count() >= len(survivor)
        assert all(len(gc.get_objects(generation)) < frozen for generation in range(3))
    finally:
        gc.unfreeze()  # the rest of the suite runs with an ordinary collector
    assert gc.get_freeze_count() == 0
