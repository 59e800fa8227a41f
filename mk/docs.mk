# The docs' figures that come from real runs. (make docs, for the diffs in
# the step pages, is in the Makefile.)
#
#   sudo make plot     docs/step-07-cpu.svg: the CPU use of a busy loop under
#                      step-07 --cpus 0.2, --cpus 0.5 and no cap, sampled from
#                      the host every 100 ms (about 10 s; needs root)

.PHONY: plot

plot: all
	$(Q)$(PYTHON) tools/cpu-plot.py --out docs/step-07-cpu.svg
