import pytest

from clients.selectors import width_variants


@pytest.mark.parametrize(
    ("typed", "forms"),
    [
        ("サトウ", ["サトウ", "ｻﾄｳ"]),
        ("ｻﾄｳ", ["ｻﾄｳ", "サトウ"]),
        # Voiced kana are two characters in half width.
        ("ガンバ・パン", ["ガンバ・パン", "ｶﾞﾝﾊﾞ･ﾊﾟﾝ"]),
        ("ｶﾞﾝﾊﾞ", ["ｶﾞﾝﾊﾞ", "ガンバ"]),
        ("ヴィラ", ["ヴィラ", "ｳﾞｨﾗ"]),
        ("コーヒー", ["コーヒー", "ｺｰﾋｰ"]),
        # Half-width kana mode types letters in half width.
        (
            "ＡＢＣトレード",
            ["ＡＢＣトレード", "ABCトレード", "ａｂｃトレード", "ABCﾄﾚｰﾄﾞ"],
        ),
        # Nothing to vary: one condition.
        ("山田", ["山田"]),
        ("らーめん", ["らーめん"]),
        ("見積、納品", ["見積、納品"]),
    ],
)
def test_the_forms_a_text_may_be_stored_in(typed, forms):
    assert width_variants(typed) == forms
