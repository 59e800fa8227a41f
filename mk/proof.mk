# The proof that a grade means what it says (instructors only: not in the
# handout). See docs/instructor.md.
#
#   sudo make check-handout   the handout scores 0, GIVE=NN-1 at most 5% on
#                             step NN, the solution exactly the total, and
#                             every mutant of tests/mutants.toml loses points
#   sudo make check-grader    hostile steps (tests/hostile/: a fork bomb,
#                             kill(-1), reboot(2), ...) score 0 with a reason
#                             and leave the machine as it was

.PHONY: check-handout check-grader

check-handout: deps
	$(Q)$(MAKE) -s --no-print-directory all
	$(Q)$(PYTHON) tools/check-handout.py

check-grader: deps
	$(Q)$(MAKE) -s --no-print-directory all $(TEST_HELPERS)
	$(Q)$(SANDBOX) -- $(PYTEST) tests/test_grader.py $(PYTEST_ARGS)

check: check-handout check-grader
