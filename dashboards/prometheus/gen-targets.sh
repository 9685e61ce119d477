#!/usr/bin/env bash
# gen-targets.sh — Prometheus file-based service discovery for a rack of rtvd.
#
#   gen-targets.sh [-r RACK] [-p PORT] [-o OUT] HOSTS_FILE
#
# HOSTS_FILE lists one host a line:  NAME ADDRESS[:PORT]
# (the host's name as in rtvd's [node] name, and where its [metrics] listen
# is reachable; PORT defaults to -p, 9464). Blank lines and lines starting
# with # are skipped. Writes a file_sd JSON list with one target per host,
# labelled host=NAME and rack=RACK (default "rack"), to OUT or stdout. OUT is
# replaced atomically (written beside it, then renamed), so Prometheus never
# reads half a file. Exit codes: 0 ok, 1 a bad host list (the message names
# the line), 2 usage.
set -u

usage() {
	sed -n 's/^# \{0,1\}//; 2,13p' "$0" >&2
	exit 2
}

rack=rack
port=9464
out=
while getopts "r:p:o:h" opt; do
	case $opt in
	r) rack=$OPTARG ;;
	p) port=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
hosts=$1

name_re='^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'
addr_re='^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$'
port_ok() { [[ $1 =~ ^[0-9]{1,5}$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }

[[ $rack =~ $name_re ]] || { echo "gen-targets: -r $rack: a rack name is letters, digits, '.', '_', '-'" >&2; exit 2; }
port_ok "$port" || { echo "gen-targets: -p $port: a port is 1 to 65535" >&2; exit 2; }
[ -r "$hosts" ] || { echo "gen-targets: $hosts: cannot read the host list" >&2; exit 2; }

bad() {
	echo "gen-targets: $hosts:$1: $2" >&2
	exit 1
}

declare -A seen_name=() seen_target=()
entries=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%%#*}
	read -r name target extra <<<"$line"
	[ -z "${name:-}" ] && continue
	[ -n "${extra:-}" ] && bad $lineno "\"$line\": expected NAME ADDRESS[:PORT], got more fields"
	[ -n "${target:-}" ] || bad $lineno "host $name has no address: write NAME ADDRESS[:PORT]"
	[[ $name =~ $name_re ]] || bad $lineno "\"$name\": a host name is letters, digits, '.', '_', '-' (as rtvd's [node] name)"
	addr=${target%:*}
	p=$port
	[ "$addr" != "$target" ] && p=${target##*:}
	[[ $addr =~ $addr_re ]] || bad $lineno "\"$addr\": not an IPv4 address or host name"
	port_ok "$p" || bad $lineno "\"$p\": a port is 1 to 65535"
	[ -n "${seen_name[$name]:-}" ] && bad $lineno "host $name is also on line ${seen_name[$name]}"
	[ -n "${seen_target[$addr:$p]:-}" ] && bad $lineno "$addr:$p is also on line ${seen_target[$addr:$p]}"
	seen_name[$name]=$lineno
	seen_target[$addr:$p]=$lineno
	entries+=("$(printf '  {"targets": ["%s:%s"], "labels": {"host": "%s", "rack": "%s"}}' "$addr" "$p" "$name" "$rack")")
done <"$hosts"

[ ${#entries[@]} -gt 0 ] || bad $lineno "no hosts listed"

emit() {
	local i
	echo "["
	for i in "${!entries[@]}"; do
		if [ "$i" -lt $((${#entries[@]} - 1)) ]; then echo "${entries[$i]},"; else echo "${entries[$i]}"; fi
	done
	echo "]"
}

if [ -z "$out" ]; then
	emit
	exit 0
fi
tmp=$(mktemp "$(dirname "$out")/.$(basename "$out").XXXXXX") || exit 1
emit >"$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$out" || { rm -f "$tmp"; exit 1; }
