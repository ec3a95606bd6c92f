"""Loading tiny files: labels, snapshot choice, chunking, and errors naming file/column/row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.datasets import DatasetError, DatasetSpec, load_dataset


def test_default_uses_last_two_snapshots_and_labels_additions(
    snapshot_spec: DatasetSpec, snapshot_file: Path
) -> None:
    frame = load_dataset(snapshot_spec, snapshot_file)
    assert frame.snapshot == "2016-02-28"
    # customer 3 is not in March: dropped; customer 4 is new in March: not an as-of customer
    assert frame.ids.tolist() == [1, 2]
    assert frame.products == ["a", "b", "c"]
    assert frame.held.tolist() == [[1, 0, 0], [0, 1, 0]]
    assert frame.labels.tolist() == [[0, 1, 1], [0, 0, 0]]
    assert frame.labels.dtype == np.uint8 and frame.held.dtype == np.uint8
    assert frame.features["age"].dtype == np.float32
    assert frame.features["seg"].tolist() == ["X", "Y"]


def test_as_of_picks_the_month_and_its_successor(
    snapshot_spec: DatasetSpec, snapshot_file: Path
) -> None:
    frame = load_dataset(snapshot_spec, snapshot_file, as_of="2016-01-28")
    assert frame.snapshot == "2016-01-28"
    assert frame.labels.tolist() == [[0, 0, 0], [0, 1, 0]]


def test_unlabelled_load_takes_every_customer_of_the_last_snapshot(
    snapshot_spec: DatasetSpec, snapshot_file: Path
) -> None:
    frame = load_dataset(snapshot_spec, snapshot_file, labelled=False)
    assert frame.snapshot == "2016-03-28"
    assert frame.ids.tolist() == [1, 2, 4]
    assert frame.labels.sum() == 0


def test_missing_as_of_is_an_error_naming_the_snapshot(
    snapshot_spec: DatasetSpec, snapshot_file: Path
) -> None:
    with pytest.raises(DatasetError, match="2015-12-28"):
        load_dataset(snapshot_spec, snapshot_file, as_of="2015-12-28")


def test_gzip_file_reads_the_same(
    snapshot_spec: DatasetSpec, snapshot_csv: str, tmp_path: Path
) -> None:
    import gzip

    path = tmp_path / "snap.csv.gz"
    path.write_bytes(gzip.compress(snapshot_csv.encode()))
    assert load_dataset(snapshot_spec, path).labels.tolist() == [[0, 1, 1], [0, 0, 0]]


def test_text_in_numeric_column_names_file_column_and_row(
    snapshot_spec: DatasetSpec, snapshot_csv: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(snapshot_csv.replace("2016-02-28,3,50", "2016-02-28,3,fifty"), encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_dataset(snapshot_spec, path)
    message = str(err.value)
    assert "bad.csv" in message and "'age'" in message and "row 5" in message
    assert "fifty" in message


def test_missing_column_names_it(
    snapshot_spec: DatasetSpec, snapshot_csv: str, tmp_path: Path
) -> None:
    path = tmp_path / "nocol.csv"
    path.write_text(snapshot_csv.replace(",seg,", ",segment,"), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"nocol\.csv.*'seg'"):
        load_dataset(snapshot_spec, path)


@pytest.mark.parametrize("content", ["", "month,cid,age,seg,h_a,h_b,h_c\n"])
def test_empty_file_is_an_error_naming_the_file(
    snapshot_spec: DatasetSpec, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=r"empty\.csv"):
        load_dataset(snapshot_spec, path)


def test_table_without_ids_numbers_rows_and_maps_missing_codes(
    table_spec: DatasetSpec, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("1.5;a;999;no\n2;b;3;yes\n;;4;no\n", encoding="utf-8")
    frame = load_dataset(table_spec, path)
    assert frame.ids.tolist() == [1, 2, 3]
    assert frame.labels[:, 0].tolist() == [0, 1, 0]
    assert np.isnan(frame.features["p"].iloc[0]) and frame.features["p"].iloc[1] == 3
    assert np.isnan(frame.features["x"].iloc[2])
    assert frame.features["c"].isna().tolist() == [False, False, True]


def test_table_bad_number_names_row_in_headerless_file(
    table_spec: DatasetSpec, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("1;a;1;no\n2;b;x3;yes\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"t\.csv: column 'p' row 2"):
        load_dataset(table_spec, path)


def test_missing_file_names_it(table_spec: DatasetSpec, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nothere\.csv"):
        load_dataset(table_spec, tmp_path / "nothere.csv")
