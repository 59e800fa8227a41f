#!/bin/sh
# make-oci-image.sh ROOTFS_DIR OUT.tar [IMAGE_NAME] [CMD...]
# Build a single-layer OCI image archive (oci-layout + index.json + blobs/sha256/*)
# from a root filesystem directory, offline, with sh + tar + sha256sum only.
# The archive imports with:  ctr -a SOCK images import OUT.tar
#                       and: podman load -i OUT.tar   (or skopeo/oci-archive:)
# IMAGE_NAME default: localhost/lab-busybox:latest ; CMD default: sh
# Reproducible: sorted entries, uid/gid 0, mtime 0 -> same digests every run.
# Must run as root (device nodes in the rootfs are archived as-is).
set -eu
ROOTFS=${1:?usage: make-oci-image.sh ROOTFS_DIR OUT.tar [IMAGE_NAME] [CMD...]}
OUT=${2:?usage: make-oci-image.sh ROOTFS_DIR OUT.tar [IMAGE_NAME] [CMD...]}
NAME=${3:-localhost/lab-busybox:latest}
[ $# -ge 3 ] && shift 3 || shift $#
[ $# -eq 0 ] && set -- sh
case "${NAME##*/}" in *:*) TAG=${NAME##*:} ;; *) TAG=latest ;; esac

ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)  # amd64, arm64: the OCI names
W=$(mktemp -d "${TMPDIR:-/tmp}/mkoci.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/blobs/sha256"

# put a blob (file) into the layout; prints "<hex> <size>"
put() { h=$(sha256sum "$1" | cut -d' ' -f1); s=$(stat -c %s "$1"); mv "$1" "$W/blobs/sha256/$h"; echo "$h $s"; }
# JSON-quote each argument and join with commas
jarr() { first=1; for a in "$@"; do
  q=$(printf '%s' "$a" | sed 's/\\/\\\\/g; s/"/\\"/g')
  [ $first = 1 ] && printf '"%s"' "$q" || printf ',"%s"' "$q"; first=0; done; }

# 1. layer: uncompressed tar, so digest == diff_id
tar -C "$ROOTFS" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 \
    --format=gnu -cf "$W/layer.tar" .
CMDJSON=$(jarr "$@")
read LH LS <<X
$(put "$W/layer.tar")
X

# 2. image config
printf '{"created":"1970-01-01T00:00:00Z","architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":[%s],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"make-oci-image.sh"}]}' \
  "$ARCH" "$CMDJSON" "$LH" > "$W/config.json"
read CH CS <<X
$(put "$W/config.json")
X

# 3. manifest
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$CH" "$CS" "$LH" "$LS" > "$W/manifest.json"
read MH MS <<X
$(put "$W/manifest.json")
X

# 4. index.json + oci-layout.  io.containerd.image.name = the name ctr gives the image;
#    org.opencontainers.image.ref.name = the tag (OCI convention; podman load uses it).
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$MH" "$MS" "$ARCH" "$NAME" "$TAG" > "$W/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$W/oci-layout"

tar -C "$W" --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -cf "$OUT" oci-layout index.json blobs
echo "$OUT: $NAME manifest sha256:$MH config sha256:$CH layer sha256:$LH ($LS bytes)"
