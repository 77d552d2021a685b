"""reconad.data.lines.LineReader: text rows that arrive in arbitrary pieces, parsed with bad lines named."""

import numpy as np
import pytest

from reconad.data.lines import MAX_LINE, LineReader
from reconad.errors import InputError

CSV = b"time;b;a;label\n0;1.5;2;0\n1;-3e2;4.25;1\n\n2;5;6;0\n"


def test_a_csv_split_anywhere_gives_the_same_rows_and_times():
    for cut in range(1, len(CSV)):
        reader = LineReader(["a", "b"], 2, time_col="time")
        parts = [reader.feed(CSV[:cut]), reader.feed(CSV[cut:]), reader.close()]
        rows = np.concatenate([p.rows for p in parts])
        assert rows.tolist() == [[2, 1.5], [4.25, -300], [6, 5]]  # the model's column order, ; sniffed
        assert sum((p.times for p in parts), []) == ["0", "1", "2"]
        assert reader.line_no == 5 and reader.n_bad == 0


def test_a_last_line_without_a_line_break_is_read_at_the_end():
    reader = LineReader(None, 2)
    assert reader.feed(b"a,b\n1,2\n3,4").rows.tolist() == [[1, 2]]
    assert reader.close().rows.tolist() == [[3, 4]]


def test_json_objects_and_arrays_with_bad_lines_named():
    reader = LineReader(["a", "b"], 2, time_col="t")
    parsed = reader.feed(b'{"t": 5, "b": 1, "a": 2, "x": "ignored"}\n[3, 4]\n{"a": 1}\n[1, "2"]\nnot json\n'
                         b'{"t": 6, "a": true, "b": 1}\n[1, 2, 3]\n{"t": 7, "a": 1e400, "b": 0}\n')
    assert parsed.rows.tolist() == [[2, 1]] and parsed.times == [5]
    assert [number for number, _ in parsed.bad] == [2, 3, 4, 5, 6, 7, 8]
    problems = dict(parsed.bad)
    assert "an array carries no time" in problems[2] and "lacks the keys ['b', 't']" in problems[3]
    assert "not JSON" in problems[5] and "a is 'True', not a number" in problems[6]
    assert "not a finite number" in problems[8]
    untimed = LineReader(["a", "b"], 2).feed(b'[3, 4]\n[1, "2"]\n[1, 2, 3]\n{"b": 1, "a": 2}\n')
    assert untimed.rows.tolist() == [[3, 4], [2, 1]]
    assert "string" in dict(untimed.bad)[2] and "holds 3 values" in dict(untimed.bad)[3]


@pytest.mark.parametrize("times", [["1", "2", "2", "1.5", "10"], ["2024-01-01T00:00", "2024-01-01 00:01:00",
                                                                   "2024-01-01T00:01", "2023-12-31", "2024-02-01"]])
def test_rows_whose_time_is_not_after_the_previous_one_are_skipped_as_repeated(times):
    # a repeated delivery (QoS 1 after a broker restart) or a late row: batch scoring refuses unsorted times too
    text = "t,a\n" + "".join(f"{t},{i}\n" for i, t in enumerate(times))
    for cut in (len(text), 12):  # one chunk (the vectorised parse), or split mid-way
        reader = LineReader(["a"], 1, time_col="t")
        parts = [reader.feed(text[:cut].encode()), reader.feed(text[cut:].encode())]
        assert np.concatenate([p.rows for p in parts]).ravel().tolist() == [0, 1, 4]
        assert [n for p in parts for n, _ in p.repeated] == [4, 5] and reader.n_repeated == 2
        assert "is not after the previous row's" in parts[0].repeated[0][1] if parts[0].repeated else True
    bad = LineReader(["a"], 1, time_col="t").feed(b"t,a\n1,0\nnoon,1\n2,2\n")
    assert bad.rows.ravel().tolist() == [0, 2] and bad.bad == [(3, "its time 'noon' is not a number")]


def test_stop_drops_the_bad_line_and_everything_after_it():
    reader = LineReader(None, 2, on_bad="stop")
    parsed = reader.feed(b"a,b\n1,2\n3,x\n5,6\n")
    assert parsed.rows.tolist() == [[1, 2]] and parsed.bad == [(3, "column 2 is 'x', not a number")]
    assert parsed.stopped and reader.feed(b"7,8\n").rows.shape == (0, 2)


def test_a_line_that_never_ends_is_refused_instead_of_growing_memory():
    reader = LineReader(None, 1)
    reader.feed(b"a\n1\n")
    parsed = reader.feed(b"9" * (MAX_LINE + 10))
    assert parsed.bad == [(3, f"the line is longer than {MAX_LINE:,} bytes")]
    assert reader.feed(b"\n2\n").rows.tolist() == [[2]]


def test_a_header_without_the_model_columns_is_an_input_error():
    with pytest.raises(InputError, match=r"lacks the columns \['c'\]"):
        LineReader(["a", "c"], 2).feed(b"a,b\n1,2\n")
    with pytest.raises(InputError, match="no time column 'when'"):
        LineReader(["a"], 1, time_col="when").feed(b"a,b\n1,2\n")
    with pytest.raises(InputError, match="3 feature columns but the model takes 2"):
        LineReader(None, 2).feed(b"a,b,c\n1,2,3\n")
