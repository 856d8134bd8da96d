# digitbot: `make help` lists the targets. Every target sets up .venv first if needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MNIST  ?= ../shared/data/mnist.npz
PORT   ?= 8080

.PHONY: help setup playground test run train retrain evaluate predict benchmarks

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install digitbot with its test tools

playground: $(STAMP)  ## try the bot without Telegram: a chat page on http://127.0.0.1:8080/ (or PORT=...)
	$(BIN)/digitbot playground --port $(PORT)

test: $(STAMP)  ## run the whole test suite
	$(BIN)/python -m pytest -q

run: $(STAMP)  ## start the Telegram bot (needs TELEGRAM_BOT_TOKEN; see README)
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
	$(BIN)/python -m benchmarks.real_numbers
	$(BIN)/python -m benchmarks.synth_numbers --mnist $(MNIST)
	$(BIN)/python -m benchmarks.calibration
	$(BIN)/python -m benchmarks.speed
