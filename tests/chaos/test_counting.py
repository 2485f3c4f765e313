"""The chaos run's counters move when something is lost or duplicated (tests/support/chaos/counting.py)."""

from __future__ import annotations

from tests.support.chaos import counting


def test_inbound_counts_a_planted_loss_and_a_planted_duplicate():
    expected = [(1, 500, 1), (1, 500, 2), (2, -(10**12) - 9, 1)]
    assert counting.inbound(expected=expected, stored=expected) == counting.Inbound(lost=0, duplicated=0)

    stored = [(1, 500, 1), (1, 500, 1), (2, -(10**12) - 9, 1)]  # (1, 500, 2) lost, (1, 500, 1) twice
    found = counting.inbound(expected=expected, stored=stored)
    assert (found.lost, found.duplicated) == (1, 1)
    assert "lost (1, 500, 2)" in found.examples


def test_a_message_stored_under_another_account_or_chat_is_no_match():
    expected = [(1, 500, 1)]
    assert counting.inbound(expected=expected, stored=[(2, 500, 1)]).lost == 1
    assert counting.inbound(expected=expected, stored=[(1, 501, 1)]).lost == 1


def test_outbound_counts_each_marker_sent_more_than_once():
    texts = ["Chaos offer for cm1", "Chaos offer for cm2", "Noted, thanks rp7", "hello"]
    assert counting.outbound_duplicated(texts) == (0, [])
    twice = [*texts, "Chaos offer for cm2", "Noted, thanks rp7", "Noted, thanks rp7"]
    assert counting.outbound_duplicated(twice) == (3, ["cm2", "rp7"])
    # cm1 is not cm12: markers are whole words
    assert counting.outbound_duplicated(["Chaos offer for cm1", "Chaos offer for cm12"]) == (0, [])


def test_longest_offline_spans_the_gap_and_an_outage_still_open_at_the_end():
    both, only_a = frozenset({1, 2}), frozenset({1})
    samples = [(0.0, both), (1.0, only_a), (2.0, only_a), (3.0, both), (4.0, only_a), (5.0, only_a)]
    assert counting.longest_offline(samples, [1]) == 0.0
    assert counting.longest_offline(samples, [1, 2]) == 2.0
    never = [(0.0, frozenset()), (7.5, frozenset())]
    assert counting.longest_offline(never, [1]) == 7.5


def test_the_report_names_every_counter_that_is_not_zero():
    report = counting.Report(inbound_expected=10, commands=5)
    assert report.problems() == []
    report.inbound_lost, report.auth_key_duplicated = 2, 1
    assert report.problems() == ["inbound_lost = 2", "auth_key_duplicated = 1"]
    assert "inbound lost" in report.table() and "2 of 10" in report.table()
