from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.parsing import MAX_ID, MAX_IDS, MaxUploadSize, parse_id, parse_ids, parse_page, text_problem


@pytest.mark.parametrize("value", ["1", "42", str(MAX_ID)])
def test_it_reads_ascii_ids_within_bigint(value):
    assert parse_id(value) == int(value)


@pytest.mark.parametrize(
    "value",
    [
        None, "", "0", "-1", " 7", "7 ", "1_000", "1e3", "+5", "٣", "\uff11\uff12", "²", "1\x00",
        str(MAX_ID + 1), "9" * 20, "9" * 5000, ["1"], 5,
    ],
)  # fmt: skip
def test_it_refuses_anything_but_ascii_digits_in_range_without_raising(value):
    assert parse_id(value) is None


def test_it_keeps_the_valid_ids_of_a_list_once_each_and_at_most_a_bounded_number():
    assert parse_ids(["3", "x", "٣", "3", "9" * 30, "1"]) == [3, 1]
    assert len(parse_ids(str(n) for n in range(1, MAX_IDS * 3))) == MAX_IDS


@pytest.mark.parametrize(
    ("value", "page"), [("3", 3), ("", 1), ("0", 1), ("٣", 1), ("9" * 5000, 1), (None, 1)]
)
def test_a_page_that_is_not_a_plain_number_means_the_first(value, page):
    assert parse_page(value) == page


def test_it_names_what_is_wrong_with_text_it_cannot_store():
    assert "NUL" in text_problem("a\x00b")
    assert "lone surrogate" in text_problem("a\ud800b")  # what "\\ud800" in JSON decodes to
    assert "at most 5" in text_problem("abcdef", max_length=5)
    assert text_problem("fine", max_length=5) is None


def test_an_upload_over_the_limit_is_a_form_error():
    check = MaxUploadSize(2 * 1024 * 1024)
    check(SimpleUploadedFile("ok.csv", b"x" * 1024))
    with pytest.raises(ValidationError, match="at most 2 MB"):
        check(SimpleUploadedFile("big.csv", b"x" * (2 * 1024 * 1024 + 1)))
