# pki.sh — certificates for test racks, made with the operator's tool
# (pki/rtv-pki.sh, what `rtvctl pki` runs). Sourced; bash only.
#
#   pki_rack DIR              DIR holds a rack: ca.crt, read-ca.crt, rack.keys,
#                             host-1..9.{crt,key}, admin-test.{crt,key},
#                             read-test.{crt,key} (a copy of one cached set)
#   pki_host DIR ID           makes DIR/host-ID.{crt,key} if missing (ID > 9)
#   pki_tls_section DIR ID    the [tls] section of host ID's rtvd.conf (stdout)
#   pki_ctl_admin DIR         rtvctl's client options for DIR's admin cert
#   pki_ctl_read DIR          ... and for its reader cert
#
# Speed: a CA and nine host certificates cost ~1 s of openssl, so they are
# made once per build tree, in $RTV_PKI_CACHE (default $RTV_BUILD/test-pki,
# under a lock), and every test run copies them into its own directory.
# Tests that need a foreign CA make one with rtv-pki.sh themselves.

PKI_ROOT=${PKI_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PKI_SH=${PKI_SH:-$PKI_ROOT/pki/rtv-pki.sh}
RTV_PKI_CACHE=${RTV_PKI_CACHE:-${RTV_BUILD:-$PKI_ROOT/build}/test-pki}

# Fills the cache once; a cache whose certificates expire within a week is
# made again.
pki_cache() {
	local c=$RTV_PKI_CACHE i
	mkdir -p "$(dirname "$c")" || return 1
	(
		flock 9
		if [ -f "$c/done" ] && openssl x509 -checkend 604800 -noout \
			-in "$c/host-1.crt" >/dev/null 2>&1; then
			exit 0
		fi
		rm -rf "$c.tmp" && mkdir -p "$c.tmp" || exit 1
		"$PKI_SH" -d "$c.tmp" init >/dev/null || exit 1
		for i in 1 2 3 4 5 6 7 8 9; do
			"$PKI_SH" -d "$c.tmp" issue "$i" >/dev/null || exit 1
		done
		"$PKI_SH" -d "$c.tmp" issue-client test --admin >/dev/null || exit 1
		"$PKI_SH" -d "$c.tmp" issue-client test --read >/dev/null || exit 1
		touch "$c.tmp/done"
		rm -rf "$c" && mv "$c.tmp" "$c"
	) 9>"$c.lock"
}

pki_rack() {
	local dir=$1
	pki_cache || { echo "pki.sh: cannot make the test CA in $RTV_PKI_CACHE" >&2; return 1; }
	mkdir -p "$dir" && cp -a "$RTV_PKI_CACHE"/. "$dir"/ && rm -f "$dir/done"
}

pki_host() {
	[ -f "$1/host-$2.crt" ] || "$PKI_SH" -d "$1" issue "$2" >/dev/null
}

pki_tls_section() {
	local dir=$1 id=$2
	pki_host "$dir" "$id" || return 1
	printf '[tls]\nca = %s\ncert = %s\nkey = %s\nrack_keys = %s\n' "$dir/ca.crt" \
		"$dir/host-$id.crt" "$dir/host-$id.key" "$dir/rack.keys"
}

pki_ctl_admin() { echo "--ca $1/ca.crt --cert $1/admin-test.crt --key $1/admin-test.key"; }
pki_ctl_read() { echo "--ca $1/ca.crt --cert $1/read-test.crt --key $1/read-test.key"; }
