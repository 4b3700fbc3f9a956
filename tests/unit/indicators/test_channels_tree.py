"""The root agency of every agency (indicators/channels.py): what makes a referral internal."""

from __future__ import annotations

from indicators.channels import roots


def test_roots_follow_the_parents_to_the_top() -> None:
    parents = {"bo": "", "cuc": "bo", "vu": "cuc", "tinh": "", "so": "tinh"}
    assert roots(parents) == {"bo": "bo", "cuc": "bo", "vu": "bo", "tinh": "tinh", "so": "tinh"}


def test_a_missing_parent_or_a_cycle_ends_the_walk() -> None:
    # a parent not in the registry: the agency is its own top; a cycle written by hand ends
    # where it closes instead of looping
    assert roots({"a": "gone"}) == {"a": "a"}
    assert roots({"a": "b", "b": "a"}) == {"a": "b", "b": "a"}
