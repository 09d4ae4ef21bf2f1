# One-command setup, run and test.  Every install step lives here so a
# fresh server (or CI) gets exactly what a developer has.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)
APT_PACKAGES := fonts-wqy-zenhei fonts-arphic-ukai poppler-utils chromium libgl1 libglib2.0-0

.PHONY: setup system-deps venv run test eval bench demo clean

setup: system-deps venv

# System packages: a CJK font for generated test/demo PDFs, a Kai font for
# simulated signatures, and Debian's Chromium for the browser tests.
system-deps: .deps-system.stamp
.deps-system.stamp:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

test: setup
	$(BIN)/python -m pytest -q

# Start the app on the demo archive: build the archive when missing, seed the
# demo users (passwords printed once), run the huey worker in the background
# and streamlit in the foreground (Ctrl-C stops both).
DEMO_ARCHIVE := $(or $(DEID_ARCHIVE_DIR),data/demo_archive)
HUEY_WORKERS ?= 2
run: setup
	@ls $(DEMO_ARCHIVE)/*/manifest.json >/dev/null 2>&1 || $(BIN)/python -m core.synth.demo_archive --out $(DEMO_ARCHIVE)
	@$(BIN)/python -m core.cli demo-users
	@mkdir -p data; $(BIN)/huey_consumer core.tasks.huey -w $(HUEY_WORKERS) -k thread >> data/huey.log 2>&1 & \
	  HUEY_PID=$$!; trap 'kill $$HUEY_PID 2>/dev/null' EXIT INT TERM; \
	  echo "huey worker pid $$HUEY_PID (log: data/huey.log)"; \
	  DEID_ARCHIVE_DIR=$(DEMO_ARCHIVE) $(BIN)/streamlit run app.py --browser.gatherUsageStats false --client.showSidebarNavigation false

# (Re)build the demo archive from its seed (8 cases, about a minute).
demo: setup
	rm -rf $(DEMO_ARCHIVE)
	$(BIN)/python -m core.synth.demo_archive --out $(DEMO_ARCHIVE)

# Detection figures on four corpora side by side: ../shared/eval-dev, real EMR print
# layouts and public QR/barcode samples (built into .cache/eval, scored by eval-dev's
# scorer), and the own generator + public NER sets (core.eval).  EVAL_ARGS=--quick.
eval: setup
	$(BIN)/python -m tools.eval.run $(EVAL_ARGS)

bench: setup
	$(BIN)/python -m core.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .deps-system.stamp .pytest_cache
