# siyu — the two commands of the README are the contract:
#   make demo   set up from a fresh clone and start the whole platform with demo data
#   make test   set up and run every test, on SQLite and on PostgreSQL

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
VENDOR      := src/siyu/console/static/vendor
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := chromium fonts-wqy-microhei

.PHONY: setup system-packages python-packages assets demo test test-sqlite test-postgres postgres bench clean

setup: system-packages python-packages assets

# Debian packages the tests and screenshots need: a browser for Playwright and a CJK font.
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

python-packages: $(STAMP)

# htmx and ECharts come from npm at setup time and are copied into the static folder (git-ignored).
$(VENDOR)/.installed: package.json
	npm install --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js
	@touch $(VENDOR)/.installed

assets: $(VENDOR)/.installed

demo: setup
	$(BIN)/siyu demo

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1

test-sqlite: setup
	SIYU_TEST_DATABASE_URL=sqlite $(BIN)/pytest -q

test-postgres: setup postgres
	SIYU_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q

test: test-sqlite test-postgres

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var test-output
