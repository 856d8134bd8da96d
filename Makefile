# digitbot: `make help` lists the targets. Every target sets up .venv first if needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MNIST  ?= ../shared/data/mnist.npz
PORT   ?= 8080
# The bot's languages: a .po per language (in git), compiled to a .mo beside it (not in git).
LOCALES := bot/locales
MO      := $(patsubst %.po,%.mo,$(wildcard $(LOCALES)/*/LC_MESSAGES/digitbot.po))
READY   := $(STAMP) $(MO)

.PHONY: help setup playground test run train retrain evaluate predict benchmarks messages

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

$(LOCALES)/%/LC_MESSAGES/digitbot.mo: $(LOCALES)/%/LC_MESSAGES/digitbot.po $(STAMP)
	$(BIN)/pybabel compile -l $* -i $< -o $@

setup: $(READY)  ## create .venv, install digitbot with its test tools, compile the languages' catalogs

messages: $(STAMP)  ## after changing the bot's texts: extract them into bot/locales/digitbot.pot, update each .po
	$(BIN)/pybabel extract --project=digitbot --copyright-holder="the digitbot authors" \
		--add-comments=Translators: --add-location=file --sort-by-file --output-file=$(LOCALES)/digitbot.pot bot
	$(BIN)/pybabel update --input-file=$(LOCALES)/digitbot.pot --output-dir=$(LOCALES) --domain=digitbot \
		--ignore-obsolete

playground: $(READY)  ## try the bot without Telegram: a chat page on http://127.0.0.1:8080/ (or PORT=...)
	$(BIN)/digitbot playground --port $(PORT)

test: $(READY)  ## run the whole test suite
	$(BIN)/python -m pytest -q

run: $(READY)  ## start the Telegram bot (needs TELEGRAM_BOT_TOKEN; see README)
	$(BIN)/digitbot run

train: $(STAMP)  ## retrain the shipped model into models/ from $(MNIST)
	$(BIN)/digitbot train --data $(MNIST)

retrain: $(STAMP)  ## fine-tune the active model version (DIGITBOT_HOME) on $(MNIST); promoted only if no worse
	$(BIN)/digitbot retrain --data $(MNIST)

evaluate: $(STAMP)  ## evaluate models/digit_cnn.keras on the MNIST test set
	$(BIN)/digitbot evaluate --data $(MNIST)

benchmarks: $(STAMP)  ## print the accuracy and speed benchmarks
	$(BIN)/python -m benchmarks.real_photos
	$(BIN)/python -m benchmarks.capture_variations
	$(BIN)/python -m benchmarks.photo_robustness
	$(BIN)/python -m benchmarks.border_negatives
	$(BIN)/python -m benchmarks.real_numbers
	$(BIN)/python -m benchmarks.synth_numbers --mnist $(MNIST)
	$(BIN)/python -m benchmarks.drawn_styles --mnist $(MNIST)
	$(BIN)/python -m benchmarks.calibration
	$(BIN)/python -m benchmarks.disagreement
	$(BIN)/python -m benchmarks.speed
