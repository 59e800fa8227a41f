# Workshops and grading: the student handout and the grader. See
# docs/instructor.md.

.PHONY: handout grade

# make handout [GIVE=NN]: handout/ and handout.tar.gz, every solution block
# replaced by a TODO (GIVE=NN keeps the solutions of steps up to NN).
GIVE ?= 0
handout:
	$(Q)$(PYTHON) tools/handout.py --give $(GIVE)

# make grade [STEP=NN], as root: a score table, results.json (Gradescope)
# and report.xml (JUnit). Builds whatever code is in the tree, and runs its
# tests in a sandbox.
grade: deps
	$(Q)$(PYTHON) tools/grade.py $(if $(STEP),--step $(STEP))
