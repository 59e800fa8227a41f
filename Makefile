# Container lab: every entry point. Run `make help` for the list.
#
#   make                 every step (./step-NN) and the busybox rootfs
#   make step-05         one step, at the top of the repository
#   sudo make demo-image step 11's two-layer image (build/demo-image)
#   make user-rootfs     as yourself: a rootfs you own, for step 12's rootless
#                        containers (~/.local/share/lab/rootfs)
#   sudo make test       the quick suite (installs what is missing first);
#                        STEP=NN: one step's own tests
#   sudo make check-matrix  the suite with every test on every step
#   sudo make demo       installs, builds, and runs each step once
#   sudo make check      everything CI runs
#
# Quiet unless something is wrong; V=1 shows the commands.

.DEFAULT_GOAL := all
SHELL := /bin/bash

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
# The steps are linked statically: a dynamic loader finding, mapping and
# relocating libc is about 0.1 ms of a 2 ms container start (docs/benchmarks.md).
STEP_LDFLAGS ?= -static
# make grade builds with WERROR= : a warning is shown to the student, not a
# build that fails (docs/instructor.md).
WERROR ?= -Werror
WARNINGS := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral
LAB_CFLAGS := -std=gnu11 $(WARNINGS) -Icommon $(CFLAGS)

