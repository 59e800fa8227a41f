# The course VM: a Debian 12 guest on cgroup v2 only, in QEMU. See
# docs/course-vm.md.
#
#   sudo make vm          build the image (cached) and boot to a root shell in /lab
#   sudo make vm-test     run make test inside it; exits with its status
#   sudo make vm-image    only build the image
#   make vm-clean         remove the image and its package cache

.PHONY: vm vm-test vm-image vm-clean deps-vm

VM_DIR := $(BUILD)/vm
VM_DEPS := qemu-system-x86 mmdebstrap e2fsprogs

deps-vm:
	$(Q)tools/deps.sh $(VM_DEPS)

# The guest gets the lab's own packages (DEPS) and those in vm/packages.
vm-image: deps-vm
	$(Q)vm/build-image.sh $(VM_DIR) $(DEPS)

vm: vm-image
	$(Q)vm/run.sh shell

vm-test: vm-image
	$(Q)vm/run.sh test

vm-clean:
	$(Q)rm -rf $(VM_DIR)
