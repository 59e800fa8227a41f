#!/bin/bash
# demo.sh STEP... - runs each built step once, with the command its header's
# "Demo:" line gives, so that a newcomer sees every mechanism work.
#
# The narration (stderr) says what each step does; the command's output
# follows. Exits 1 if any step failed as a lab (status 125).
set -u
cd "$(dirname "$0")/.." || exit 1

failed=0
for step in "$@"; do
    src=$(ls steps/"$step"-*.c 2>/dev/null | head -n 1)
    demo=$(sed -n 's/^ \* Demo: //p' "$src" | head -n 1)
    title=$(sed -n '2s/^ \* //p' "$src")
    printf '\n\033[1m== %s\033[0m\n$ sudo ./%s %s\n' "$title" "$step" "$demo"
    # The demo line is written like a shell command line: let the shell split it.
    eval "./$step $demo" </dev/null
    status=$?
    echo "(exit status $status)"
    [ "$status" -eq 125 ] && failed=1
done
exit $failed
