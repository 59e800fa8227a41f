#!/bin/sh
# install.sh - run by the installer (init) inside the root file system being
# built, on the guest's own architecture: what mmdebstrap does in its
# "essential", "install", "customize" and "cleanup" steps.
#
#   /lab-vm-build/essential   the Essential set (and apt), as .deb files in
#                             /var/cache/apt/archives, unpacked but not
#                             installed: dpkg installs them first
#   /lab-vm-build/packages    what the image is for: apt installs it, from
#                             the packages prepare.sh downloaded
set -eu
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
cd /var/cache/apt/archives
say() { echo "installer: $* (at $(cut -d' ' -f1 /proc/uptime) s)"; }

# No service starts while the image is being built (mmdebstrap does the
# same), and dpkg does not sync every file it writes: a failed build starts
# again from nothing.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/lab-vm-build

say "dpkg --install: $(wc -l </lab-vm-build/essential) Essential packages"
# shellcheck disable=SC2046
dpkg --install --force-depends $(cat /lab-vm-build/essential)
say "apt-get install: $(wc -w </lab-vm-build/packages) packages and what they depend on"
# shellcheck disable=SC2046
apt-get install --yes --no-download --no-install-recommends -o Dpkg::Use-Pty=0 $(cat /lab-vm-build/packages)
say "customize"
sh /lab-vm-build/customize.sh
dpkg-query -W -f '${Package} ${Version}\n' >/etc/lab-vm-packages

# mmdebstrap's clean-up: the build machine keeps the .deb files (it has
# them already); the image keeps none, nor the package lists.
rm -f /usr/sbin/policy-rc.d /etc/dpkg/dpkg.cfg.d/lab-vm-build
rm -rf /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial /var/cache/apt/*.bin
find /var/lib/apt/lists -type f ! -name lock -delete
say "done"
