# Workshops and grading: the student handout, carrying solutions forward,
# and the grader. See docs/instructor.md.

.PHONY: handout carry grade

# make handout [GIVE=NN]: handout/ and handout.tar.gz, every solution block
# replaced by a TODO (GIVE=NN keeps the solutions of steps up to NN). It
# refuses to replace a handout/ that holds files it did not write.
GIVE ?= 0
handout:
	$(Q)$(PYTHON) tools/handout.py --give $(GIVE)

# make carry [FROM=NN] [FORCE=1]: your solution of each block, from the step
# file that introduces it (or every block of step NN's file), into the later
# step files that still have its TODO, or an older carried copy. It stops,
# changing nothing, where a later copy was edited by hand (FORCE=1 replaces it).
carry:
	$(Q)$(PYTHON) tools/carry.py $(if $(FROM),--from $(FROM)) $(if $(FORCE),--force)

# make grade [STEP=NN], as root: a score table, results.json (Gradescope)
# and report.xml (JUnit). Builds whatever code is in the tree, and runs its
# tests in a sandbox. GRADE_ARGS passes more (--classroom FILE: the points
# for GitHub Classroom's reporter).
grade: deps
	$(Q)$(PYTHON) tools/grade.py $(if $(STEP),--step $(STEP)) $(GRADE_ARGS)
