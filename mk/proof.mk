# The proof that a grade means what it says (instructors only: not in the
# handout). See docs/instructor.md.
#
#   sudo make check-handout   the handout scores 0, GIVE=NN-1 at most 5% on
#                             step NN, the solution exactly the total, and
#                             every mutant of tests/mutants.toml loses points

.PHONY: check-handout

check-handout: deps
	$(Q)$(MAKE) -s --no-print-directory all
	$(Q)$(PYTHON) tools/check-handout.py

check: check-handout
