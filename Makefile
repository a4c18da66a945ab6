# Two commands for a newcomer: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=
PYTEST_ARGS ?=
# torch comes from PyTorch's CPU wheel index (PyPI's Linux torch pulls gigabytes of CUDA);
# every other package from the default index; all at the versions of constraints.txt.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# Where `make check-install` may find the CPU torch wheel (default: the CPU index itself).
TORCH_SOURCE ?= --extra-index-url $(TORCH_INDEX)
INSTALL_REPORT ?= build/install-report.json

.PHONY: setup run test test-deps lint unit integration clean docs bench check-install constraints onnx

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-deps --index-url $(TORCH_INDEX) -c constraints.txt torch
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -m pip check
	touch $(STAMP)

setup: $(STAMP)

run: setup  ## Embedded broker + worker + sample stream, alerts shown live (ARGS="--duration 120")
	$(VENV)/bin/churn-detector run $(ARGS)

# System tools the tests need: promtool + prometheus (Debian package `prometheus`),
# stunnel4 (TLS terminator in front of the embedded broker for the TLS tests).
# Idempotent: installs only when missing, as root with apt-get; otherwise says what is missing.
# The package's own prometheus service is stopped and disabled if the install started it.
test-deps:
	@if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then \
	  echo "test-deps: prometheus and promtool present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "test-deps: installing Debian package prometheus"; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus \
	    >/dev/null && \
	  { if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; \
	    then systemctl disable --now prometheus; fi; \
	    if command -v service >/dev/null 2>&1 && service prometheus status >/dev/null 2>&1; \
	    then service prometheus stop; fi; true; }; \
	else \
	  echo "test-deps: promtool/prometheus missing: install the Debian package 'prometheus'" \
	    "(apt-get install prometheus); the Prometheus tests will be skipped"; \
	fi
	@if command -v stunnel4 >/dev/null 2>&1 || command -v stunnel >/dev/null 2>&1; then \
	  echo "test-deps: stunnel4 present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "test-deps: installing Debian package stunnel4 (TLS terminator for the TLS tests)"; \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stunnel4 \
	    openssl >/dev/null; \
	else \
	  echo "test-deps: stunnel4 missing: install the Debian package 'stunnel4'" \
	    "(apt-get install stunnel4); the TLS tests will be skipped"; \
	fi

test: setup test-deps  ## The whole test suite (unit, agent, over-the-wire integration)
	$(PY) -m pytest $(PYTEST_ARGS)

# The served transformer runs on onnxruntime from an export of the bundled weights into the
# model cache; a worker exports it on first start (seconds) unless this ran before.
onnx: setup  ## Pre-export the transformer to ONNX (~/.cache/churn-detector/onnx, not committed)
	$(PY) -m models.onnx_export

docs: setup  ## Rewrite README's settings table from the code
	$(PY) -m streams.settings_docs

unit: setup
	$(PY) -m pytest -m 'not integration and not model' $(PYTEST_ARGS)

bench: setup  ## Throughput, latency, memory vs ceilings (quick, <10 min): bench/results/*.json; exit 4 if a target is missed
	$(VENV)/bin/churn-detector bench $(ARGS)

lint: setup
	$(VENV)/bin/ruff check detector models streams tests
	$(VENV)/bin/mypy

# Resolve the default install as a stock machine would: this machine's pip configuration off
# (PIP_CONFIG_FILE=/dev/null, --isolated), PyPI plus the PyTorch CPU index, constraints.txt;
# then fail if the resolution holds any nvidia-* package or a torch that is not the CPU build.
# Where the CPU index is unreachable, point TORCH_SOURCE at a copy of its wheel, e.g.
#   make check-install TORCH_SOURCE="--find-links /opt/wheels"
check-install: setup  ## Dry-run the stock install: no CUDA (report in build/install-report.json)
	mkdir -p $(dir $(INSTALL_REPORT))
	PIP_CONFIG_FILE=/dev/null $(PY) -m pip install --isolated --dry-run --ignore-installed \
	  --quiet --report $(INSTALL_REPORT) $(TORCH_SOURCE) -c constraints.txt '.[dev]'
	$(PY) -m tests.deploy.install_report $(INSTALL_REPORT)

constraints: setup  ## Re-pin constraints.txt from the venv (after a dependency change)
	{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.tmp
	mv constraints.tmp constraints.txt

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
