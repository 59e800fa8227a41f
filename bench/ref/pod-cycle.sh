#!/bin/sh
# pod-cycle.sh lab STEP_BIN MANIFEST_DIR MANIFEST   -- one static pod's life under step 18's
#                                                     kubelet (which runs on MANIFEST_DIR):
#                                                     the manifest written until the pod runs,
#                                                     removed until the pod is gone
# pod-cycle.sh podman FIXTURE MANIFEST              -- the same pod with podman's own way to run
#                                                     a manifest: kube play, then kube down
#                                                     (FIXTURE: tests/helpers/oci/podman-fixture.sh,
#                                                     with BASE set)
# Polls `get pods` every 10 ms: what a user of the kubelet would see, a little late.
set -eu
case "$1" in
lab)
    bin=$2 dir=$3 manifest=$4
    cp "$manifest" "$dir/.bench.tmp" && mv "$dir/.bench.tmp" "$dir/bench.yaml"
    until "$bin" get pods 2>/dev/null | grep -q ' 1/1 .*Running'; do sleep 0.01; done
    rm "$dir/bench.yaml"
    while [ -n "$("$bin" get pods 2>/dev/null)" ]; do sleep 0.01; done ;;
podman)
    fixture=$2 manifest=$3
    # runc: crun refuses a hybrid cgroup tree whose v2 side holds a controller
    "$fixture" run --runtime runc kube play --replace --network none "$manifest" > /dev/null
    "$fixture" run --runtime runc kube down "$manifest" > /dev/null ;;
*)
    echo "usage: $0 lab STEP_BIN DIR MANIFEST | podman FIXTURE MANIFEST" >&2
    exit 2 ;;
esac
