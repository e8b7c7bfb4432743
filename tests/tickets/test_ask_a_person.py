"""Ask a person, through the emulator the way people use the talk: an unanswerable question goes to
the person in charge, the answer comes back, and the FAQ learns it (in every web process)."""
from bot.app import create_app
from emulator.directory import ADMIN, SEED_USERS
from handlers import faq, records
from handlers import ticket_records as tr
from tests.lost_device.conftest import rows
from tests.stack import settled
from tests.talk import Talk, labels, message_text

TANAKA, SUZUKI = SEED_USERS["tanaka"], SEED_USERS["suzuki"]
UNANSWERABLE = "スマートウォッチでLINE WORKSの通知を受けてもいいですか"
ANSWER = "スマートウォッチでの通知の確認は構いません。\n返信や添付ファイルの確認はスマホで行ってください。"


def ask_a_person(employee, admin_room, question="社内報の原稿はいつまでに出せばいいですか"):
    """The fallback's 「担当者に聞く」 chip; returns (what the employee was told, the admins' notice)."""
    fallback = employee.say(question)[-1]
    assert "担当者に聞く" in labels(fallback)
    seen = admin_room.seen()
    told = employee.press(fallback, "担当者に聞く")
    notice = admin_room.wait_new(seen)
    return told, notice[-1]


def test_an_unanswerable_question_reaches_a_person_and_the_answer_comes_back(stack, employee, admin_room):
    told, notice = ask_a_person(employee, admin_room)
    assert "Q-0001" in message_text(told[-1]) and "9:00" in message_text(told[-1])
    assert "社内報の原稿はいつまでに出せばいいですか" in message_text(notice)
    assert TANAKA.user_id not in message_text(notice)  # the name, not the id
    assert {"回答する", "対応不要"} <= set(labels(notice))

    before = employee.seen()
    done = admin_room.say(f"/answer Q-0001 {ANSWER}")
    answer = employee.wait_new(before)
    assert "担当者から回答" in message_text(answer[-1]) and ANSWER in message_text(answer[-1])
    assert "Q-0001" in message_text(done[-1]) and "FAQに追加" in labels(done[-1])
    ticket = rows(stack, tr.tickets)[0]
    assert (ticket.status, ticket.handled_by, ticket.answer) == ("answered", ADMIN.user_id, ANSWER)
    actions = [(r.actor_id, r.action) for r in rows(stack, records.audit_log)]
    assert (TANAKA.user_id, "ticket_opened") in actions and (ADMIN.user_id, "ticket_answered") in actions

    again = admin_room.say("/answer Q-0001 もう一度")  # a ticket is answered once
    assert "すでに対応済み" in message_text(again[-1])


def test_an_employees_answer_command_delivers_nothing(stack, employee, admin_room):
    ask_a_person(employee, admin_room)
    suzuki = Talk(stack.emulator, SUZUKI.user_id)
    refused = suzuki.say("/answer Q-0001 勝手な回答です")
    settled(stack)
    assert "勝手な回答" not in " ".join(message_text(m["content"]) for m in
                                      stack.emulator.bot_messages(user_id=TANAKA.user_id))
    assert "管理者" in message_text(refused[-1])
    assert rows(stack, tr.tickets)[0].status == "open"
    assert (SUZUKI.user_id, "refused:answer") in [(r.actor_id, r.action) for r in rows(stack, records.audit_log)]


def test_the_answer_button_takes_the_next_message_and_dismiss_closes(stack, employee, admin_room):
    _, notice = ask_a_person(employee, admin_room)
    prompt = admin_room.press(notice, "回答する")
    assert "Q-0001" in message_text(prompt[-1])
    before = employee.seen()
    admin_room.say(ANSWER)
    assert ANSWER in message_text(employee.wait_new(before)[-1])

    _, second = ask_a_person(employee, admin_room, "来月の朝礼の場所はどこですか")
    before = employee.seen()
    closed = admin_room.press(second, "対応不要")
    assert "Q-0002" in message_text(closed[-1])
    assert "回答は控えさせていただきます" in message_text(employee.wait_new(before)[-1])
    assert [t.status for t in rows(stack, tr.tickets)] == ["answered", "dismissed"]


def test_typing_it_with_no_recent_question_asks_for_the_question_first(stack, employee, admin_room):
    asked = employee.say("担当者に聞く")
    assert "1通で送って" in message_text(asked[-1])
    seen = admin_room.seen()
    told = employee.say("有給の残り日数はどこで見られますか")
    assert "Q-0001" in message_text(told[-1])
    assert "有給の残り日数" in message_text(admin_room.wait_new(seen)[-1])


def test_a_taught_answer_is_used_at_once_in_every_web_process_and_can_be_removed(stack, employee, admin_room,
                                                                               settings_for, database_url, clock):
    # The FAQ answers with the closest entry (notifications), which is not what was asked: 👎, then
    # the follow-up's 「担当者に聞く」.
    wrong = employee.say(UNANSWERABLE)[-1]
    follow_up = employee.press(wrong, "👎")[-1]
    seen = admin_room.seen()
    told = employee.press(follow_up, "担当者に聞く")
    assert "Q-0001" in message_text(told[-1])
    assert UNANSWERABLE in message_text(admin_room.wait_new(seen)[-1])
    done = admin_room.say(f"/answer Q-0001 {ANSWER}")
    added = admin_room.press(done[-1], "FAQに追加")
    assert "L-1" in message_text(added[-1])

    suzuki = Talk(stack.emulator, SUZUKI.user_id)
    reply = suzuki.say("スマートウォッチでも通知を見ていいですか")
    assert "スマートウォッチでの通知の確認は構いません" in message_text(reply[-1])

    # Another web process on the same database: its FAQ has the taught entry before its next answer.
    other = create_app(stack.runtime.settings, clock=clock, start_worker=False).extensions["bot"]
    try:
        def read(fn):
            with other.store.engine.connect() as conn:
                return fn(conn)
        other.services.faq.refresh(read)
        assert faq.classify(other.services.faq.book, "スマートウォッチに通知を出してもいい？").entry_id == "learned-1"

        listed = admin_room.say("/faq learned")
        assert "L-1" in message_text(listed[-1])
        assert "L-1" in message_text(admin_room.say("/faq remove L-1")[-1])
        other.services.faq.refresh(read)
        assert faq.classify(other.services.faq.book, "スマートウォッチに通知を出してもいい？").entry_id != "learned-1"
    finally:
        other.store.engine.dispose()
    reply = suzuki.say("スマートウォッチでも通知を見ていいですか")
    assert "スマートウォッチでの通知の確認は構いません" not in message_text(reply[-1])
    actions = [r.action for r in rows(stack, records.audit_log)]
    assert "faq_learned" in actions and "faq_forgotten" in actions


def test_an_example_is_added_to_an_existing_entry(stack, employee, admin_room):
    ask_a_person(employee, admin_room)
    done = admin_room.say(f"/answer Q-0001 {ANSWER}")
    chips = labels(done[-1])
    example = next(c for c in chips if c.startswith("例文に追加"))
    added = admin_room.press(done[-1], example)
    assert "例文" in message_text(added[-1])
    learned = rows(stack, tr.faq_learned)
    assert [(item.kind, item.question) for item in learned] == [("example", "社内報の原稿はいつまでに出せばいいですか")]
    exported = admin_room.say("/faq export")
    assert "社内報の原稿" in message_text(exported[-1]) and learned[0].entry_id in message_text(exported[-1])