BUILD ?= build
OUT ?= .
PYTHON := /usr/bin/python3
PYTEST := $(PYTHON) -m pytest

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC := $(sort $(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:common/%.c=$(BUILD)/common/%.o)
LIBCOMMON := $(BUILD)/libcommon.a

STEP_SRC := $(sort $(wildcard steps/step-[0-9][0-9]-*.c))
step_name = step-$(word 2,$(subst -, ,$(notdir $(1))))
# The step's number, from its file name: steps/step-08-volume.c is 8.
step_number = $(patsubst 0%,%,$(word 2,$(subst -, ,$(notdir $(1)))))
STEPS := $(foreach s,$(STEP_SRC),$(call step_name,$(s)))
STEP_BINS := $(STEPS:%=$(OUT)/%)

BUSYBOX ?= $(firstword $(wildcard /bin/busybox /usr/bin/busybox))
ROOTFS := rootfs/busybox
ROOTFS_STAMP := $(ROOTFS)/.lab-rootfs

DEPS := build-essential busybox-static libcunit1-dev python3-pytest \
        python3-pytest-timeout python3-yaml iproute2 uidmap man-db manpages manpages-dev \
        libjson-c-dev libseccomp-dev libyaml-dev podman containerd
# Step 14 finds the numbers of the calls Docker's seccomp profile names with
# libseccomp (its table of every architecture's calls). Step 17 reads JSON
# (config.json) with json-c and compiles OCI seccomp profiles with libseccomp; its tests drive it with podman and containerd
# (README, "Dependencies").
STEP_LIBS_14 := -lseccomp
STEP_LIBS_15 := $(STEP_LIBS_14)
STEP_LIBS_16 := $(STEP_LIBS_14)
STEP_LIBS_17 := -ljson-c -lseccomp
# Step 18 reads Kubernetes manifests (YAML) with libyaml.
STEP_LIBS_18 := $(STEP_LIBS_17) -lyaml
# A step after the last that names its libraries links with that one's (a
# step carries every mechanism before it): a new step 19 builds as it is.
STEP_LIBS_LAST := 18
step_libs = $(or $(STEP_LIBS_$(1)),$(if $(shell [ $(1) -gt $(STEP_LIBS_LAST) ] && echo y),$(STEP_LIBS_$(STEP_LIBS_LAST))))

.PHONY: all steps rootfs image-intact oci-bundle demo-image user-rootfs deps test check-matrix unit pytest demo docs check-docs check clean help test-helpers
.DELETE_ON_ERROR:

all: steps rootfs oci-bundle

steps: $(STEP_BINS)

# ---- common/ and the steps ---------------------------------------------------

$(BUILD)/common/%.o: common/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(LAB_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

define step_rule
$(OUT)/$(call step_name,$(1)): $(1) $(LIBCOMMON)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(LAB_CFLAGS) -DLAB_STEP=$(call step_number,$(1)) \
	    -MMD -MP -MF $(BUILD)/$(call step_name,$(1)).d -o $$@ $(1) \
	    $(LIBCOMMON) $$(STEP_LDFLAGS) $$(LDFLAGS) $(call step_libs,$(call step_number,$(1)))
ifneq ($(OUT),.)
$(call step_name,$(1)): $(OUT)/$(call step_name,$(1))
endif
endef
$(foreach s,$(STEP_SRC),$(eval $(call step_rule,$(s))))

-include $(COMMON_OBJ:.o=.d) $(STEPS:%=$(BUILD)/%.d)

# ---- the rootfs ---------------------------------------------------------------

# Small programs some lessons run inside the container (rootfs/helpers/*.c:
# the chroot escape of steps 03-04, ipcmk for step 09, ...). The rootfs has
# no libc: they are linked statically, and installed as /bin/<name>.
HELPER_SRC := $(sort $(wildcard rootfs/helpers/*.c))
HELPERS := $(HELPER_SRC:rootfs/helpers/%.c=$(BUILD)/helpers/%)

$(BUILD)/helpers/%: rootfs/helpers/%.c rootfs/helpers/calls.h
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 $(WARNINGS) -O2 -static -o $@ $<

rootfs: $(ROOTFS_STAMP)

# What the image holds when built (tools/image.py): a step without layers
# writes into it, and the tests and the grader check it against this first.
IMAGE_MANIFEST := $(BUILD)/rootfs.manifest

$(ROOTFS_STAMP): rootfs/build.sh $(HELPERS) $(BUSYBOX)
	$(Q)rootfs/build.sh "$(BUSYBOX)" $(ROOTFS) $(HELPERS)
	$(Q)$(PYTHON) tools/image.py write $(ROOTFS) $(IMAGE_MANIFEST)

# The image as it was built, or built again: before the tests run on it.
image-intact: rootfs
	$(Q)$(PYTHON) tools/image.py check $(ROOTFS) $(IMAGE_MANIFEST) || \
	    { echo "make: building $(ROOTFS) again" >&2; rm -rf $(ROOTFS); $(MAKE) --no-print-directory rootfs; }

# Step 17's demo bundle: runc spec's config.json (./step-17 spec) for the
# busybox rootfs, whose program shows where it runs.
OCI_BUNDLE := $(BUILD)/oci-bundle
oci-bundle: $(OCI_BUNDLE)/config.json

$(OCI_BUNDLE)/config.json: $(OUT)/step-17 $(ROOTFS_STAMP)
	@mkdir -p $(@D)
	$(Q)ln -sfn "$(abspath $(ROOTFS))" $(@D)/rootfs && rm -f $@ && $(OUT)/step-17 spec --bundle $(@D)
	$(Q)sed -i 's|"sh" ]|"sh", "-c", "echo hello from $$(hostname); ps -o pid,args" ]|' $@

# Step 11's two-layer demo image: the rootfs, and a layer that adds /hello
# and deletes /bin/vi (rootfs/demo-image.sh). As root.
DEMO_IMAGE := $(BUILD)/demo-image
demo-image: $(DEMO_IMAGE)/layer2/hello

$(DEMO_IMAGE)/layer2/hello: rootfs/demo-image.sh $(ROOTFS_STAMP)
	$(Q)rootfs/demo-image.sh $(ROOTFS) $(DEMO_IMAGE)

# A rootfs of your own, for step 12's rootless containers: run as yourself.
USER_ROOTFS ?= $(HOME)/.local/share/lab/rootfs
user-rootfs:
	$(Q)rootfs/user-rootfs.sh $(ROOTFS) "$(USER_ROOTFS)"

# ---- dependencies, tests, demo -------------------------------------------------

deps:
	$(Q)tools/deps.sh $(DEPS)

$(BUILD)/unit-tests: $(sort $(wildcard tests/unit/*.c)) tests/unit/unit.h $(LIBCOMMON)
	@mkdir -p $(@D)
	$(Q)$(CC) $(LAB_CFLAGS) -Itests/unit -o $@ $(filter %.c,$^) $(LIBCOMMON) -lcunit $(STEP_LIBS_18) \
	    $(LDFLAGS)

unit: $(BUILD)/unit-tests
	$(Q)cd $(BUILD) && ./unit-tests

# Programs of the harness: segv runs inside containers (static, for the
# busybox rootfs); seccomp-verdicts reads a container's filter from the host.
TEST_HELPERS := $(BUILD)/segv $(BUILD)/seccomp-verdicts

$(BUILD)/segv: tests/helpers/segv.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 $(WARNINGS) -O0 -static -o $@ $<

test-helpers: $(TEST_HELPERS)

$(BUILD)/seccomp-verdicts: tests/helpers/seccomp-verdicts.c rootfs/helpers/calls.h
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 $(WARNINGS) -O2 -o $@ $< -lseccomp

# The harness runs in a sandbox of its own (tools/sandbox.py): namespaces, a
# shared root as systemd makes it, a cgroup with limits; nothing a broken
# step does reaches the machine.
SANDBOX := $(PYTHON) "$(CURDIR)/tools/sandbox.py" --keep "$(CURDIR)"
PYTEST_ARGS ?=
# STEP=NN: that step's own tests only (its mechanism, its refusals), the
# student's loop. MATRIX=full: every mechanism's tests on every step that
# has it (make check-matrix); by default each runs on its own step and the
# last (docs/instructor.md, "What the suite runs").
PYTEST_SELECT = tests $(if $(STEP),--step $(STEP) --mechanism-only) $(if $(MATRIX),--matrix=$(MATRIX))
pytest: all $(TEST_HELPERS)
	$(Q)$(MAKE) --no-print-directory image-intact
	$(Q)$(SANDBOX) -- $(PYTEST) $(PYTEST_SELECT) $(PYTEST_ARGS)

# The quick suite a student runs often. On a fresh machine it installs what
# is missing first, so `sudo make test` alone does everything.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory pytest

# The full matrix: make test with every mechanism's tests on every step,
# for a change of the plumbing (common/, a step's main()). CI runs it.
check-matrix: deps
	$(Q)$(MAKE) --no-print-directory test MATRIX=full STEP=

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh $(STEPS)

# Each docs page holds the diff from the step before; regenerate it.
docs:
	$(Q)$(PYTHON) tools/mkdocs.py

check-docs:
	$(Q)$(PYTHON) tools/mkdocs.py --check

# Everything CI runs (.ci/run). The suite's full matrix first; the slower
# proofs (handout, sanitizers, static analysis, fuzzing, the course VM) add
# themselves as prerequisites from mk/*.mk. .ci/run runs and times each.
check: check-matrix check-docs

clean:
	$(Q)rm -rf $(BUILD) $(ROOTFS) $(STEPS) results.json report.xml
	$(Q)rm -rf handout handout.tar.gz

# The comment at the top of this file and of each mk/*.mk.
help:
	@awk '/^#/ { sub(/^# ?/, ""); print; next } { exit }' Makefile; echo
	@echo "The steps (make step-NN builds ./step-NN):"; echo
	@for s in $(STEP_SRC); do \
	    printf '  %-8s %s\n' "$$(basename $$s | cut -c1-7)" "$$(sed -n '2s/^ \* step-[0-9]*: //p' $$s)"; done
	@echo
	@for f in $(sort $(wildcard mk/*.mk)); do \
	    awk '/^#/ { sub(/^# ?/, ""); print; next } { exit }' $$f; echo; done

# Entry points that belong to one subsystem each (grading, benchmarks, the
# course VM, the slow checks) live in mk/.
-include $(sort $(wildcard mk/*.mk))
