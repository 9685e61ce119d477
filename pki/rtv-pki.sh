#!/usr/bin/env bash
# rtv-pki.sh — the rack CA: certificates for agents and operators, and the
# rack keyring that seals miss reports and gossip. A thin layer over openssl;
# `rtvctl pki` runs it. See docs/security.md for the model.
#
# Files in DIR (default $RTV_PKI_DIR, else /etc/rtvnet/pki):
#   ca.key ca.crt            the rack CA (keep ca.key off the hosts): agents, admins
#   read-ca.key read-ca.crt  the read CA: read-only operators only (an agent's
#                            rpc_addr does not trust it, its rpc_read_addr does)
#   host-<id>.key/.crt       an agent: CN and DNS SAN rtvd-host-<id>
#   admin-<who>.key/.crt     an operator that may change the rack: rtvctl-admin-<who>
#   read-<who>.key/.crt      a reader (read CA): rtvctl-read-<who>
#   rack.keys                the rack keyring: "<id> <64 hex>" lines, first seals
# Keys are P-256 ECDSA; private files are created mode 600.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: rtv-pki.sh [-d DIR] COMMAND [ARGS]

  init                        create the rack CA, the read CA and the rack
                              keyring in DIR
  issue HOST_ID [--days N]    certificate for the agent of host HOST_ID
                              (its Raft server id); default 825 days
  issue-client WHO --admin|--read [--days N]   (or --role admin|read)
                              certificate for a remote operator (rtvctl -e):
                              --admin from the rack CA (may change the rack on
                              rpc_addr), --read from the read CA (reads only,
                              on rpc_read_addr)
  rotate                      rack key rotation, step 1: add a new key that
                              every host accepts (copy rack.keys to all hosts)
  rotate --promote            step 2: the newest key seals from now on
  rotate --retire             step 3: drop every key but the sealing one
  show FILE                   subject, issuer and validity of a certificate

DIR defaults to $RTV_PKI_DIR, else /etc/rtvnet/pki. A negative --days makes
an already expired certificate (to test that peers refuse it).
EOF
}

die() { echo "rtv-pki: $*" >&2; exit 1; }

dir=${RTV_PKI_DIR:-/etc/rtvnet/pki}
while [ $# -gt 0 ]; do
	case $1 in
	-d) [ $# -ge 2 ] || die "-d needs a directory"; dir=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { usage >&2; exit 2; }
cmd=$1; shift
umask 077

need_ca() {
	[ -f "$dir/ca.key" ] && [ -f "$dir/ca.crt" ] ||
		die "no rack CA in $dir (run: rtv-pki.sh -d $dir init)"
}

newkey() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

# sign NAME OUT_BASE DAYS [CA_BASE]: key + certificate for CN=NAME signed by
# the rack CA (or by CA_BASE.crt/.key, the read CA).
sign() {
	local name=$1 base=$2 days=$3 ca=${4:-$dir/ca} ext
	ext=$(mktemp)
	trap 'rm -f "$ext" "$base.csr"' RETURN
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth,clientAuth" \
		"subjectAltName=DNS:$name" >"$ext"
	newkey "$base.key"
	openssl req -new -key "$base.key" -subj "/O=rtvnet rack/CN=$name" -out "$base.csr" 2>/dev/null
	openssl x509 -req -in "$base.csr" -CA "$ca.crt" -CAkey "$ca.key" \
		-CAcreateserial -days "$days" -sha256 -extfile "$ext" -out "$base.crt" 2>/dev/null ||
		die "openssl could not sign $name"
	chmod 644 "$base.crt"
	echo "$base.crt $base.key  ($name, $days days)"
}

days_arg() {
	[[ $1 =~ ^-?[0-9]+$ ]] && [ "$1" -ne 0 ] || die "--days wants a non-zero integer, not '$1'"
	echo "$1"
}

newline_key() { echo "$1 $(openssl rand -hex 32)"; }

keys_ids() { grep -Ev '^[[:space:]]*(#|$)' "$dir/rack.keys" | awk '{print $1}'; }

write_keys() {	# replaces rack.keys atomically with stdin
	local tmp
	tmp=$(mktemp "$dir/.rack.keys.XXXXXX")
	cat >"$tmp"
	chmod 600 "$tmp"
	mv "$tmp" "$dir/rack.keys"
}

# new_ca BASE CN: a self-signed CA (10 years).
new_ca() {
	newkey "$1.key"
	openssl req -x509 -new -key "$1.key" -sha256 -days 3650 \
		-subj "/O=rtvnet rack/CN=$2 $(openssl rand -hex 4)" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt" 2>/dev/null
	chmod 644 "$1.crt"
}

case $cmd in
init)
	[ $# -eq 0 ] || die "init takes no arguments"
	mkdir -p "$dir"
	[ ! -e "$dir/ca.key" ] || die "$dir already holds a rack CA (ca.key); remove it first"
	new_ca "$dir/ca" "rtvnet rack CA"
	new_ca "$dir/read-ca" "rtvnet read CA"
	newline_key 1 | write_keys
	echo "rack CA: $dir/ca.crt (key $dir/ca.key); read CA: $dir/read-ca.crt;" \
		"rack keyring: $dir/rack.keys"
	;;
issue)
	need_ca
	[ $# -ge 1 ] || die "issue needs a host id"
	[[ $1 =~ ^[1-9][0-9]{0,17}$ ]] || die "host id '$1' is not a Raft server id (1..10^18)"
	id=$1; shift; days=825
	while [ $# -gt 0 ]; do
		case $1 in
		--days) days=$(days_arg "${2:-}"); shift 2 ;;
		*) die "issue: unknown argument '$1'" ;;
		esac
	done
	sign "rtvd-host-$id" "$dir/host-$id" "$days"
	;;
