# ZipML-PYNQ: the two fresh-machine commands.
#   make demo   install the package and run `zipml demo` (seconds)
#   make test   install everything the tests need (idempotent) and run the whole suite
#
# Debian packages the tests need. Installed only when missing (apt-get update runs once,
# only then). ghdl and verilator are preinstalled on the development machines; listed so that
# a fresh machine gets them too. Add packages here, one word each.
APT_PACKAGES ?= yosys libsvm-tools dataset-fashion-mnist gcc-arm-linux-gnueabihf qemu-user ghdl verilator iverilog
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := build/.install-stamp
DEMO_STAMP := build/.install-demo-stamp
PKG_SOURCES := pyproject.toml setup.py $(wildcard zipml/_*_build.py cmodel/*.c cmodel/*.h)

.PHONY: demo test install apt-deps
.DEFAULT_GOAL := test

# pip install -e reruns whenever the packaging or the C sources changed. The demo needs only
# the package; the tests also need the test tools and the `features` extra (torch, large).
$(STAMP): $(PKG_SOURCES)
	$(PIP) install -e '.[test,features]'
	@mkdir -p $(dir $@) && touch $@ $(DEMO_STAMP)

$(DEMO_STAMP): $(PKG_SOURCES)
	$(PIP) install -e .
	@mkdir -p $(dir $@) && touch $@

install: $(STAMP)

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	else echo "Debian packages present: $(APT_PACKAGES)"; fi

demo: $(DEMO_STAMP)
	zipml demo

test: apt-deps install
	$(PYTHON) -m pytest -n auto tests
