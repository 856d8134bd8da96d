# digitbot: the Telegram bot with its shipped model. CPU only.
#   docker build -t digitbot .
#   docker run -d --name digitbot -e TELEGRAM_BOT_TOKEN=... -v digitbot-data:/data digitbot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    MPLCONFIGDIR=/tmp/matplotlib \
    DIGITBOT_HOME=/data

WORKDIR /app

# Dependencies and code. An editable install keeps the packages in /app, so the default
# model path (<project>/models/digit_cnn.keras) points at the model copied below.
# On x86_64 pyproject.toml selects tensorflow-cpu.
COPY pyproject.toml README.md ./
COPY core ./core
COPY bot ./bot
COPY training ./training
RUN pip install -e . \
    && pybabel compile -d bot/locales -D digitbot

# The shipped model: digit_cnn.keras, its card, metrics.json, confusion_matrix.png.
COPY models ./models

RUN useradd --create-home --uid 10001 digitbot \
    && mkdir -p /data \
    && chown digitbot /data
USER digitbot

# State (feedback database, retrained model versions) lives here.
VOLUME ["/data"]
# Only used with `digitbot run --webhook-url URL --port 8443`.
EXPOSE 8443

CMD ["digitbot", "run"]
