"""Synthetic personal data (names, resident-ID-like numbers, phones) for masking tests."""

from __future__ import annotations

import numpy as np

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉力斌宇浩凯鹏俊"
    "峰晨欣怡佳琪婷雪梅琳思雨子涵博文轩嘉轩梓萱一诺欣然天宇浩然晓东海波晶莉慧颖倩"
)
REGIONS = np.array(
    [
        "110101",
        "110105",
        "310101",
        "310115",
        "440106",
        "440305",
        "330102",
        "320102",
        "510104",
        "420102",
        "370102",
        "610103",
    ]
)
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
PHONE_PREFIX = np.array(["13", "15", "17", "18", "19"])


def names(rng: np.random.Generator, n: int) -> list[str]:
    """Family name first, then one or two given-name characters."""
    s = rng.integers(0, len(SURNAMES), n)
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = rng.integers(0, len(GIVEN), n)
    two = rng.random(n) < 0.7
    return [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if t else "")
        for a, b, c, t in zip(s.tolist(), g1.tolist(), g2.tolist(), two.tolist(), strict=True)
    ]


def id_numbers(rng: np.random.Generator, birth: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Region + birth date + sequence (odd = male) + ISO 7064 check character."""
    n = len(birth)
    region = REGIONS[rng.integers(0, len(REGIONS), n)]
    ymd = np.char.replace(np.datetime_as_string(birth.astype("datetime64[D]")), "-", "")
    seq = rng.integers(0, 500, n) * 2 + 1 - female
    body = np.char.add(np.char.add(region, ymd), np.char.mod("%03d", seq))
    digits = body.view("<U1").reshape(n, 17).astype(np.int64) if n else np.zeros((0, 17), int)
    return np.char.add(body, ID_CHECK[(digits @ ID_WEIGHTS) % 11])


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """11 digits starting with 1."""
    tail = np.char.mod("%09d", rng.integers(0, 10**9, n))
    return np.char.add(PHONE_PREFIX[rng.integers(0, len(PHONE_PREFIX), n)], tail)
