# syntax=docker/dockerfile:1
# The creditwatch image: worker by default; docker-compose.yml also runs
# `creditwatch topics create`, the archive sink, the public site and
# `creditwatch simulate` from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A font with Chinese glyphs, embedded in the PDF credit reports the worker issues
# (streams/public/fonts.py finds it; CREDITWATCH_REPORT_FONT names another).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-zenhei \
    && rm -rf /var/lib/apt/lists/*

# Install from a bind mount of the build context rather than a COPY, so the
# source tree is not kept in a layer; rw because setuptools builds in-tree
# (the writes are discarded).
RUN --mount=type=bind,target=/src,rw pip install /src
# The board pages (alerts, cases, policy approval) live beside the code, not in the package.
COPY dashboards/board/ /usr/share/creditwatch/board/
ENV CREDITWATCH_BOARD=/usr/share/creditwatch/board/index.html

# Not root: the worker parses input from other departments' systems.
RUN useradd --system --create-home --home-dir /var/lib/creditwatch creditwatch
USER creditwatch
WORKDIR /var/lib/creditwatch
ENV CREDITWATCH_DATA_DIR=/var/lib/creditwatch/data

# Web server: /metrics, /health, /api/... (bearer tokens); the public site: 6080.
EXPOSE 6066 6080
CMD ["creditwatch", "worker", "--web-bind", "0.0.0.0"]
