"""The --dask ADDRESS shared by training and score-book."""

from __future__ import annotations

import pytest

from recsvc.cluster import ClusterAddressError, dask_client, parse_address


@pytest.mark.parametrize(
    ("text", "workers", "scheduler"),
    [
        ("local", 2, None),
        ("local:3", 3, None),
        (" local:1 ", 1, None),
        ("tcp://10.0.0.5:8786", None, "tcp://10.0.0.5:8786"),
        ("tls://scheduler.bank.internal:8786", None, "tls://scheduler.bank.internal:8786"),
    ],
)
def test_addresses_parse(text: str, workers: int | None, scheduler: str | None) -> None:
    address = parse_address(text)
    assert (address.workers, address.scheduler) == (workers, scheduler)
    assert address.local is (scheduler is None)


@pytest.mark.parametrize(
    "text", ["", "local:0", "local:x", "localhost", "10.0.0.5:8786", "http://x"]
)
def test_bad_addresses_are_named(text: str) -> None:
    with pytest.raises(ClusterAddressError, match="--dask"):
        parse_address(text)


def test_a_local_cluster_runs_work_in_its_own_worker_processes() -> None:
    import os

    with dask_client("local:1") as client:
        pid = client.submit(os.getpid, pure=False).result()  # type: ignore[attr-defined]
        workers = client.scheduler_info()["workers"]  # type: ignore[attr-defined]
    assert len(workers) == 1
    assert pid != os.getpid()
