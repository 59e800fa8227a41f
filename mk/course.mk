# A course's grading, for the instructor (not in the handout): a whole
# class at once, and the Gradescope autograder. See docs/instructor.md.

.PHONY: grade-all gradescope

# make grade-all SUBMISSIONS=DIR [OUT=DIR] [STEPS=01,02], as root: each
# submission (a directory holding a tree, or step files) graded alone, in a
# fresh copy of the handout and a sandbox of its own: OUT/grades.csv, and
# each student's report in OUT/NAME/ (OUT defaults to build/grade-all).
grade-all: deps
	$(Q)$(PYTHON) tools/grade-all.py $(SUBMISSIONS) $(if $(OUT),--out $(OUT)) $(if $(STEPS),--steps $(STEPS))

# make gradescope: build/gradescope/autograder.zip (setup.sh, run_autograder
# and the handout). Where Gradescope's container cannot make namespaces,
# run_autograder grades in the course VM instead.
gradescope:
	$(Q)$(PYTHON) tools/gradescope.py
