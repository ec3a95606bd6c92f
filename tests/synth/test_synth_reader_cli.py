"""Bad bank directories name file, column and row; the CLI exits 2 without a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from training.cli import SUBCOMMANDS, main
from training.synth.reader import BankFormatError, read_bank


@pytest.fixture
def bank_copy(bank_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(bank_dir, out)
    return out


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _set_cell(path: Path, line: int, column: int, value: str) -> list[str]:
    """Set one cell of a CSV file (line 0 is the header); the line's cells as they were."""
    lines = path.read_text(encoding="utf-8").split("\n")
    cells = lines[line].split(",")
    before = list(cells)
    cells[column] = value
    lines[line] = ",".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")
    return before


def test_synth_reader_names_missing_file(bank_copy: Path) -> None:
    (bank_copy / "pitches.csv").unlink()
    with pytest.raises(BankFormatError, match=r"pitches\.csv: missing"):
        read_bank(bank_copy)


def test_synth_reader_names_missing_column(bank_copy: Path) -> None:
    _edit(bank_copy / "holdings.csv", "maturity_date", "maturity")
    with pytest.raises(BankFormatError, match=r"holdings\.csv: column 'maturity_date' is missing"):
        read_bank(bank_copy)


def test_synth_reader_names_bad_value_and_row(bank_copy: Path) -> None:
    _set_cell(bank_copy / "customers.csv", 3, 10, "lots")  # aum of data row 3
    with pytest.raises(BankFormatError, match=r"customers\.csv: column 'aum', row 3: .*'lots'"):
        read_bank(bank_copy)


def test_synth_reader_error_carries_no_personal_data(bank_copy: Path) -> None:
    cells = _set_cell(bank_copy / "customers.csv", 1, 4, "1990-02-31")  # birth_date
    name, id_number, phone = cells[1:4]
    with pytest.raises(
        BankFormatError, match=r"column 'birth_date', row 1: expected a YYYY"
    ) as err:
        read_bank(bank_copy)
    assert not {name, id_number, phone} & set(str(err.value).replace("'", " ").split())


def test_synth_reader_rejects_bad_risk_level_and_date(bank_copy: Path) -> None:
    _edit(bank_copy / "customers.csv", ",C3,", ",C9,")
    with pytest.raises(BankFormatError, match=r"column 'risk_level', row \d+: expected C1\.\.C5"):
        read_bank(bank_copy)


def test_synth_reader_rejects_foreign_manifest(bank_copy: Path) -> None:
    manifest = json.loads((bank_copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 2
    (bank_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BankFormatError, match="format_version"):
        read_bank(bank_copy)


def test_synth_cli_writes_a_bank(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["synth", "--customers", "120", "--seed", "2", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    assert "customers.csv 120" in capsys.readouterr().out
    assert read_bank(tmp_path).manifest["customers"] == 120


@pytest.mark.parametrize("argv", [
    ["synth", "--customers", "0", "--seed", "1", "--out", "x"],
    ["synth", "--customers", "10", "--seed", "-1", "--out", "x"],
    ["synth", "--customers", "10", "--seed", "1", "--out", "x", "--as-of", "2026-13-01"],
    ["nonsense"],
])  # fmt: skip
def test_synth_cli_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "error" in capsys.readouterr().err


def test_synth_cli_runtime_error_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    code = main(["synth", "--customers", "10", "--seed", "1", "--out", str(blocker), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "not a directory" in err and "Traceback" not in err


def test_synth_cli_table_has_one_entry_per_subcommand() -> None:
    assert "synth" in SUBCOMMANDS
    assert all(callable(c.run) and callable(c.add_arguments) for c in SUBCOMMANDS.values())
