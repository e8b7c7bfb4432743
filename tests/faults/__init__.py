"""Faults of the things the bot depends on: the database and the LINE WORKS API."""
