"""Which messages start the lost-device report: a loss with a device, or a short loss naming no other belonging.
Which messages say the phone was found: an affirmative found verb about the phone, not negated, not a condition."""
import pytest

from handlers.lost_device import is_found_message, is_loss_message


@pytest.mark.parametrize("text", ["スマホなくした", "iPhone盗まれた", "携帯を電車に置き忘れました", "なくした！",
                                  "落としちゃった…", "なくしたー", "電車で落とした", "今日なくした", "なくした！助けて",
                                  "携帯ないねん", "朝からスマホないんやけど", "拾われたらどうしよう、スマホ"])
def test_loss_of_a_device_or_of_nothing_named(text):
    assert is_loss_message(text)


@pytest.mark.parametrize("text", ["財布を落とした", "鍵なくした", "定期を落とした", "カギなくしました", "かぎなくした",
                                  "社用車の鍵をなくしました", "通信費について", "スマホの設定",
                                  "スマホがなかなか繋がらない", "スマホないと仕事にならない", "スマホは無いけどタブレットで使える？",
                                  "PCないけどスマホで使える？"])
def test_loss_of_another_thing_or_no_loss(text):
    assert not is_loss_message(text)


# -- "found": it closes a report, so only news that the phone itself is back counts ------------------

@pytest.mark.parametrize("text", ["見つかった", "見つかりました！", "みつかった", "見つけた", "出てきた", "発見！",
                                  "発見しました", "スマホ見つかった！", "携帯出てきました", "スマホあった！",
                                  "iPhone見つかりました", "sumaho mitsukatta", "財布とスマホ見つかった",
                                  "見つかったから大丈夫です", "スマホが見つかりました。ありがとうございます",
                                  "見つかってん", "見つかったのでもう大丈夫"])
def test_found(text):
    assert is_found_message(text)


@pytest.mark.parametrize("text", ["駅で落とした、未発見", "未発見", "まだ未発見です", "見つかっていない", "見つかってない",
                                  "まだ見つからない", "見つからへん", "見つからん", "見つかりません", "見つからず",
                                  "見つけられない", "出てこない", "出てきてない", "発見できず", "発見されていません",
                                  "発見に至っていない", "発見なし", "ミツカラナイ", "見つかれへん",
                                  "見つかったら連絡します", "見つけた人にデータを見られるかも", "見つかった場合は？",
                                  "見つかったかも", "見つかったの？", "見つかってへん", "早くスマホ見つけたい", "発見したい", "熱が出てきた", "会社に戻ってきた",
                                  "会議があった"])
def test_negated_conditional_or_unrelated_is_not_found(text):
    assert not is_found_message(text)


@pytest.mark.parametrize("text", ["財布見つかった！", "鍵見つけた", "カギ見つかりました", "定期出てきた", "財布あった",
                                  "車のキー見つかった", "財布は見つかったけどスマホはまだ"])
def test_another_belonging_found_is_not_the_phone(text):
    assert not is_found_message(text)


@pytest.mark.parametrize("text", ["置き忘れた", "置き引きにあった"])
def test_a_one_kana_belonging_does_not_hide_a_loss(text):
    """「キー」 folds to 「き」, which is inside 置き忘れ: such a word must not make a loss 'another thing'."""
    assert is_loss_message(text)
