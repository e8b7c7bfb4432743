"""Retention: old finished rows and closed reports are purged; open reports and fresh rows stay."""
from sqlalchemy import func, select

from handlers import records
from bot.store import Store, inbox, make_engine, outbox
from config.settings import normalise_database_url


def count(store, table):
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_purge_keeps_recent_and_open_data(database_url, clock):
    store = Store(make_engine(normalise_database_url(database_url)), clock)
    old_time = clock.now()
    store.add_inbox("a" * 64, "{}", "message/text")
    with store.transaction() as tx:
        old_open = records.create_report(tx, "u1", "田中", "私物スマートフォン", "駅", "設定していた", "なし", old_time)
        old_closed = records.create_report(tx, "u2", "鈴木", "タブレット", "店", "わからない", "なし", old_time)
        records.set_report_status(tx, old_closed, "resolved", old_time, by="admin", note="")
        records.record_question(tx, old_time, "u1", "古い質問", "fallback", None, 0.1)
        records.audit(tx, old_time, "admin", "report_resolved", "resolved", report_id=old_closed)
    claimed = store.claim_inbox("w")
    with store.transaction() as tx:
        store.finish_inbox(tx, claimed[0].id, "w")

    clock.advance(days=100)
    store.add_inbox("b" * 64, "{}", "message/text")  # recent: stays
    with store.transaction() as tx:
        records.record_question(tx, clock.now(), "u3", "新しい質問", "answer", "comm-cost", 0.9)
    gone = records.purge_older_than(store, clock.now(), days=90)  # the clock's nightly job

    assert gone["inbox"] == 1 and gone["reports"] == 1 and gone["faq_questions"] == 1
    assert count(store, inbox) == 1
    with store.engine.connect() as conn:
        assert [r.id for r in conn.execute(select(records.reports.c.id))] == [old_open]
        assert [r.text for r in conn.execute(select(records.faq_questions.c.text))] == ["新しい質問"]
        assert conn.execute(select(func.count()).select_from(records.audit_log)).scalar_one() == 1
    assert count(store, outbox) == 0
