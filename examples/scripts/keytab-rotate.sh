#!/usr/bin/env bash
# Keyturn script target (docs/targets/script.md): a Kerberos service principal whose keys live in
# a keytab. `set` rebuilds the keytab from the new password with ktutil and sends SIGHUP to the
# daemon that reads it; `test` checks the keytab holds the keys that password makes.
#
#   targets:
#     web-keytab:
#       type: script
#       set:  [/usr/local/lib/keyturn/keytab-rotate.sh, set]
#       test: [/usr/local/lib/keyturn/keytab-rotate.sh, test]
#       env:
#         KEYTAB: /etc/web/http.keytab
#         RELOAD_PIDFILE: /run/web.pid         # optional: the daemon to SIGHUP after a change
#         ENCTYPES: aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
#         KDC_CHANGE: "no"                     # "kadmin": also change the password in an MIT KDC
#   secrets:
#     web/keytab:
#       type: database-credential
#       target: web-keytab
#       strategy: single-user
#       initial: { username: HTTP/web.example.com@EXAMPLE.COM, password: "${env:WEB_KEYTAB_PASSWORD}" }
#
# The user name is the principal, with its realm. Passwords come in KEYTURN_PASSWORD (and
# KEYTURN_ADMIN_* for kadmin) and go to ktutil and kadmin on their standard input, never on a
# command line. They must not contain a newline (Keyturn's generated passwords never do).
#
# KDC_CHANGE=no (the default): the principal's password is changed elsewhere, or the keytab is
#   the only place the key lives (a service that accepts tickets from a KDC that another process
#   keeps in step). The new keys get the keytab's highest KVNO + 1 (or $KVNO when set); `set` run
#   again with the same password changes nothing (it only signals the daemon again).
# KDC_CHANGE=kadmin: first `cpw` the principal through MIT kadmin as KEYTURN_ADMIN_USERNAME, then
#   read its new KVNO with `getprinc`; `test` then also gets a ticket with the keytab (kinit -k).
#   UNTESTED: Keyturn's test machine has no KDC; only the KDC_CHANGE=no path runs in its tests
#   (test/examples-scripts.test.ts). Active Directory accounts need a different salt and tools
#   (msktutil, adcli): adapt the ktutil lines.
#
# The previous KVNO's keys are kept, so tickets issued before the change stay valid until they
# expire; older ones are dropped. The keytab is replaced atomically (mode 0600).
#
# Exit codes (the script target's defaults): 3 the password does not match (test) or the admin
# was refused, 4 no such principal, 5 the admin lacks the right, 6 the KDC cannot be reached,
# 8 an admin is needed, 1 anything else.
set -uo pipefail

action="${1:?usage: keytab-rotate.sh set|test}"
principal="${KEYTURN_USERNAME:?}"
password="${KEYTURN_PASSWORD-}"
keytab="${KEYTAB:?set KEYTAB in the target env}"
enctypes="${ENCTYPES:-aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96}"
kdc="${KDC_CHANGE:-no}"
[ "$KEYTURN_INPUT" = env ] || { echo "keytab-rotate.sh reads passwords from the environment: use input: env" >&2; exit 1; }
case "$password" in *$'\n'*) echo "the password contains a newline, which ktutil cannot read" >&2; exit 7 ;; esac

# The key lines ("KVNO principal (enctype)  (0xKEY)") of $principal in keytab $1, at KVNO $2 (or all).
keys() {
  [ -f "$1" ] || return 0
  klist -kKe "$1" 2>/dev/null | awk -v p="$principal" -v k="${2:-}" '$2 == p && (k == "" || $1 == k) { print $1, $3, $NF }' | sort
}
max_kvno() { keys "$1" | awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { print m }'; }

# Writes to $1 a keytab of $principal's keys from $password at KVNO $2, plus the entries of $3
# (an existing keytab) at KVNO $4 and above.
build() {
  local out="$1" kvno="$2" old="${3:-}" keep="${4:-0}" script="" e slots
  for e in $enctypes; do script+="addent -password -p $principal -k $kvno -e $e"$'\n'"$password"$'\n'; done
  if [ -n "$old" ] && [ -f "$old" ]; then
    script+="rkt $old"$'\n'
    # ktutil numbers the entries; delete the old principal's older ones from the highest slot down.
    slots="$(printf 'rkt %s\nlist\nquit\n' "$old" | ktutil 2>/dev/null |
      awk -v p="$principal" -v keep="$keep" -v n="$(wc -w <<<"$enctypes")" '$1 ~ /^[0-9]+$/ && $3 == p && $2 < keep { print $1 + n }' | sort -rn)"
    for e in $slots; do script+="delent $e"$'\n'; done
  fi
  script+="wkt $out"$'\n'"quit"$'\n'
  ktutil <<<"$script" >/dev/null || { echo "ktutil could not write the keytab" >&2; return 1; }
}

