"""Alembic environment: one URL source shared with the bot (see bot/migrate.py)."""
from alembic import context

from bot.migrate import database_url_from_env
from bot.store import make_engine

url = context.config.attributes.get("url") or database_url_from_env()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, render_as_batch=engine.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
