# The two everyday commands: `make run` (the bot with a local LINE WORKS emulator and a chat page)
# and `make test`. Both create .venv and install the pinned requirements when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run serve test bench browser-deps migrate clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## run: start the emulator, the web and clock processes (SQLite, no credentials) and print the chat page URL
run: $(STAMP)
	$(PY) -m demo $(if $(filter 1 true yes,$(ANY_HOUR)),--reminders-any-hour)

## serve: run the Procfile's processes against the real LINE WORKS (needs the environment variables)
serve: $(STAMP)
	$(PY) -m demo --live

## test: the whole suite (SQLite and PostgreSQL; the browser test needs `make browser-deps` once)
test: $(STAMP)
	$(PY) -m pytest

## bench: benchmarks (not part of the tests); figures go to bench/results/
bench: $(STAMP) bench-deps
	$(PY) -m bench

## bench-deps: Debian's wrk, the HTTP load generator the webhook benchmark uses (installs it when missing; needs root)
.PHONY: bench-deps
bench-deps:
	@command -v wrk >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

## browser-deps: Debian's Chromium, Japanese fonts and the colour emoji font for the browser test (needs root)
browser-deps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk" && \
	  fc-list 2>/dev/null | grep -qi "noto color emoji" || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk \
	      fonts-noto-color-emoji >/dev/null; }

migrate: $(STAMP)
	$(PY) -m bot.migrate

clean:
	rm -rf $(VENV) .pytest_cache bot.sqlite3*
