"""The salutation is surname + honorific, never the given name; unknown names get a greeting."""

from __future__ import annotations

import pytest
from factories import make_customer
from hypothesis import given
from hypothesis import strategies as st

from recsvc.pitch import PitchConfig, salutation

SINGLE_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗")
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛"]
# given-name characters: CJK, but never a surname, an honorific, or a greeting character
_EXCLUDED = set("".join(SINGLE_SURNAMES + COMPOUND_SURNAMES) + "先生女士您好")
GIVEN_CHARS = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5).filter(
    lambda ch: ch not in _EXCLUDED
)


@pytest.mark.parametrize(
    ("name", "gender", "locale", "expected"),
    [
        ("王芳", "F", "zh-CN", "王女士"),
        ("王芳", "F", "en", "Ms. Wang"),
        ("李建国", "M", "zh-CN", "李先生"),
        ("李建国", "M", "en", "Mr. Li"),
        ("欧阳娜娜", "F", "zh-CN", "欧阳女士"),
        ("欧阳娜娜", "F", "en", "Ms. Ouyang"),
        ("单雄信", "M", "en", "Mr. Shan"),  # the surname reading, not the common one (dan)
        ("曾国藩", "M", "en", "Mr. Zeng"),
        (None, "F", "zh-CN", "您好"),
        (None, "M", "en", "Hello"),
        ("", "M", "zh-CN", "您好"),
        ("王", "M", "zh-CN", "您好"),  # a lone character may be a given name
        ("Wang Fang", "F", "en", "Hello"),  # Latin word order is unknown: no guess
        ("Wang Fang", "F", "zh-CN", "您好"),
        ("鑫淼", "F", "en", "Hello"),  # a surname we cannot romanise safely
        ("鑫淼", "F", "zh-CN", "鑫女士"),
    ],
)
def test_pitch_salutation_cases(
    pitch_config: PitchConfig, name: str | None, gender: str, locale: str, expected: str
) -> None:
    assert salutation(make_customer(name=name, gender=gender), locale, pitch_config) == expected


@given(
    surname=st.sampled_from(SINGLE_SURNAMES + COMPOUND_SURNAMES),
    given_name=st.text(GIVEN_CHARS, min_size=1, max_size=3),
    gender=st.sampled_from(["M", "F"]),
    locale=st.sampled_from(["zh-CN", "en"]),
)
def test_pitch_salutation_never_contains_given_name(
    pitch_config: PitchConfig, surname: str, given_name: str, gender: str, locale: str
) -> None:
    customer = make_customer(name=surname + given_name, gender=gender)
    said = salutation(customer, locale, pitch_config)
    assert not any(ch in said for ch in given_name)
    assert customer.name not in said
    honorific = pitch_config.honorifics[locale][gender]
    if locale == "zh-CN":
        assert said == surname + honorific
    else:
        assert said == f"{honorific} {pitch_config.romanised_surnames[surname]}"


def test_pitch_salutation_romanised_table_covers_test_surnames(pitch_config: PitchConfig) -> None:
    missing = [
        s for s in SINGLE_SURNAMES + COMPOUND_SURNAMES if s not in pitch_config.romanised_surnames
    ]
    assert missing == []
