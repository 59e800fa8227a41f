# make check-oci: the OCI runtimes of this machine and step 17 driven through
# the runtime-spec's lifecycle and configs by tools/oci-validate, one table of
# assertions passed per program and runtime. It is built offline from
# Debian's packages of Go and of runtime-tools' libraries (GOPATH mode: no
# module proxy); runtime-tools' own validation programs are not packaged
# (tools/oci-validate/main.go says more).

.PHONY: check-oci oci-validate deps-oci

OCI_DEPS := golang-go golang-github-opencontainers-runtime-tools-dev runc crun
# make deps installs them too, but in the course VM: its image leaves them out
# (it runs the suite, not this check; Go would double it), and there the
# test that runs the programs says why it skips.
ifeq ($(LAB_VM),)
DEPS += $(OCI_DEPS)
endif
OCI_VALIDATE := $(BUILD)/oci-validate/oci-validate
RUNTIMETEST := $(BUILD)/oci-validate/runtimetest
# Go in GOPATH mode, from Debian's /usr/share/gocode, its cache in the build
# tree; runtimetest static, as it runs in every container's rootfs.
GO_OFFLINE = env GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= CGO_ENABLED=0 \
             GOCACHE="$(abspath $(BUILD))/gocache" GOTOOLCHAIN=local

deps-oci: deps
	$(Q)tools/deps.sh $(OCI_DEPS)

$(OCI_VALIDATE): tools/oci-validate/main.go
	@mkdir -p $(@D)
	$(Q)cd tools/oci-validate && $(GO_OFFLINE) go build -o "$(abspath $@)" .

$(RUNTIMETEST): tools/oci-validate/runtimetest/main.go
	@mkdir -p $(@D)
	$(Q)cd tools/oci-validate/runtimetest && $(GO_OFFLINE) go build -o "$(abspath $@)" .

oci-validate: $(OCI_VALIDATE) $(RUNTIMETEST)

check: check-oci

# step 17 first: the check fails where it passes fewer of a program's
# assertions than runc.
check-oci: steps rootfs oci-validate
	$(Q)work=$$(mktemp -d /tmp/lab-oci-validate.XXXXXX) && \
	  "$(OCI_VALIDATE)" -rootfs "$(ROOTFS)" -runtimetest "$(RUNTIMETEST)" -work "$$work" \
	    step-17="$(abspath $(OUT))/step-17" runc="$$(command -v runc)" \
	    crun="$(CURDIR)/tools/oci-validate/crun.sh"; \
	  rc=$$?; rm -rf "$$work"; exit $$rc
