# The slow checks that make check adds to the quick suite: sanitizers, static
# analysis, valgrind and fuzzing. Quiet unless something is wrong.

.PHONY: deps-check check-asan check-static check-valgrind check-fuzz check-format

CHECK_DEPS := clang cppcheck valgrind libclang-rt-14-dev
deps-check: deps
	$(Q)tools/deps.sh $(CHECK_DEPS)

check: check-format check-static check-valgrind check-asan check-fuzz

# ---- AddressSanitizer and UndefinedBehaviorSanitizer -----------------------------
#
# Every step and the unit tests, built with both, then the unit tests and the
# harness's mechanism tests on the last step (--matrix=last: it holds every
# step's blocks byte for byte and links the same common/; make check-matrix
# runs them on every step, unsanitized) against those builds. Reports go to files (log_path), so
# that one from a cloned child is not lost among the step's own stderr; any
# file there fails the check.
# Relative for make (a path with spaces stays one word), absolute for the
# steps, which run from many directories. (ASan's options cannot quote a
# path: this check needs a checkout whose path has no spaces.)
ASAN_BUILD := $(BUILD)/asan
ASAN_DIR = $(CURDIR)/$(ASAN_BUILD)
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# Leaks are looked for in the unit tests (and by valgrind and the fuzzers),
# not in the steps: LeakSanitizer stops a process's threads with ptrace when
# it exits, which a process inside the container cannot do (no capabilities,
# the seccomp filter, PID 1 of its namespace): it hangs there (steps 12-16).
asan_env = ASAN_OPTIONS=log_path=$(ASAN_DIR)/logs/asan:halt_on_error=1:detect_leaks=$(1):exitcode=86 \
           UBSAN_OPTIONS=log_path=$(ASAN_DIR)/logs/ubsan:halt_on_error=1:print_stacktrace=1

