"""FAQ load and answer times at the real size and at 10x (synthetic entries). Not a test.

    .venv/bin/python bench/faq_bench.py
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers import faq  # noqa: E402

FAQ, COMPANY = ROOT / "config" / "faq.yaml", ROOT / "config" / "company.yaml"
QUERIES = ["私物スマホを使うメリットは何ですか", "紛失したスマホのログインを止めたい", "業務時間外に返信は必要？",
           "ｽﾏﾎ盗まれた", "通信費の補助はいくら", "明日の会議は何時から？", "qwerty", "おはようございます"]
KANJI = "情報端末設定確認通知連絡管理会社社員業務時間休日機能画面共有保存削除制限利用環境"


def scaled_doc(factor: int) -> dict:
    doc = yaml.safe_load(FAQ.read_text(encoding="utf-8"))
    rng = random.Random(42)
    base = doc["entries"]
    out = []
    for k in range(factor):
        for e in base:
            e = dict(e)
            if k:
                noise = lambda: "".join(rng.choice(KANJI) for _ in range(4))  # noqa: E731
                e["id"] = f"{e['id']}-x{k}"
                e["title"] = f"{e['title'][:15]}#{k}"
                e["questions"] = [f"{q}{noise()}" for q in e["questions"]]
                e["related"] = [f"{r}-x{k}" for r in e.get("related", [])]
            out.append(e)
    doc["entries"] = out
    return doc


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1, 10):
            path = Path(tmp) / f"faq_x{factor}.yaml"
            path.write_text(yaml.safe_dump(scaled_doc(factor), allow_unicode=True), encoding="utf-8")
            load = timed(lambda: faq.load_faq(path, COMPANY), 5)
            book = faq.load_faq(path, COMPANY)
            per_q = [timed(lambda q=q: faq.classify(book, q), 200) for q in QUERIES]
            full = [timed(lambda q=q: faq.respond(book, q), 200) for q in QUERIES]
            rows.append((f"x{factor}", len(book.entries), sum(len(e.questions) for e in book.entries),
                         load * 1e3, statistics.mean(per_q) * 1e6, max(per_q) * 1e6, statistics.mean(full) * 1e6))
    print(f"{'size':6s} {'entries':>7s} {'questions':>9s} {'load ms':>9s} {'classify µs (mean)':>19s} "
          f"{'(max)':>7s} {'respond µs':>11s}")
    for r in rows:
        print(f"{r[0]:6s} {r[1]:7d} {r[2]:9d} {r[3]:9.1f} {r[4]:19.1f} {r[5]:7.1f} {r[6]:11.1f}")


if __name__ == "__main__":
    main()
