from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach import spintax
from outreach.spintax import Group, SpintaxError, Text, Variable

plain = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("é€ \n"), max_size=8
)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)


def normalize(nodes):
    """Merge neighbouring texts and drop empty ones: the shape parse() produces."""
    out = []
    for node in nodes:
        if isinstance(node, Group):
            node = Group(tuple(normalize(option) for option in node.options))
        if isinstance(node, Text):
            if not node.text:
                continue
            if out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text + node.text)
                continue
        out.append(node)
    return tuple(out)


def trees(depth=3):
    leaf = st.one_of(plain.map(Text), st.builds(Variable, names, plain))
    if depth == 0:
        return st.lists(leaf, max_size=4).map(tuple)
    # Groups have two or more options: a one-option group {x} is written {{x}} around a variable's name.
    group = st.lists(trees(depth - 1), min_size=2, max_size=3).map(lambda options: Group(tuple(options)))
    return st.lists(st.one_of(leaf, group), max_size=4).map(tuple)


@settings(max_examples=300, deadline=None)
@given(trees())
def test_any_template_survives_a_round_trip_through_its_source(tree):
    tree = normalize(tree)
    assert spintax.parse(spintax.unparse(tree)) == tree


@settings(max_examples=200, deadline=None)
@given(trees(), st.integers(0, 2**32))
def test_every_rendering_chooses_one_option_per_group_and_no_syntax_leaks(tree, seed):
    tree = normalize(tree)
    rendered = spintax.render(tree, context={}, rng=random.Random(seed))
    chosen = rendered.variant.split(".") if rendered.variant else []
    assert len(chosen) <= sum(1 for _ in _groups(tree))
    assert "\\" not in rendered.text or any("\\" in t for t in _texts(tree))
    assert spintax.render(tree, context={}, rng=random.Random(seed)) == rendered


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="{}|\\ab", max_size=20))
def test_arbitrary_input_either_parses_or_names_a_position_inside_it(source):
    try:
        spintax.parse(source)
    except SpintaxError as error:
        assert 0 <= error.position < len(source)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(plain.filter(bool), min_size=1, max_size=4, unique=True), min_size=1, max_size=3))
def test_the_variant_count_is_the_product_of_option_counts(groups):
    source = " ".join("{" + "|".join(spintax.escape(o) for o in options) + "}" for options in groups)
    expected = 1
    for options in groups:
        expected *= len(options)
    assert spintax.count(spintax.parse(source)) == expected


def _texts(nodes):
    for node in nodes:
        if isinstance(node, Text):
            yield node.text
        elif isinstance(node, Variable):
            yield node.fallback
        else:
            for option in node.options:
                yield from _texts(option)


def _groups(nodes):
    for node in nodes:
        if isinstance(node, Group):
            yield node
            for option in node.options:
                yield from _groups(option)


def test_nested_groups_and_variables_render_with_fallbacks():
    nodes = spintax.parse("{Hi|Hello|{Hey|Yo}} {{first_name|there}}!")
    texts = {spintax.render(nodes, context={}, rng=random.Random(i)).text for i in range(200)}
    assert texts == {"Hi there!", "Hello there!", "Hey there!", "Yo there!"}
    assert spintax.render(nodes, context={"first_name": "Ada"}).text.endswith("Ada!")
    assert spintax.count(nodes) == 4


def test_escapes_are_the_characters_themselves():
    assert spintax.render(spintax.parse(r"\{a\|b\} \\")).text == "{a|b} \\"


def test_a_pipe_outside_any_group_is_text():
    assert spintax.render(spintax.parse("a|b")).text == "a|b"


@pytest.mark.parametrize(
    ("source", "position"),
    [
        ("Hello {there|friend", 6),
        ("Hello there}", 11),
        ("{a|{b|c}", 0),
        ("trailing \\", 9),
        ("bad \\n escape", 4),
    ],
)
def test_the_validator_names_the_position_of_a_syntax_error(source, position):
    error = spintax.validate(source)
    assert error is not None
    assert error.position == position
    assert f"character {position + 1}" in str(error)


def test_a_valid_template_has_no_error_and_a_preview_counts_its_variants():
    assert spintax.validate("{a|b}") is None
    preview = spintax.preview("{Hi|Hello} {{first_name|friend}}", samples=5)
    assert preview.variants == 2
    assert sorted(preview.samples) == ["Hello friend", "Hi friend"]
    assert preview.variables == ["first_name"]
