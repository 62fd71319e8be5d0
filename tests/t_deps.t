#!/bin/bash
# t_deps.t: common/deps.sh waits for an apt/dpkg lock held by another process
# (as on a fresh machine running unattended-upgrades) instead of failing, and
# gives up after DSAH_APT_WAIT seconds with the apt message and a clear line.
# apt-get and dpkg-query are stand-ins on PATH: the first two apt-get calls
# fail with apt's own lock messages, later ones succeed.
set -u
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
deps=$(cd "$(dirname "$0")/.." && pwd)/common/deps.sh
if [ "$(id -u)" != 0 ]; then
  skip_all "not root: deps.sh would go through sudo, which ignores PATH"
fi
cat > "$T/apt-get" <<'SH'
#!/bin/sh
n=$(cat "$FAKE_DIR/count" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_DIR/count"
echo "$*" >> "$FAKE_DIR/calls"
if [ "$n" -lt "$FAKE_LOCKED" ]; then
  echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"
  echo "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?"
  exit 100
fi
exit 0
SH
printf '#!/bin/sh\nexit 1\n' > "$T/dpkg-query"   # every package reads as missing
chmod +x "$T/apt-get" "$T/dpkg-query"
export FAKE_DIR=$T

FAKE_LOCKED=2 PATH="$T:$PATH" sh "$deps" build > "$T/out1" 2>&1
ok $? "deps.sh build succeeds once the lock is released"
grep -q "waiting for it" "$T/out1"; ok $? "says it is waiting for the lock"
[ "$(grep -c ' update ' "$T/calls")" = 3 ] && [ "$(grep -c ' install ' "$T/calls")" = 1 ]
ok $? "apt-get update retried until the lock was free, then one install ($(tr '\n' ';' < "$T/calls"))"

rm -f "$T/count" "$T/calls"
FAKE_LOCKED=1000 DSAH_APT_WAIT=2 PATH="$T:$PATH" sh "$deps" build > "$T/out2" 2>&1
rc=$?
[ $rc = 1 ]; ok $? "gives up with exit 1 after DSAH_APT_WAIT (rc $rc)"
grep -q "lock was still held after" "$T/out2" && grep -q "Could not get lock" "$T/out2"
ok $? "the error names the held lock and apt's own message"

DSAH_APT_WAIT=soon PATH="$T:$PATH" sh "$deps" build > "$T/out3" 2>&1
[ $? = 2 ] && grep -q "DSAH_APT_WAIT=soon: not a number" "$T/out3"
ok $? "a malformed DSAH_APT_WAIT is a clear error"
done_testing
