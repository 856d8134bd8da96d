"""``benchmarks.real_numbers --compare``: numbers won and lost since an earlier run, per set and half."""

from __future__ import annotations

import json

import pytest

from benchmarks.real_numbers import Result, compare_results, main, print_comparison


def result(set_name: str, file: str, half: str, label: str, read: str) -> Result:
    return Result(set_name, file, label, "source", half, read, "", 0.01)


OLD = [
    {"set_name": "cheques", "file": "a.png", "label": "12", "read": "12"},
    {"set_name": "cheques", "file": "b.png", "label": "34", "read": "84"},
    {"set_name": "ledger", "file": "c.jpg", "label": "5", "read": ""},
    {"set_name": "ledger", "file": "d.jpg", "label": "6", "read": "6"},
    {"set_name": "ledger", "file": "gone.jpg", "label": "7", "read": "7"},
]
NEW = [
    result("cheques", "a.png", "tune", "12", "17"),   # lost
    result("cheques", "b.png", "tune", "34", "34"),   # won
    result("ledger", "c.jpg", "check", "5", "5"),     # won
    result("ledger", "d.jpg", "check", "6", "6"),     # unchanged
    result("ledger", "new.jpg", "check", "8", "3"),   # not in the old run: left out
]


def test_won_and_lost_are_counted_per_set_and_half():
    assert compare_results(OLD, NEW) == {
        ("cheques", "tune"): {"won": ["cheques/b.png"], "lost": ["cheques/a.png"]},
        ("ledger", "check"): {"won": ["ledger/c.jpg"], "lost": []},
    }


def test_the_comparison_prints_net_and_examples(capsys, tmp_path):
    print_comparison(compare_results(OLD, NEW), tmp_path / "old.json")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"Changed since {tmp_path / 'old.json'}")
    assert lines[2].split()[:5] == ["cheques", "tune", "1", "1", "+0"]
    assert "+cheques/b.png" in lines[2] and "-cheques/a.png" in lines[2]
    assert lines[3].split()[:7] == ["ledger", "check", "1", "0", "+1", "1.000", "+ledger/c.jpg"]
    # then every set pooled, per half: tune 1 won 1 lost, check 1 won
    assert lines[4].split() == ["all", "sets", "tune", "1", "1", "+0", "1.000"]
    assert lines[5].split() == ["all", "sets", "check", "1", "0", "+1", "1.000"]


def test_mcnemar_exact_p_is_the_two_sided_sign_test_of_won_against_lost():
    from benchmarks.real_numbers import mcnemar_exact_p

    assert mcnemar_exact_p(0, 0) == 1.0 and mcnemar_exact_p(3, 3) == 1.0
    assert mcnemar_exact_p(10, 0) == pytest.approx(2 / 2**10)  # only the two all-one-way splits
    # 5 won, 1 lost: P(X <= 1 | n=6, 1/2) = 7/64, doubled
    assert mcnemar_exact_p(5, 1) == pytest.approx(14 / 64) == mcnemar_exact_p(1, 5)
    # churn: a net of -1 out of 37 changes is nothing; 33 won against 8 is not churn
    assert mcnemar_exact_p(18, 19) == 1.0
    assert mcnemar_exact_p(33, 8) < 0.001
    with pytest.raises(ValueError):
        mcnemar_exact_p(-1, 2)


def test_a_file_that_is_no_earlier_run_is_refused_before_reading(tmp_path, capsys):
    not_a_run = tmp_path / "old.json"
    not_a_run.write_text(json.dumps({"results": [{"file": "a.png"}]}))
    assert main(["--compare", str(not_a_run), "--data", str(tmp_path / "absent")]) == 2
    assert "--compare needs an earlier run's --json" in capsys.readouterr().err
    assert main(["--compare", str(tmp_path / "missing.json"), "--data", str(tmp_path / "absent")]) == 2


def test_numbers_read_as_nothing_are_counted_by_reason():
    from benchmarks.real_numbers import format_failure_kinds, read_number, tally

    from core.errors import NoDigitFoundError

    class Refusing:
        def __init__(self, error):
            self.error = error

        def read_photo(self, data):
            raise self.error

    assert read_number(Refusing(NoDigitFoundError(reason="small")), b"") == ("", "NoDigitFoundError (small)")
    assert read_number(Refusing(NoDigitFoundError()), b"") == ("", "NoDigitFoundError")
    notes = ["NoDigitFoundError (small)", "NoDigitFoundError (texture)", "NoDigitFoundError (small)",
             "NoDigitFoundError"]
    results = [Result("ledger", f"{i}.jpg", "7", "s", "tune", "", note, 0.01) for i, note in enumerate(notes)]
    counts = tally(results + [result("ledger", "x.jpg", "tune", "7", "7")])
    assert counts["nothing_read"] == 4 and counts["nothing_read_reasons"] == {"small": 2, "texture": 1}
    assert format_failure_kinds("ledger ", counts, 3) == (
        "  ledger   4 misses: lost digits 4 (nothing read 4: small 2, texture 1), extra digits 0, wrong digits 0")
