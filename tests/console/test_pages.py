"""The console's pages over real HTTP against the emulator: what they refuse and what they keep whole."""
import pytest
from sqlalchemy import select

from emulator.directory import ADMIN, SEED_USERS
from handlers import faq, faq_records
from tests.console.test_sign_in import csrf_of, sign_in
from tests.stack import running_stack
from tests.talk import Talk, message_text

SUZUKI = SEED_USERS["suzuki"]


@pytest.fixture
def stack(keypair, sqlite_url, clock):
    with running_stack(keypair, sqlite_url, clock=clock) as stack:
        yield stack


@pytest.fixture
def admin(stack):
    browser, home = sign_in(stack, ADMIN.user_id)
    browser.csrf = csrf_of(home.text)
    return browser


def post(stack, browser, path, **data):
    return browser.post(f"{stack.bot_url}/admin{path}", data={"csrf_token": browser.csrf, **data})


def test_an_entry_taken_out_of_service_leaves_the_others_answering(stack, admin):
    book = stack.runtime.services.faq.book
    host = next(e for e in book.entries if e.related and e.id != faq.LOST_DEVICE_ID)
    hidden = host.related[0]
    assert post(stack, admin, "/faq/remove", id=hidden).status_code == 200
    with stack.runtime.store.engine.connect() as conn:
        assert [(e.entry_id, e.hidden) for e in faq_records.all_edits(conn)] == [(hidden, True)]
    reply = Talk(stack.emulator, SUZUKI.user_id).say(host.questions[0])[-1]
    assert host.answer[:20] in message_text(reply)
    assert hidden not in stack.runtime.services.faq.book.by_id


def test_someone_removed_from_the_administrators_is_shut_out_at_once(stack, admin):
    assert admin.get(f"{stack.bot_url}/admin/reports").status_code == 200
    stack.runtime.services.admins.ids.discard(ADMIN.user_id.lower())
    shut = admin.get(f"{stack.bot_url}/admin/reports", allow_redirects=False)
    assert shut.status_code == 403 and "管理者専用" in shut.text
    stack.runtime.services.admins.ids.add(ADMIN.user_id.lower())
    assert admin.get(f"{stack.bot_url}/admin/reports", allow_redirects=False).status_code == 302  # signed out


def test_the_csv_export_neutralises_formulas_and_the_import_restores_them(stack, admin):
    form = {"id": "formula-test", "category": stack.runtime.services.faq.book.categories[0].id,
            "title": "計算式のテスト", "questions": "=1+1 はどうなる？", "answer": "-もしもの答えです", "mode": "add"}
    assert post(stack, admin, "/faq/entry", **form).status_code == 200
    exported = admin.get(f"{stack.bot_url}/admin/faq/export.csv").content.decode("utf-8-sig")
    assert "'=1+1 はどうなる？" in exported and "'-もしもの答えです" in exported
    imported = admin.post(f"{stack.bot_url}/admin/faq/import", data={"csrf_token": admin.csrf},
                          files={"file": ("faq.csv", ("\ufeff" + exported).encode())})
    assert imported.status_code == 200 and "0件を保存しました" in imported.text
    assert stack.runtime.services.faq.book.by_id["formula-test"].answer == "-もしもの答えです"


@pytest.mark.parametrize("csv_text, says", [
    ("id,category,title,questions,answer\nshort-row,cost\n", "タイトル"),
    ("id,category,title,questions,answer\na,b,c,d,e,f\n", "列が多すぎます"),
    ("name,answer\nx,y\n", "1行目は"),
    ("id,category,title,questions,answer\n\"unterminated", "CSV"),
])
def test_a_bad_csv_is_refused_with_a_reason_and_changes_nothing(stack, admin, csv_text, says):
    refused = admin.post(f"{stack.bot_url}/admin/faq/import", data={"csrf_token": admin.csrf},
                         files={"file": ("faq.csv", csv_text.encode())})
    assert refused.status_code == 400 and says in refused.text and "何も変更していません" in refused.text
    with stack.runtime.store.engine.connect() as conn:
        assert faq_records.all_edits(conn) == []


def test_an_entry_may_not_take_an_existing_id_or_title(stack, admin):
    book = stack.runtime.services.faq.book
    taken = book.entries[0]
    base = {"category": taken.category, "questions": "新しい質問", "answer": "新しい答え", "mode": "add"}
    same_id = post(stack, admin, "/faq/entry", id=taken.id, title="新しいタイトル", **base)
    same_title = post(stack, admin, "/faq/entry", id="brand-new", title=taken.title, **base)
    assert same_id.status_code == 400 and "すでにあります" in same_id.text
    assert same_title.status_code == 400 and "同じです" in same_title.text
    assert stack.runtime.services.faq.book.by_id[taken.id].answer == taken.answer