# True when the keytab's keys at KVNO $1 are the ones $password makes.
matches() {
  local kvno="$1" tmp
  tmp="$(mktemp -d)"
  build "$tmp/check.keytab" "$kvno" || { rm -rf "$tmp"; return 1; }
  [ -n "$(keys "$keytab" "$kvno")" ] && [ "$(keys "$tmp/check.keytab" "$kvno")" = "$(keys "$keytab" "$kvno")" ]
  local ok=$?
  rm -rf "$tmp"
  return "$ok"
}

# kadmin as the admin, commands on stdin (the admin password first, for its prompt); its stdout in $out.
out=""
kadmin_run() {
  [ -n "${KEYTURN_ADMIN_USERNAME-}" ] || { echo "KDC_CHANGE=kadmin needs an admin credential" >&2; return 8; }
  local err
  err="$(mktemp)"
  out="$({ printf '%s\n' "${KEYTURN_ADMIN_PASSWORD-}"; cat; } | kadmin -p "$KEYTURN_ADMIN_USERNAME" 2>"$err")"
  local status=$?
  cat "$err" >&2
  case "$(cat "$err")" in
    *"Password incorrect"* | *"Preauthentication failed"*) status=3 ;;
    *"Principal does not exist"*) status=4 ;;
    *"Operation requires"* | *"not authorized"*) status=5 ;;
    *"Cannot contact any KDC"* | *"Cannot resolve network address"*) status=6 ;;
  esac
  rm -f "$err"
  return "$status"
}

case "$action" in
  set)
    if [ "$kdc" = kadmin ]; then
      kadmin_run <<<"$(printf 'cpw %s\n%s\n%s\ngetprinc %s\nquit' "$principal" "$password" "$password" "$principal")" || exit $?
      kvno="$(awk '/^Key: vno/ { sub(",", "", $3); print $3; exit }' <<<"$out")"
      [ -n "$kvno" ] || { echo "could not read the new KVNO from kadmin getprinc" >&2; exit 1; }
    else
      current="$(max_kvno "$keytab")"
      if [ "$current" -gt 0 ] && matches "$current"; then kvno=""; else kvno="${KVNO:-$((current + 1))}"; fi
    fi
    if [ -n "$kvno" ]; then
      dir="$(dirname "$keytab")"
      tmp="$(mktemp "$dir/.keytab.XXXXXX")" || exit 1
      rm -f "$tmp"
      build "$tmp" "$kvno" "$keytab" "$(max_kvno "$keytab")" || { rm -f "$tmp"; exit 1; }
      chmod 600 "$tmp" && mv -f "$tmp" "$keytab" || { rm -f "$tmp"; exit 1; }
    fi
    if [ -n "${RELOAD_PIDFILE-}" ]; then
      kill -HUP "$(cat "$RELOAD_PIDFILE")" || { echo "could not signal the daemon in $RELOAD_PIDFILE" >&2; exit 1; }
    fi
    exit 0
    ;;
  test)
    kvno="$(max_kvno "$keytab")"
    [ "$kvno" -gt 0 ] || { echo "no key of $principal in $keytab" >&2; exit 4; }
    matches "$kvno" || { echo "the keytab's keys (KVNO $kvno) are not the ones this password makes" >&2; exit 3; }
    if [ "$kdc" = kadmin ]; then
      KRB5CCNAME="MEMORY:" kinit -k -t "$keytab" "$principal" || { echo "the KDC refused the keytab" >&2; exit 3; }
    fi
    exit 0
    ;;
  *)
    echo "unknown action $action" >&2
    exit 1
    ;;
esac
