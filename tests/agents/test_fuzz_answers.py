"""Whatever a hook answers, judging it ends in an answer we can send or a plain refusal — never anything
else. Bounded (marker ``fuzz``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.hook import MAX_MESSAGE_ID, MAX_TEXT, Answer, CallFailed, judge

pytestmark = pytest.mark.fuzz

HOSTILE = ["\x00", "\ud800", "\udfff", "\u202e", "\ufeff", " ", "\n"]  # NUL, lone surrogates, bidi, BOM
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
answers = st.dictionaries(
    st.sampled_from(["text", "reply_to", "other"]) | st.text(max_size=6), json_values, max_size=4
)


def check(status: int, raw: bytes) -> None:
    try:
        answer = judge(status, raw)
    except CallFailed as failed:
        assert failed.reason and failed.status_code == status
        return
    assert isinstance(answer, Answer) and 200 <= status < 300
    if answer.text is not None:
        assert 0 < len(answer.text) <= MAX_TEXT and "\x00" not in answer.text
        assert answer.text == answer.text.strip()
        answer.text.encode()  # storable: no lone surrogates
    if answer.reply_to is not None:
        assert type(answer.reply_to) is int and 0 < answer.reply_to <= MAX_MESSAGE_ID


@settings(max_examples=300)
@given(status=st.integers(100, 599), body=answers)
def test_any_json_object_is_judged_plainly(status, body):
    check(status, json.dumps(body).encode())


@settings(max_examples=300)
@given(status=st.sampled_from([200, 201, 204, 299]), raw=st.binary(max_size=200))
def test_any_bytes_are_judged_plainly(status, raw):
    check(status, raw)


@settings(max_examples=200)
@given(
    # lists joined, not st.text(): st.text() never yields a lone surrogate
    text=st.lists(st.characters() | st.sampled_from(HOSTILE), max_size=5000).map("".join),
    reply_to=st.none() | json_values,
)
def test_texts_and_reply_tos_of_every_kind(text, reply_to):
    check(200, json.dumps({"text": text, "reply_to": reply_to}).encode())
