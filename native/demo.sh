#!/usr/bin/env bash
# The main job: checkpoint a running demo process (a counter writing its
# count into a file), show the images, restore it and check it counts on from
# where it stopped. Stages not built yet are reported as such.
set -uo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/node_modules/.bin"
work=$(mktemp -d /tmp/criu-demo.XXXXXX)
images="$work/images"
mkdir -p "$images"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
not_built() { grep -q 'not implemented yet' "$1" 2>/dev/null; }

say "starting the demo process: native/build/demo-counter, counting into $work/count"
setsid native/build/demo-counter "$work/count" </dev/null >/dev/null 2>&1 &
demo=$!
pids+=("$demo")
sleep 1
echo "pid $demo has counted to $(cat "$work/count")"

say "criu check"
"$bin/criu" check 2>"$work/check.err"; rc=$?
cat "$work/check.err"
if [ $rc -ne 0 ] && ! not_built "$work/check.err"; then echo "criu check failed ($rc)"; exit 1; fi

say "criu dump -t $demo -D $images -o dump.log -v4"
"$bin/criu" dump -t "$demo" -D "$images" -o dump.log -v4 2>"$work/dump.err"; rc=$?
cat "$work/dump.err"
if [ $rc -ne 0 ]; then
  if not_built "$work/dump.err"; then echo "dump is not built yet: the demo ends here"; exit 0; fi
  echo "dump failed ($rc); its log:"; cat "$images/dump.log"; exit 1
fi
wait "$demo" 2>/dev/null   # reap the killed process: its pid must be free again
before=$(cat "$work/count")
echo "dumped at count $before; images:"; ls -l "$images"
"$bin/criu-crit" show "$images/pstree.img"

say "criu restore -D $images -d --pidfile $work/restored.pid -o restore.log -v4"
"$bin/criu" restore -D "$images" -d --pidfile "$work/restored.pid" -o restore.log -v4 2>"$work/restore.err"; rc=$?
cat "$work/restore.err"
if [ $rc -ne 0 ]; then
  if not_built "$work/restore.err"; then echo "restore is not built yet: the demo ends here"; exit 0; fi
  echo "restore failed ($rc); its log:"; cat "$images/restore.log"; exit 1
fi
restored=$(cat "$work/restored.pid"); pids+=("$restored")
sleep 1
after=$(cat "$work/count")
echo "restored pid $restored counts on: $before -> $after"
[ "$after" -gt "$before" ] || { echo "the restored process is not counting"; exit 1; }
say "demo done"
