"""Every file in config/ as one validated tree, loaded at start by each process.

    load_config(config_dir) -> ConfigTree      raises ConfigError listing every problem in every file

Each file has its model (config/faq.py, config/reminders.py, config/vocabulary.py, config/texts.py,
config/company.py); this module reads them together, so that one run names all the mistakes, and
checks what one file cannot check alone (the company values used as placeholders by the others).
What needs the matcher or the calendar is built from the tree by the feature that uses it
(handlers/faq.py `build_book`, scheduler/config.py `build_book`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from config.company import company_values
from config.faq import FaqContent, load_faq_content
from config.files import ConfigError, read_yaml
from config.reminders import ReminderFile, load_reminder_file
from config.settings import CONFIG_DIR
from config.texts import Texts, load_texts
from config.vocabulary import Vocabulary, load_vocabulary

T = TypeVar("T")


@dataclass(frozen=True)
class ConfigTree:
    directory: Path
    company: dict[str, str]
    texts: Texts
    vocabulary: Vocabulary
    faq: FaqContent
    reminders: ReminderFile


def load_config(config_dir: str | Path = CONFIG_DIR) -> ConfigTree:
    directory = Path(config_dir)
    problems: list[str] = []

    def part(load: Callable[[], T]) -> T | None:
        try:
            return load()
        except ConfigError as exc:
            problems.extend(exc.problems)
            return None

    company = part(lambda: _company(directory / "company.yaml"))
    texts = part(lambda: load_texts(directory / "messages.yaml"))
    vocabulary = part(lambda: load_vocabulary(directory / "vocabulary.yaml"))
    faq = part(lambda: load_faq_content(directory / "faq.yaml", company or {}))
    reminders = part(lambda: load_reminder_file(directory / "reminders.yaml"))
    if problems:
        raise ConfigError(problems)
    return ConfigTree(directory=directory, company=company, texts=texts, vocabulary=vocabulary,  # type: ignore[arg-type]
                      faq=faq, reminders=reminders)  # type: ignore[arg-type]


def _company(path: Path) -> dict[str, str]:
    values, problems = company_values(read_yaml(path) if path.exists() else {}, path.name)
    if problems:
        raise ConfigError(problems)
    return values
