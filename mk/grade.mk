# Workshops and grading: the student handout, the grader, and the proof that
# every test can fail. See docs/instructor.md.

.PHONY: handout grade check-handout

# make handout [GIVE=NN]: handout/ and handout.tar.gz, every solution block
# replaced by a TODO (GIVE=NN keeps the solutions of steps up to NN).
GIVE ?= 0
handout:
	$(Q)$(PYTHON) tools/handout.py --give $(GIVE)

# sudo make grade [STEP=NN]: a score table, results.json (Gradescope) and
# report.xml (JUnit). Builds whatever code is in the tree.
grade: deps
	$(Q)$(PYTHON) tools/grade.py $(if $(STEP),--step $(STEP))

check-handout: deps
	$(Q)$(MAKE) -s --no-print-directory all
	$(Q)$(PYTHON) tools/check-handout.py

check: check-handout