issue-client)
	need_ca
	[ $# -ge 1 ] || die "issue-client needs a name"
	who=$1; shift; role=; days=825
	[[ $who =~ ^[A-Za-z0-9._-]{1,40}$ ]] || die "name '$who': use 1-40 of [A-Za-z0-9._-]"
	while [ $# -gt 0 ]; do
		case $1 in
		--role) role=${2:-}; shift 2 ;;
		--admin) role=admin; shift ;;
		--read) role=read; shift ;;
		--days) days=$(days_arg "${2:-}"); shift 2 ;;
		*) die "issue-client: unknown argument '$1'" ;;
		esac
	done
	case $role in
	admin|read) ;;
	*) die "issue-client: --admin (may change the rack) or --read (reads only)" ;;
	esac
	if [ "$role" = read ]; then
		# racks made before the read CA existed get one now
		[ -f "$dir/read-ca.key" ] || new_ca "$dir/read-ca" "rtvnet read CA"
		sign "rtvctl-read-$who" "$dir/read-$who" "$days" "$dir/read-ca"
	else
		sign "rtvctl-admin-$who" "$dir/admin-$who" "$days"
	fi
	;;
rotate)
	[ -f "$dir/rack.keys" ] || die "no rack keyring $dir/rack.keys (run init)"
	mapfile -t ids < <(keys_ids)
	case ${1:-} in
	"")
		[ ${#ids[@]} -lt 2 ] || die "a rotation is under way (keys ${ids[*]}): finish it " \
			"with rotate --promote, then rotate --retire"
		next=$(( ${ids[0]} % 65535 + 1 ))
		{ cat "$dir/rack.keys"; newline_key "$next"; } | write_keys
		echo "added key $next (accepted, not sealing yet); copy $dir/rack.keys to every" \
			"host, then run: rtv-pki.sh rotate --promote"
		;;
	--promote)
		[ ${#ids[@]} -ge 2 ] || die "nothing to promote: run rotate first"
		last=${ids[${#ids[@]}-1]}
		{ grep -E "^[[:space:]]*$last[[:space:]]" "$dir/rack.keys"
		  grep -Ev "^[[:space:]]*$last[[:space:]]" "$dir/rack.keys"; } | write_keys
		echo "key $last seals now; copy $dir/rack.keys to every host, then: rtv-pki.sh rotate --retire"
		;;
	--retire)
		first=${ids[0]}
		grep -E "^[[:space:]]*$first[[:space:]]" "$dir/rack.keys" | write_keys
		echo "keyring holds key $first only; copy $dir/rack.keys to every host"
		;;
	*) die "rotate: unknown argument '$1'" ;;
	esac
	;;
show)
	[ $# -eq 1 ] || die "show needs a certificate file"
	openssl x509 -in "$1" -noout -subject -issuer -dates -ext subjectAltName
	;;
*)
	usage >&2
	exit 2
	;;
esac