def test_the_console_goes_back_only_to_its_own_pages_and_refuses_the_answer_prompt(stack, admin):
    shown = post(stack, admin, "/command", text="/reports", back="javascript:alert(1)")
    assert shown.status_code == 200 and "javascript:" not in shown.text
    elsewhere = post(stack, admin, "/command", text="/reports", back="https://evil.example/")
    assert "evil.example" not in elsewhere.text
    refused = post(stack, admin, "/command", text="回答する", postback="admin:ticket_answer:1")
    assert refused.status_code == 400
    with stack.runtime.store.engine.connect() as conn:
        from handlers.records import conversations
        assert list(conn.execute(select(conversations))) == []


def test_a_request_without_a_csrf_token_gets_a_japanese_page(stack, admin):
    refused = admin.post(f"{stack.bot_url}/admin/faq/remove", data={"id": "comm-cost"})
    assert refused.status_code == 400 and "受け付けられませんでした" in refused.text


def test_entries_and_examples_import_from_yaml(stack, admin):
    book = stack.runtime.services.faq.book
    target = book.entries[0]
    text = (f"entries:\n  - id: yaml-entry\n    category: {target.category}\n    title: YAMLの項目\n"
            f"    questions: [YAMLで足した質問]\n    answer: YAMLで足した答えです。\n"
            f"examples:\n  {target.id}: [YAMLで足した例文]\n")
    imported = admin.post(f"{stack.bot_url}/admin/faq/import", data={"csrf_token": admin.csrf},
                          files={"file": ("faq.yaml", text.encode())})
    assert imported.status_code == 200 and "2件を保存しました" in imported.text
    book = stack.runtime.services.faq.book
    assert book.by_id["yaml-entry"].answer == "YAMLで足した答えです。"
    assert book.by_id[target.id].questions[-1] == "YAMLで足した例文"
    broken = admin.post(f"{stack.bot_url}/admin/faq/import", data={"csrf_token": admin.csrf},
                        files={"file": ("faq.yaml", b"entries: [1, 2")})
    assert broken.status_code == 400 and "YAML" in broken.text


def test_a_category_is_renamed_or_added_and_the_menu_follows(stack, admin):
    book = stack.runtime.services.faq.book
    first = book.categories[0]
    assert post(stack, admin, "/faq/category", id=first.id, title="スマホ代のこと").status_code == 200
    assert post(stack, admin, "/faq/category", id="shop-rules", title="店舗のルール").status_code == 200
    taken = post(stack, admin, "/faq/category", id="another", title="店舗のルール")
    assert taken.status_code == 400 and "カテゴリを保存できませんでした" in taken.text
    titles = [c.title for c in stack.runtime.services.faq.book.categories]
    assert titles[0] == "スマホ代のこと" and "店舗のルール" in titles and titles.count("店舗のルール") == 1
    menu = Talk(stack.emulator, SUZUKI.user_id).say("よくある質問")[-1]
    assert "スマホ代のこと" in message_text(menu) and first.title not in message_text(menu)


def test_the_audit_log_filters_and_exports_with_names(stack, admin):
    post(stack, admin, "/faq/category", id="shop-rules", title="店舗のルール")
    page = admin.get(f"{stack.bot_url}/admin/audit", params={"action": "console_category"})
    assert page.status_code == 200 and "FAQのカテゴリを保存" in page.text and "サインイン" not in page.text
    exported = admin.get(f"{stack.bot_url}/admin/audit.csv").content
    assert exported.startswith(b"\xef\xbb\xbf")
    lines = exported.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("日時,操作した人,ID,操作") and any("佐藤 美咲" in line for line in lines[1:])


def test_send_now_counts_the_recipients_first_and_sends_nothing(stack, admin):
    reminder = stack.runtime.services.reminders.book.enabled()[0]
    counted = post(stack, admin, "/reminders/count", id=reminder.id)
    assert counted.status_code == 200 and "まだ何も送っていません" in counted.text and "人" in counted.text
    with stack.runtime.store.engine.connect() as conn:
        from handlers import reminder_records as rr
        assert list(conn.execute(select(rr.broadcasts))) == []
    assert post(stack, admin, "/reminders/count", id="no-such").status_code == 404
