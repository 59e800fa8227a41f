# The course VM: a Debian 12 guest on cgroup v2 only, in QEMU, for amd64 or
# arm64. See docs/course-vm.md and docs/laptops.md.
#
#   sudo make vm                 build the image (cached) and boot to a root shell in /lab
#   sudo make vm-test            run make test inside it; exits with its status
#   sudo make vm-image           the course image for laptops: qcow2 and lima.yaml in build/vm/laptop
#   sudo make vm-image-test      boot that image as Lima would, run sudo make test in it over ssh
#   sudo make check-arm64        vm-test and vm-image-test for arm64 (emulated here: slow)
#   make vm-clean                remove the images and their package caches
#
# ARCH=amd64 or ARCH=arm64 (x86_64, aarch64) picks the guest's architecture;
# the default is this machine's. A guest of another architecture is built
# and run under emulation, without binfmt_misc.

.PHONY: vm vm-test vm-root vm-image vm-image-test vm-clean vm-arch deps-vm deps-vm-image check-arm64

# Evaluated only when a vm target uses them.
VM_ARCH = $(shell vm/arch.sh '$(ARCH)' 2>/dev/null || echo '$(ARCH)')
VM_HOST_ARCH = $(shell vm/arch.sh)
VM_DIR = $(BUILD)/vm/$(VM_ARCH)
VM_LAPTOP_DIR = $(BUILD)/vm/laptop
VM_ENV = VM_ARCH=$(VM_ARCH) VM_OUT=$(abspath $(VM_DIR))
vm_pick = $(if $(filter arm64,$(VM_ARCH)),$(2),$(1))

# Building and booting: QEMU for the guest's architecture, mmdebstrap; cpio
# for the installer that configures a foreign guest's packages.
VM_DEPS = mmdebstrap e2fsprogs $(call vm_pick,qemu-system-x86,qemu-system-arm) \
          $(if $(filter $(VM_HOST_ARCH),$(VM_ARCH)),,cpio)
# The laptop image: a GPT disk with an EFI system partition (sfdisk, mtools,
# dosfstools, GRUB's grub-mkstandalone), qcow2 (qemu-img); booting it as Lima
# does: UEFI firmware, a cloud-init seed (genisoimage), ssh.
VM_IMAGE_DEPS = fdisk dosfstools mtools grub-common qemu-utils genisoimage openssh-client \
                $(call vm_pick,ovmf,qemu-efi-aarch64)

vm-arch:
	$(Q)vm/arch.sh '$(ARCH)' >/dev/null

deps-vm: vm-arch
	$(Q)tools/deps.sh $(VM_DEPS)

deps-vm-image: deps-vm
	$(Q)tools/deps.sh $(VM_IMAGE_DEPS)

# The guest gets the lab's own packages (DEPS) and those in vm/packages, but
# what make check-oci builds and compares with (OCI_DEPS): the course VM runs
# the suite, not that check, and Go would double the image.
vm-root: deps-vm
	$(Q)vm/build-image.sh $(VM_DIR) $(VM_ARCH) $(filter-out $(OCI_DEPS),$(DEPS))

vm: vm-root
	$(Q)$(VM_ENV) vm/run.sh shell

vm-test: vm-root
	$(Q)$(VM_ENV) vm/run.sh test

vm-image: vm-root deps-vm-image
	$(Q)$(VM_ENV) vm/laptop-image.sh $(VM_DIR) $(VM_LAPTOP_DIR)

vm-image-test: vm-image
	$(Q)$(VM_ENV) vm/laptop-test.sh $(VM_LAPTOP_DIR)

# The lab on arm64, emulated (TCG) on an x86-64 machine: the tests in the
# test VM, then the course image booted as a laptop's Lima would.
check-arm64:
	$(Q)$(MAKE) --no-print-directory vm-test ARCH=arm64
	$(Q)$(MAKE) --no-print-directory vm-image-test ARCH=arm64

vm-clean:
	$(Q)rm -rf $(BUILD)/vm
