"""Byte-for-byte parity with fmeval 1.2.3's current perturbation transforms.

Every expected text below was observed by running fmeval 1.2.3 itself (numpy 1.26.4): the literal
cases here, and the ~125 cases of fmeval_vectors.json written by gen_fmeval_vectors.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fmops.perturbations import Perturber, perturb

VECTORS: dict[str, Any] = json.loads(Path(__file__).with_name("fmeval_vectors.json").read_text("utf-8"))
TEXTS: dict[str, str] = VECTORS["texts"]
FOX = "A quick brown fox jumps over the lazy dog 10 times."
UNICODE = TEXTS["unicode"]


def _case_id(case: dict[str, Any]) -> str:
    params = ",".join(f"{k.rsplit('_', 1)[-1]}={v}" for k, v in case["params"].items())
    return f"{case['type']}-seed{case['seed']}-{case['text']}-n{case['n']}-{params or 'defaults'}"


@pytest.mark.parametrize("case", VECTORS["single"], ids=_case_id)
def test_single_call_matches_fmeval(case: dict[str, Any]) -> None:
    got = Perturber(case["type"], case["seed"], **case["params"]).perturb(TEXTS[case["text"]], case["n"])
    assert got == case["outputs"]


@pytest.mark.parametrize(
    "case", VECTORS["sequences"], ids=lambda c: f"{c['type']}-seed{c['seed']}-{len(c['steps'])}steps"
)
def test_consecutive_calls_on_one_instance_match_fmeval(case: dict[str, Any]) -> None:
    perturber = Perturber(case["type"], case["seed"], **case["params"])
    got = [perturber.perturb(TEXTS[name], n) for name, n in case["steps"]]
    assert got == case["outputs"]


def test_fox_defaults_seed_5() -> None:
    assert perturb("butter_finger", FOX) == [
        "A qujci brown fox mum[s ovev the lazy dog 10 tioef.",
        "A quick brown fox jumps over the lazn dog 10 timew.",
        "A quick brjfn fox jumps ovet the lazy dog 10 times.",
        "A quivk brown fox jumps over rhe lszy dog 10 times.",
        "X qoick brown fox jumps over tne masy dog 10 tumes.",
    ]
    assert perturb("random_upper_case", FOX) == [
        "A quick brown fox jumps over thE lazy DoG 10 times.",
        "A Quick brown fox JuMps over the lazy dog 10 times.",
        "A quicK bRown fox jumps over the lazy Dog 10 tiMes.",
        "A quick Brown fox jumps over the lazy dOg 10 Times.",
        "A qUick brown fox jumps over thE lazy dog 10 timEs.",
    ]
    assert perturb("whitespace_add_remove", FOX) == [
        "A quickb rown fox jumpsover t he  lazy dog 10 time s.",
        "A quick brown fox jumps over the lazydog 10 times.",
        "A quick bro wn fox jumps over thelazy dog 10 times.",
        "A qu ickbrown fox jumps ove r  the lazy dog 10 times.",
        "A quick brown fox jumps overthe la zy dog 10 times.",
    ]


def test_other_seed_and_upper_case_text() -> None:
    assert perturb("butter_finger", FOX, seed=2**40 + 3)[:2] == [
        "A qmick brown fox jumps ofcr thz lazy dog 10 timvs.",
        "A quick grown fox jumps ovet the ldzy dog 10 times.",
    ]
    # Upper-case letters are typo'd through their lower-case key and restored to upper case.
    assert perturb("butter_finger", "HELLO WORLD, THIS IS LOUD!", num_perturbations=2) == [
        "HELLP SIRLD, THIS PS LPUD!",
        "HEULO WORLD, THIS IS POMD!",
    ]


def test_butter_finger_unicode_quirks() -> None:
    # fmeval lowers every character and upper-cases it back when lowering changed it: "İ" becomes
    # "I" + U+0307 (one more code point), the Kelvin sign becomes "K" (and is typo'd as a "k"),
    # "ǅ" becomes "Ǆ"; this happens even when nothing is perturbed.
    assert perturb("butter_finger", UNICODE, num_perturbations=2) == [
        "Ünïcödé raçzee — naïve cefé 日本語 I\u0307xtanbbl K Ǆ ß ﬁ Straße",
        "Ünïcödé façzve — naïve café 日本語 I\u0307stanbul K Ǆ ß ﬁ Straße",
    ]
    assert perturb("butter_finger", UNICODE, 1, butter_finger_perturbation_prob=0.0) == [
        "Ünïcödé façade — naïve café 日本語 I\u0307stanbul K Ǆ ß ﬁ Straße"
    ]


def test_random_upper_case_full_proportion_expands_characters() -> None:
    # str.upper() may lengthen a character ("ß" → "SS", "ﬁ" → "FI"); fmeval keeps that.
    out = perturb("random_upper_case", UNICODE, 1, random_uppercase_corrupt_proportion=1.0)
    assert out == ["ÜNÏCÖDÉ FAÇADE — NAÏVE CAFÉ 日本語 İSTANBUL \u212a Ǆ SS FI STRASSE"]


def test_random_upper_case_truncates_the_count() -> None:
    # int(200 * 0.29) == 57, not 58: the product is 57.99999999999999.
    out = perturb("random_upper_case", TEXTS["long200"], 1, random_uppercase_corrupt_proportion=0.29)
    assert out[0] == (
        "The QuiCK bROwn fox, tiREd of JUmpiNg,\nSat DOwn  bY the rivEr to tHInK. THe Quick brown FOx, "
        "tIrEd of JumpiNg,\nSat dOwN  bY The rivEr to tHink. The Quick bRown FoX, tIrED of jUMpIng,\n"
        "Sat dOwn  by THe "
    )


def test_whitespace_all_probabilities_one() -> None:
    out = perturb(
        "whitespace_add_remove",
        TEXTS["whitespace"],
        2,
        whitespace_add_prob=1.0,
        whitespace_remove_prob=1.0,
    )
    assert out == ["m u l t i p l e s p a c e s t a b s n e w l i n e s e n d "] * 2


def test_texts_without_draws_do_not_advance_the_rng() -> None:
    # Observed in fmeval (both texts): a text without table keys (letters, space) draws nothing, so
    # the next record gets the same perturbation with or without it in between.
    expected = ["Ünïcödé façade — naïve caxé 日本語 I\u0307stanbul K Ǆ ß ﬁ Straße"]
    for between in ("", "123!?\t日本"):
        perturber = Perturber("butter_finger")
        perturber.perturb(FOX)
        assert perturber.perturb(between) == [between] * 5
        assert perturber.perturb(UNICODE, 1) == expected
    direct = Perturber("butter_finger")
    direct.perturb(FOX)
    assert direct.perturb(UNICODE, 1) == expected


def test_num_perturbations_may_change_between_calls() -> None:
    # fmeval draws perturbation after perturbation, so 3 then 7 continues exactly where 3 stopped.
    perturber = Perturber("random_upper_case")
    assert perturber.perturb(FOX, 3) == perturb("random_upper_case", FOX)[:3]
    assert perturber.perturb(" ", 1) == [" "]  # int(1 * 0.1) == 0 positions: no draw
    assert perturber.perturb(FOX, 2) == perturb("random_upper_case", FOX)[3:5]
