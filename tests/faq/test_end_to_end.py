"""FAQ accuracy through the whole bot (signed callbacks, every route, message API), not the matcher alone."""
from pathlib import Path

from demo.evaluate import evaluate

DATA = Path(__file__).parent / "data"


def test_dev_and_held_out_sets_through_the_whole_bot():
    dev, held_out = evaluate([str(DATA / "faq_dev.yaml"), str(DATA / "faq_heldout.yaml")])
    for report in (dev, held_out):
        assert report.in_total > 0 and report.out_total > 0
        assert report.in_rate >= 0.95, [f.describe() for f in report.failures]
        assert report.out_rate >= 0.90, [f.describe() for f in report.failures]