check-asan: deps-check all $(TEST_HELPERS)
	$(Q)$(MAKE) -s --no-print-directory BUILD=$(ASAN_BUILD) OUT=$(ASAN_BUILD) CC=clang \
	    CFLAGS='$(ASAN_CFLAGS)' LDFLAGS='-fsanitize=address,undefined' STEP_LDFLAGS= steps $(ASAN_BUILD)/unit-tests
	$(Q)rm -rf "$(ASAN_DIR)/logs" && mkdir -p "$(ASAN_DIR)/logs"
	$(Q)cd "$(ASAN_DIR)" && $(call asan_env,1) ./unit-tests >unit.log 2>&1 || { cat unit.log; exit 1; }
	$(Q)cd tests && $(call asan_env,0) $(SANDBOX) -- $(PYTEST) -q -p no:cacheprovider \
	    "--bin-dir=$(ASAN_DIR)" --matrix=last test_[0-9][0-9]_*.py \
	    >"$(ASAN_DIR)/pytest.log" 2>&1 \
	    || { tail -n 40 "$(ASAN_DIR)/pytest.log"; exit 1; }
	$(Q)if [ -n "$$(ls -A "$(ASAN_DIR)/logs")" ]; then cat "$(ASAN_DIR)"/logs/*; \
	    echo "check-asan: sanitizer reports (above)" >&2; exit 1; fi
	@echo "check-asan: $$(tail -n 1 "$(ASAN_DIR)/pytest.log" | tr -d '='), no sanitizer report"

# ---- static analysis --------------------------------------------------------------
#
# -Wall -Wextra -Werror (and the Makefile's other warnings) under gcc and
# clang, for everything in C; cppcheck on common/ and steps/, with no
# suppressions.
CPPCHECK := cppcheck --enable=warning,style,performance,portability --error-exitcode=1 \
            --inline-suppr --quiet -I common --std=c11 -D_GNU_SOURCE --suppress=missingIncludeSystem

check-static: deps-check
	$(Q)for cc in gcc clang; do \
	    $(MAKE) -s --no-print-directory BUILD=$(BUILD)/static-$$cc OUT=$(BUILD)/static-$$cc CC=$$cc \
	        steps $(BUILD)/static-$$cc/unit-tests $(HELPERS:$(BUILD)/%=$(BUILD)/static-$$cc/%) \
	        $(TEST_HELPERS:$(BUILD)/%=$(BUILD)/static-$$cc/%) || exit 1; \
	done
	$(Q)$(CPPCHECK) common steps rootfs/helpers
	@echo "check-static: gcc and clang -Werror, cppcheck: no findings"

# ---- the house's layout ----------------------------------------------------------
#
# What .clang-format asks and a reader sees first, in all the C: lines of 100
# columns at most, spaces (no tab), no space at a line's end. (Running
# clang-format over the tables of the steps would spread them one entry per
# line: the layout of a table is left to its author.)
FORMAT_FILES = $(wildcard steps/*.c common/*.c common/*.h tests/unit/*.c tests/unit/*.h \
                 tests/fuzz/*.c rootfs/helpers/*.c rootfs/helpers/*.h tests/helpers/*.c)
check-format:
	$(Q)awk 'length > 100 { print FILENAME ":" FNR ": longer than 100 columns"; bad = 1 } \
	    /\t/ { print FILENAME ":" FNR ": a tab"; bad = 1 } \
	    / $$/ { print FILENAME ":" FNR ": a space at the end"; bad = 1 } \
	    END { exit bad }' $(FORMAT_FILES)
	@echo "check-format: $(words $(FORMAT_FILES)) files: 100 columns, no tab, no trailing space"

# ---- valgrind ---------------------------------------------------------------------
#
# The unit tests under memcheck. The path suite is left out: valgrind 3.19
# (Debian 12) does not know openat2(2) and fails it with ENOSYS; that suite
# runs in make test and under check-asan.
check-valgrind: deps-check $(BUILD)/unit-tests
	$(Q)cd $(BUILD) && valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=1 ./unit-tests --skip path >valgrind.log 2>&1 || { cat valgrind.log; exit 1; }
	@echo "check-valgrind: the unit tests (but the path suite: openat2): no memory error, no leak"

# ---- fuzzing ----------------------------------------------------------------------
#
# One libFuzzer target per parser of common/ (tests/fuzz/fuzz_*.c), each run
# for FUZZ_SECONDS from its committed seed corpus. New inputs it finds are
# kept in the build tree, not in the repository; a crash or a broken promise
# stops the check with the input that caused it.
FUZZ_SECONDS ?= 5
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_TARGETS := $(sort $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c))))

# common/ compiled once for every target (instrumented, not linked with
# libFuzzer's main), then each target links it: 11 targets no longer
# compile all of common/ eleven times.
FUZZ_FLAGS := -std=gnu11 $(WARNINGS) -g -O1 -fno-sanitize-recover=all -Icommon
FUZZ_COMMON_OBJ := $(COMMON_SRC:common/%.c=$(FUZZ_DIR)/common/%.o)
.SECONDARY: $(FUZZ_COMMON_OBJ)

$(FUZZ_DIR)/common/%.o: common/%.c common/lab.h
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FUZZ_DIR)/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_COMMON_OBJ)
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_COMMON_OBJ) \
	    $(STEP_LIBS_18)

check-fuzz: deps-check $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
	$(Q)for t in $(FUZZ_TARGETS); do \
	    name=$${t#fuzz_}; mkdir -p $(FUZZ_DIR)/corpus/$$name $(FUZZ_DIR)/crashes; \
	    $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=1024 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/crashes/$$name- \
	        $(FUZZ_DIR)/corpus/$$name tests/fuzz/corpus/$$name >$(FUZZ_DIR)/$$name.log 2>&1 \
	        || { tail -n 30 $(FUZZ_DIR)/$$name.log; echo "check-fuzz: $$t failed" >&2; exit 1; }; \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_DIR)/$$name.log); \
	    printf '  %-20s %9s runs in %ss\n' $$t "$$runs" $(FUZZ_SECONDS); \
	done
	@echo "check-fuzz: $(words $(FUZZ_TARGETS)) targets, no crash"
