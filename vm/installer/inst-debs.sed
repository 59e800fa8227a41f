# inst-debs.sed - turns `apt-get --simulate install` output into the names of
# the .deb files apt keeps in its cache, NAME_VERSION_ARCH.deb, the epoch's
# colon written %3a:
#
#   Inst libc6 (2.36-9+deb12u10 Debian:12.11/stable [arm64]) []
#   Inst usr-is-merged [1] (37~deb12u1 Debian:12.11/stable [all])
#   Inst busybox-static (1:1.35.0-4+b3 Debian:12.11/stable [arm64])
#
# becomes libc6_2.36-9+deb12u10_arm64.deb, usr-is-merged_37~deb12u1_all.deb,
# busybox-static_1%3a1.35.0-4+b3_arm64.deb. Run with sed -n -f.
s/^Inst \([^ :]*\)[^ ]* \(\[[^]]*\] \)\{0,1\}(\([^ ]*\) .*\[\([^]]*\)\])\( \[.*\]\)\{0,1\}$/\1_\3_\4.deb/
T
s/:/%3a/g
p
