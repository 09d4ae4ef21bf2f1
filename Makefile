# One-command setup, run and test.  Every install step lives here so a
# fresh server (or CI) gets exactly what a developer has.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)
APT_PACKAGES := fonts-wqy-zenhei fonts-arphic-ukai poppler-utils chromium libgl1 libglib2.0-0 redis-server

.PHONY: setup system-deps venv run worker lint test eval bench demo clean

setup: system-deps venv

# System packages: a CJK font for generated test/demo PDFs, a Kai font for
# simulated signatures, Debian's Chromium for the browser tests, and
# redis-server for the scale-out test (tests/store/test_store_redis.py starts its
# own on a free port; the package's system service is not used).  Re-checked when
# this file changes.
system-deps: .deps-system.stamp
.deps-system.stamp: Makefile
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

# Lint and type check, run by `make test` before the tests: ruff over the tree (rules in
# ruff.toml), mypy over core/ (mypy.ini), and the format check (`ruff format .` fixes it).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy core
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python -m pytest -q

# Start the app on the demo archive: build the archive when missing, seed the
# demo users (passwords printed once), run the huey worker in the background
# and streamlit in the foreground (Ctrl-C stops both).
# On the demo archive (DEID_ARCHIVE_DIR unset) the app runs in demo mode: missing export
# signing keys are generated as marked demo keys, and it says so.  With another archive
# DEID_DEMO is whatever the environment says (unset: exports need configured keys).
# With DEID_HUEY_BACKEND=redis the background consumer is the app-side writer only
# (core.cases.tasks.app_huey); detection runs on `make worker` machines.
DEMO_ARCHIVE := $(or $(DEID_ARCHIVE_DIR),data/demo_archive)
DEMO_MODE := $(if $(DEID_ARCHIVE_DIR),$(DEID_DEMO),1)
HUEY_WORKERS ?= 2
HUEY_APP := $(if $(filter redis,$(DEID_HUEY_BACKEND)),core.cases.tasks.app_huey,core.cases.tasks.huey)
run: setup
	@ls $(DEMO_ARCHIVE)/*/manifest.json >/dev/null 2>&1 || $(BIN)/python -m tools.synth.demo_archive --out $(DEMO_ARCHIVE)
	@$(BIN)/python -m core.cli demo-users
	@if [ "$(DEMO_MODE)" = "1" ]; then \
	  echo "演示模式（DEID_DEMO=1）：未配置签名证书/SM2 密钥时，导出会自动生成自签名演示证书和演示密钥（data/keys/，*.demo 标记），"; \
	  echo "  封面、清单和导出页面都会注明“演示密钥”，不能作为正式报送文件。正式使用请配置 DEID_SIGN_CERT/DEID_SIGN_KEY/DEID_SM2_KEY。"; \
	  echo "demo mode: exports are signed with generated DEMO keys (said on the cover, manifest and export page)."; fi
	@mkdir -p data; DEID_DEMO=$(DEMO_MODE) $(BIN)/huey_consumer $(HUEY_APP) -w $(HUEY_WORKERS) -k thread >> data/huey.log 2>&1 & \
	  HUEY_PID=$$!; trap 'kill $$HUEY_PID 2>/dev/null' EXIT INT TERM; \
	  echo "huey worker pid $$HUEY_PID (log: data/huey.log)"; \
	  DEID_DEMO=$(DEMO_MODE) DEID_ARCHIVE_DIR=$(DEMO_ARCHIVE) $(BIN)/streamlit run app.py --browser.gatherUsageStats false --client.showSidebarNavigation false

# A stateless detection worker machine (scaled out): needs DEID_HUEY_BACKEND=redis,
# DEID_REDIS_URL and the storage key file (DEID_KEY_FILE); no store, no shared disk.
worker: setup
	$(BIN)/huey_consumer core.cases.tasks.huey -w $(HUEY_WORKERS) -k thread

# (Re)build the demo archive from its seed (8 cases, about a minute).
demo: setup
	rm -rf $(DEMO_ARCHIVE)
	$(BIN)/python -m tools.synth.demo_archive --out $(DEMO_ARCHIVE)

# Detection figures on four corpora side by side: ../shared/eval-dev, real EMR print
# layouts and public QR/barcode samples (built into .cache/eval, scored by eval-dev's
# scorer), and the own generator + public NER sets (tools.eval.own).  EVAL_ARGS=--quick.
eval: setup
	$(BIN)/python -m tools.eval.run $(EVAL_ARGS)

bench: setup
	$(BIN)/python -m tools.bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .deps-system.stamp .pytest_cache
