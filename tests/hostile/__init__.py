"""Hostile input: fuzzed and forged callbacks, injection, admin abuse, log hygiene."""
