"""Which messages start the lost-device report: a loss with a device, or a short loss naming no other belonging."""
import pytest

from handlers.lost_device import is_loss_message


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
