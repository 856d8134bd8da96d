"""benchmarks.splits: stable halves by source, balanced by items for small sets."""

from benchmarks.splits import (
    assign_halves,
    cheque_source,
    half_of,
    is_plain_number,
    ledger_source,
    repository_of,
    scan_source,
)


def test_half_of_is_a_stable_hash_of_the_source():
    # sha256("a") starts with byte 0xca (even), sha256("x") with 0x2d (odd)
    assert half_of("a") == "tune"
    assert half_of("x") == "check"
    assert half_of("a") == half_of("a")


def test_many_sources_are_split_by_hash_alone():
    sources = [f"page{number}" for number in range(200)]
    halves = assign_halves(sources)
    assert halves == {source: half_of(source) for source in sources}
    assert 70 <= sum(half == "tune" for half in halves.values()) <= 130


def test_few_sources_are_balanced_by_items_and_placed_ones_keep_their_half():
    sources = ["big"] * 8 + ["one"] * 3 + ["two"] * 3 + ["three"] + ["four"]
    halves = assign_halves(sources, {"one": "tune"})
    assert halves["one"] == "tune"
    tune = sum(halves[source] == "tune" for source in sources)
    assert tune == 8
    assert assign_halves(["p", "q"]) in ({"p": "tune", "q": "check"}, {"p": "check", "q": "tune"})


def test_sources_of_each_set():
    assert repository_of("harkib/digit-recognition-CNN:images/web.jpg@fcb1") == "harkib/digit-recognition-CNN"
    assert scan_source("3_512.png") == scan_source("0_500.png") == "scans rows 20-23"
    assert scan_source("3_399.png") == "scans rows 12-15"
    assert cheque_source("train2017/a_car_000720_png.rf.001e4.jpg") == "a_car_000720"
    assert cheque_source("", "0001.jpg") == "0001.jpg"
    assert ledger_source("died_K2709_0099a-DM_row_id_12.Jpg") == "died_K2709_0099a-DM"
    assert is_plain_number("042") and not is_plain_number("4a") and not is_plain_number("(23k)")
