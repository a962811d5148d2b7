# ZipML-PYNQ: the two fresh-machine commands.
#   make demo   create the project's virtual environment, install the package, run `zipml demo`
#   make test   install everything the tests need (idempotent) and run the whole suite
#
# Python packages go into the project's own virtual environment $(VENV) (default .venv), made
# by the Debian Python $(PYTHON); nothing is installed into any other Python. Debian packages
# are installed only when missing (apt-get update runs once, only then, through sudo when not
# root); apt-get update and install wait up to $(APT_LOCK_WAIT) s each for the locks of
# another apt (update: retried every 5 s; install: apt's DPkg::Lock::Timeout).
#
# Debian packages, one word each:
#   the venv and the C extensions: python3-venv python3-dev gcc g++ (Verilator builds C++);
#   the tests: yosys (synthesis), libsvm-tools (svm-checkdata), dataset-fashion-mnist,
#   gcc-arm-linux-gnueabihf + libc6-dev-armhf-cross (the ARM build of the C engine; the
#   headers are only a Recommends of the compiler) and qemu-user (runs it), ghdl, verilator,
#   iverilog, tcl (tclsh: the Vivado TCL flow checks), curl + bzip2 (the notebooks' data
#   download scripts), python-is-python3 (svm-checkdata starts with "#!/usr/bin/env python"),
#   python3-torch + python3-torchvision (PyTorch for the transfer-learning
#   tool, CPU build: see below).
DEMO_APT_PACKAGES ?= python3-venv python3-dev gcc
APT_PACKAGES ?= $(DEMO_APT_PACKAGES) g++ yosys libsvm-tools dataset-fashion-mnist \
	gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user ghdl verilator iverilog tcl \
	curl bzip2 python-is-python3 python3-torch python3-torchvision
APT_LOCK_WAIT ?= 600
PYTHON ?= /usr/bin/python3
VENV ?= .venv
VPY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PKG_SOURCES := pyproject.toml setup.py $(wildcard zipml/_*_build.py cmodel/*.c cmodel/*.h)
STAMP := $(VENV)/.zipml-test-install
DEMO_STAMP := $(VENV)/.zipml-install
TORCH_STAMP := $(VENV)/.zipml-debian-torch
# Debian's python3-torch/python3-torchvision (CPU only, ~150 MB download) are made visible to
# the venv, and to nothing else from Debian: links to the two packages in $(VENV)/debian-torch,
# named by a .pth file. PyPI's Linux torch wheels bring the CUDA libraries (~5 GB) instead.
# Their pure-Python imports that Debian's metadata does not declare come from PyPI.
DEBIAN_SITE := /usr/lib/python3/dist-packages
TORCH_PY_DEPS := typing_extensions requests

.PHONY: demo test install apt-deps demo-apt-deps
.DEFAULT_GOAL := test

define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  err=$$(mktemp); waited=0; \
	  until $(SUDO) apt-get update 2>$$err; do cat $$err >&2; \
	    grep -q "Could not get lock" $$err && [ $$waited -lt $(APT_LOCK_WAIT) ] \
	      || { rm -f $$err; exit 1; }; \
	    echo "apt-get update: another apt holds the lock, retrying in 5 s"; \
	    sleep 5; waited=$$((waited + 5)); done; rm -f $$err; \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=$(APT_LOCK_WAIT) install -y \
	    --no-install-recommends $$missing; \
	else echo "Debian packages present: $(1)"; fi
endef

demo-apt-deps:
	$(call apt_install,$(DEMO_APT_PACKAGES))

apt-deps:
	$(call apt_install,$(APT_PACKAGES))

$(VPY):
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# pip install -e reruns whenever the packaging or the C sources changed.
$(DEMO_STAMP): $(PKG_SOURCES) | $(VPY)
	$(VPY) -m pip install -e .
	@touch $@

$(TORCH_STAMP): | $(VPY)
	@if [ "$$($(VPY) -c 'import sys; print(sys.version_info[:2])')" != \
	      "$$(/usr/bin/python3 -c 'import sys; print(sys.version_info[:2])' 2>/dev/null)" ]; \
	then echo "$(VPY) is not the Python of Debian's python3-torch: the transfer-learning" \
	          "tests will be skipped"; \
	else set -e; rm -rf $(VENV)/debian-torch; mkdir -p $(VENV)/debian-torch; \
	  for p in $(DEBIAN_SITE)/torch $(DEBIAN_SITE)/torch-*.egg-info \
	           $(DEBIAN_SITE)/torchvision $(DEBIAN_SITE)/torchvision-*.egg-info; do \
	    ln -s $$p $(VENV)/debian-torch/; done; \
	  echo "$(CURDIR)/$(VENV)/debian-torch" > \
	    "$$($(VPY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/zipml-debian-torch.pth"; \
	  $(VPY) -m pip install $(TORCH_PY_DEPS); fi
	@touch $@

$(STAMP): $(PKG_SOURCES) $(TORCH_STAMP) | $(VPY)
	$(VPY) -m pip install -e '.[test]'
	@touch $@ $(DEMO_STAMP)

install: apt-deps $(STAMP)

demo: demo-apt-deps $(DEMO_STAMP)
	$(VENV)/bin/zipml demo

test: apt-deps $(STAMP)
	$(VPY) -m pytest -n auto tests
