"""service.jobs.ids: ids that sort by creation, and the list cursor built on them."""

from __future__ import annotations

from service.jobs.ids import decode_cursor, is_job_id, new_job_id


def test_ids_sort_by_creation_and_cursors_round_trip() -> None:
    ids = [new_job_id() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert all(is_job_id(i) for i in ids)
    assert decode_cursor(ids[3]) == ids[3]
    assert decode_cursor("not-a-cursor") is None
    assert decode_cursor("x" * 26) is None
