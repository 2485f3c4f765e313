"""The policy decision alone (automation.policy.decide): pure, no database."""

from __future__ import annotations

import pytest

from automation.policy import ADMIT, IGNORE, PAIR, Inbound, Rules, decide, entity_text, mentions

ME = 5001


def rules(dm="pairing", group="mention", ids=(), names=()) -> Rules:
    return Rules(
        own_id=ME,
        own_username="Agent_Smith",
        dm_policy=dm,
        group_policy=group,
        allowed_ids=frozenset(ids),
        allowed_usernames=Rules.usernames(names),
    )


def dm(sender=42, username="stranger", **extra) -> Inbound:
    fields = dict(kind="private", sender_id=sender, sender_username=username, text="hi", entities=[],
                  replies_to_own=False)  # fmt: skip
    return Inbound(**{**fields, **extra})


def group(text="hello all", entities=(), reply=False, **extra) -> Inbound:
    fields = dict(kind="group", sender_id=42, sender_username="bob", text=text, entities=list(entities),
                  replies_to_own=reply)  # fmt: skip
    return Inbound(**{**fields, **extra})


def mention(text: str, word: str) -> dict:
    offset = len(text[: text.index(word)].encode("utf-16-le")) // 2
    return {"type": "mention", "offset": offset, "length": len(word.encode("utf-16-le")) // 2}


def test_open_admits_anyone_in_private():
    assert decide(dm(), rules(dm="open")).action == ADMIT


def test_allowlist_admits_listed_ids_and_usernames_in_any_case_with_or_without_at():
    listed = rules(dm="allowlist", ids=[7], names=["@Friend", "pal"])
    assert decide(dm(sender=7, username=""), listed).action == ADMIT
    assert decide(dm(username="FRIEND"), listed).action == ADMIT
    assert decide(dm(username="@pal"), listed).action == ADMIT
    verdict = decide(dm(username="enemy"), listed)
    assert verdict.action == IGNORE and verdict.reason == "not on the allowlist"


def test_an_empty_username_never_matches_an_allowlist():
    assert decide(dm(username=""), rules(dm="allowlist", names=["", "@"])).action == IGNORE


def test_pairing_admits_the_known_and_pairs_the_unknown():
    assert decide(dm(sender=7), rules(ids=[7])).action == ADMIT
    assert decide(dm(sender=8), rules(ids=[7])).action == PAIR


def test_someone_the_account_wrote_to_first_is_no_stranger_to_pair_but_the_allowlist_stays_strict():
    assert decide(dm(contacted=True), rules()).reason == "contacted"
    assert decide(dm(contacted=True), rules(dm="allowlist")).action == IGNORE


@pytest.mark.parametrize("policy", ["open", "allowlist", "pairing"])
def test_own_messages_channels_and_non_persons_are_never_admitted(policy):
    r = rules(dm=policy, group="both", ids=[ME, 42])
    assert decide(dm(sender=ME), r).action == IGNORE
    assert decide(dm(outgoing=True), r).action == IGNORE
    assert decide(group(kind="channel", reply=True), r).action == IGNORE
    assert decide(group(sender_id=None, reply=True), r).action == IGNORE


def test_a_taken_over_conversation_admits_nothing():
    assert decide(dm(paused=True), rules(dm="open")).reason == "taken over"
    assert decide(group(reply=True, paused=True), rules(group="both")).action == IGNORE


@pytest.mark.parametrize(
    ("policy", "mentioned", "replied", "admitted"),
    [
        ("mention", True, False, True),
        ("mention", False, True, False),
        ("reply", True, False, False),
        ("reply", False, True, True),
        ("both", True, False, True),
        ("both", False, True, True),
        ("both", False, False, False),
        ("off", True, True, False),
    ],
)
def test_the_group_matrix(policy, mentioned, replied, admitted):
    text = "ping @agent_smith please" if mentioned else "ping everyone"
    entities = [mention(text, "@agent_smith")] if mentioned else []
    assert decide(group(text, entities, reply=replied), rules(group=policy)).admitted is admitted


def test_a_mention_is_read_from_entities_not_from_the_text_alone():
    # "@agent_smith" typed inside code, or without a mention entity, is no mention.
    assert not mentions("@agent_smith", [], rules())
    assert not mentions("@agent_smith", [{"type": "code", "offset": 0, "length": 12}], rules())


def test_a_mention_of_someone_else_or_of_a_longer_name_is_not_ours():
    text = "@agent_smithers and @bob"
    entities = [mention(text, "@agent_smithers"), mention(text, "@bob")]
    assert not mentions(text, entities, rules())


def test_a_mention_name_entity_names_the_account_by_id():
    assert mentions("Agent", [{"type": "mentionname", "offset": 0, "length": 5, "user_id": ME}], rules())
    assert not mentions("Bob", [{"type": "mentionname", "offset": 0, "length": 3, "user_id": 9}], rules())


def test_offsets_count_utf16_units_so_an_emoji_before_the_mention_is_handled():
    text = "👋🏽 hey @Agent_Smith"
    entity = mention(text, "@Agent_Smith")
    assert entity["offset"] == 9  # two emoji, two UTF-16 units each, a space, "hey "
    assert entity_text(text, entity) == "@Agent_Smith"
    assert mentions(text, [entity], rules())


@pytest.mark.parametrize(
    "entity",
    [
        {"type": "mention"},
        {"type": "mention", "offset": "x", "length": 3},
        {"type": "mention", "offset": -1, "length": 3},
        {"type": "mention", "offset": 10**12, "length": 10**12},
        {"type": "mention", "offset": 0, "length": 0},
        {"type": "mentionname", "offset": 0, "length": 1, "user_id": str(ME)},
    ],
)
def test_malformed_entities_never_crash_and_never_mention(entity):
    assert not mentions("@agent_smith\x00", [entity], rules())


def test_an_account_without_a_username_is_only_mentioned_by_id():
    r = Rules(own_id=ME, own_username="", dm_policy="open", group_policy="mention")
    assert not mentions("@", [{"type": "mention", "offset": 0, "length": 1}], r)
