"""Composition root of the web process: create_app() wires the runtime (bot/runtime.py: settings,
storage, the one client), the handlers and the worker together. The Procfile's web line serves
`bot.app:create_app`.
"""
from __future__ import annotations

import logging
import sys

from flask import Flask, jsonify

from bot.directory import Directory
from bot.dispatcher import Dispatcher, Route
from bot.runtime import Runtime, build_runtime, configure_logging  # noqa: F401  (re-exported)
from bot.webhook import MAX_BODY_BYTES, blueprint
from bot.worker import error_reply_from, web_worker
from config.files import ConfigError
from console import register_console
from config.settings import Settings, SettingsError, load_settings
from handlers import admin, fallback, faq_chat, lost_device, reminders, rooms, tickets
from handlers.access import AdminAccess
from handlers.repositories import Records
from handlers.services import Services
from scheduler.service import build_reminder_service

log = logging.getLogger("bot.app")


def build_services(runtime: Runtime) -> Services:
    """Collaborators the handlers use, built once per process."""
    directory = Directory(runtime.client)
    config = runtime.settings.config_dir
    reminder_service = build_reminder_service(runtime.config, runtime.settings.tz,  # a bad reminder stops the start
                                              any_hour=runtime.settings.demo_reminders_any_hour)
    return Services(
        directory=directory,
        admins=admin.AdminPolicy(runtime.settings, directory),
        faq=faq_chat.FaqLibrary(config / "faq.yaml", config / "company.yaml", runtime.settings.faq_semantic),
        reminders=reminder_service,
        admin_commands={**faq_chat.admin_commands(), **tickets.admin_commands(),
                        **reminders.admin_commands(reminder_service)},
    )


def build_routes() -> list[Route]:
    """The order is the product's behaviour: first match wins."""
    return [
        Route("action_result", admin.handle_action_done),
        Route("tickets_reminder", tickets.handle_reminder),
        Route("admin", admin.handle, claims=admin.is_command, admin_only=True, private_only=True),
        Route("ticket_conversation", tickets.handle_conversation),
        Route("rooms", rooms.handle),
        Route("lost_device_conversation", lost_device.handle_conversation),
        Route("lost_device_found", lost_device.handle_found),
        Route("lost_device_entry", lost_device.handle_entry),
        Route("reminders", reminders.handle),
        Route("faq_feedback", faq_chat.handle_feedback),
        Route("ask_person", tickets.handle_ask),
        Route("unsupported", fallback.handle_unsupported),
        Route("faq", faq_chat.handle),
        Route("fallback", fallback.handle),
    ]


PERIODIC_TASKS = [lost_device.expire_idle]


def look_ups_first(runtime: Runtime):
    """What an event needs read before its transaction: the FAQ's learned entries and the directory
    look-ups; the handlers then run with the directory offline (no API call inside a transaction)."""
    services = runtime.services
    directory = services.directory

    def read(fn):
        with runtime.store.engine.connect() as conn:
            return fn(conn)

    def prepare(event):
        services.faq.refresh(read)  # what administrators taught, in this process or another
        directory.prepare([*admin.members_named(event, read, services.admins),
                           *lost_device.members_named(event, read),
                           *tickets.members_named(event, read, services)])
        return directory.offline()
    return prepare


def persistent_menu(texts):
    def register_persistent_menu(client) -> None:
        labels = [texts(f"persistent_menu.{key}") for key in ("faq", "lost", "hours", "help")]
        client.set_persistent_menu([{"type": "message", "label": label} for label in labels])
    return register_persistent_menu


def create_app(settings: Settings | None = None, *, clock=None, client=None, start_worker: bool = True) -> Flask:
    configure_logging()
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as exc:
            log.critical("%s", exc)
            sys.exit(3)  # a configuration error: the process manager should not retry in a loop
    try:
        runtime = build_runtime(settings, clock=clock, client=client)
        runtime.services = build_services(runtime)
        runtime.records_for = Records.sql
    except ConfigError as exc:
        log.critical("config/ cannot be used:\n%s", exc)
        sys.exit(3)
    dispatcher = Dispatcher(build_routes(), screen=rooms.addressed, prepare=look_ups_first(runtime),
                            access=AdminAccess())
    runtime.worker = web_worker(runtime.store, runtime.client, dispatcher, runtime.context,
                                error_reply=error_reply_from(runtime.texts), periodic=PERIODIC_TASKS,
                                startup_calls=[persistent_menu(runtime.texts)])

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["bot"] = runtime
    app.register_blueprint(blueprint)

    @app.errorhandler(404)
    def not_found(_error):
        return jsonify({"error": "not found"}), 404

    @app.errorhandler(405)
    def not_allowed(_error):
        return jsonify({"error": "method not allowed"}), 405

    @app.errorhandler(413)
    def too_large(_error):
        return jsonify({"error": "body too large"}), 413

    if settings.console_enabled:
        register_console(app, runtime, dispatcher)
    if start_worker:
        runtime.worker.start()
    log.info("bot ready: bot id %s, database %s, time zone %s", settings.bot_id,
             settings.database_url.split("://")[0], settings.timezone)
    return app
