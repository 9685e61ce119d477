#!/usr/bin/env bash
# rpc_tls.sh — the agent RPC over mutual TLS, with read-only and admin
# rights (docs/security.md, "RPC rights"), on three real rtvd (tests/lib/
# rack.sh: rpc_addr tls+tcp:// trusting the rack CA, rpc_read_addr trusting
# the read CA too):
#   - a reader (read CA) reads paths, hosts and status on rpc_read_addr, and
#     gets a clear refusal for members remove, a submit (vm add) and
#     transfer: exit 1, "permission denied", nothing changed, each refusal
#     logged with the client's address and counted in /metrics;
#   - the reader's certificate cannot even connect to rpc_addr;
#   - an admin (rack CA) may change the rack on rpc_addr;
#   - without a certificate, with another CA's, or in plaintext, a client is
#     refused in the TLS handshake, before any message is read (the agent's
#     request counter does not move), counted by reason in /metrics;
#   - rtvctl refuses a tls+tcp:// endpoint without --cert/--key/--ca (usage);
#   - a client certificate made with `rtvctl pki issue-client` works.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/rack.sh"
need_cmd curl openssl jq
on_fail() { rack_tail_logs; }

mport() { echo $((RACK_PORT_BASE + 80 + $1)); }
# metric NAME{labels}: its value on node 1 ("" if absent)
metric() {
	curl -sS --max-time 5 "http://127.0.0.1:$(mport 1)/metrics" |
		awk -v s="$1" '$1 == s { print $2; exit }'
}
rpc_refused() {	# node 1's rpc_addr handshake refusals, every reason (nng's reason for
		# a given failure, e.g. plaintext, is its own: auth or proto)
	curl -sS --max-time 5 "http://127.0.0.1:$(mport 1)/metrics" |
		awk '$1 ~ /^rtvnet_tls_refused_total\{channel="rpc",/ { n += $2 } END { print n + 0 }'
}
requests() {	# every RPC request node 1 answered, all ops and classes
	curl -sS --max-time 5 "http://127.0.0.1:$(mport 1)/metrics" |
		awk '$1 ~ /^rtvnet_rpc_requests_total/ { n += $2 } END { print n + 0 }'
}
remote() {	# remote URL CERT_OPTS ARGS...: rtvctl over the network
	local url=$1 opts=$2
	shift 2
	# shellcheck disable=SC2086 # opts are words
	"$RTVCTL" -e "$url" $opts --timeout 3s "$@"
}
members() { rack_ctl "$leader" -o json status 2>/dev/null | jq -r '.peers[].id' | sort | tr '\n' ' '; }

step "3 rtvd, Raft and RPC over mutual TLS, a read-only listener on each"
rack_init 3 || exit 1
for i in 1 2 3; do printf '[metrics]\nlisten = 127.0.0.1:%s\n' "$(mport "$i")" >>"$(rack_conf "$i")"; done
rack_start_all
leader=$(rack_wait_leader 20) || die "no leader within 20 s"
ok "leader is node $leader"
grep -q "RPC on $(rack_rpc_url 1), read-only on $(rack_read_url 1)" "$(rack_logfile 1)" &&
	ok "node 1 says where it listens" || bad "node 1 does not log its TLS listeners"
PKI=$RACK_DIR/pki
RD=$(rack_read_url 1)
AD=$(rack_rpc_url 1)

step "a reader reads on rpc_read_addr"
out=$(remote "$RD" "$(rack_ctl_read)" paths 2>&1); rc=$?
check "paths: exit 0 ($rc: $out)" [ $rc = 0 ]
out=$(remote "$RD" "$(rack_ctl_read)" hosts 2>&1); rc=$?
check "hosts: exit 0, 3 hosts ($rc)" [ $rc = 0 ] && [ "$(echo "$out" | awk '$1 ~ /^[0-9]+$/' | wc -l)" -ge 1 ]
out=$(remote "$RD" "$(rack_ctl_read)" -o json status 2>&1); rc=$?
check "status: exit 0 ($rc)" [ $rc = 0 ]

step "a reader may not change the rack"
before=$(members)
hosts_before=$(rack_ctl 1 --linearizable hosts 2>/dev/null | sort)
[ -n "$before" ] || die "cannot list members"
out=$(remote "$RD" "$(rack_ctl_read)" members remove 3 2>&1); rc=$?
check "members remove: exit 1 (refused), not $rc" [ $rc = 1 ]
check "members remove: says permission denied and what to use ($out)" \
	grep -q "permission denied: members_remove changes the rack.*admin certificate" <<<"$out"
out=$(remote "$RD" "$(rack_ctl_read)" vm add --uuid 00000000-0000-0000-0000-0000000000aa \
	--name intr --host 1 --ip 10.9.9.9 --mac 02:00:00:00:09:09 2>&1); rc=$?
check "submit (vm add): exit 1, permission denied ($rc: $out)" \
	[ $rc = 1 ] && grep -q "permission denied: submit" <<<"$out"
out=$(remote "$RD" "$(rack_ctl_read)" transfer 2>&1); rc=$?
check "transfer: exit 1, permission denied ($rc)" [ $rc = 1 ] && grep -q "permission denied: transfer" <<<"$out"
sleep 0.5
check "members unchanged" [ "$(members)" = "$before" ]
check "hosts unchanged" [ "$(rack_ctl 1 --linearizable hosts 2>/dev/null | sort)" = "$hosts_before" ]
check "no VM was added" [ "$(rack_ctl 1 --linearizable vms 2>/dev/null | grep -c intr)" = 0 ]
check "each refusal logged with the client's address" \
	[ "$(grep -c "refused [a-z_]* from 127.0.0.1:[0-9]* on the read-only RPC listener" "$(rack_logfile 1)")" -ge 3 ]
check "counted: rtvnet_rpc_read_only_refused_total = 3" [ "$(metric rtvnet_rpc_read_only_refused_total)" = 3 ]

step "a reader's certificate cannot connect to rpc_addr"
n0=$(requests)
a0=$(rpc_refused)
out=$(remote "$AD" "$(rack_ctl_read)" status 2>&1); rc=$?
check "status on rpc_addr with a read certificate: refused, exit 3 ($rc: $out)" [ $rc = 3 ]
check "rtvctl says the TLS handshake failed" grep -q "TLS handshake failed" <<<"$out"

step "no certificate, another CA's, plaintext: refused before any message"
"$PKI_SH" -d "$RACK_DIR/other" init >/dev/null && "$PKI_SH" -d "$RACK_DIR/other" issue-client eve --admin >/dev/null ||
	die "rtv-pki.sh failed"
out=$(remote "$AD" "--ca $PKI/ca.crt --cert $RACK_DIR/other/admin-eve.crt --key $RACK_DIR/other/admin-eve.key" \
	members remove 3 2>&1); rc=$?
check "another CA's admin certificate: refused, exit 3 ($rc)" [ $rc = 3 ] && grep -q "TLS handshake failed" <<<"$out"
out=$(remote "tcp://127.0.0.1:$((RACK_PORT_BASE + 51))" "" members remove 3 2>&1); rc=$?
check "plaintext tcp:// to rpc_addr: refused, exit 3 ($rc)" [ $rc = 3 ]
# a TLS client with no certificate at all (openssl's, rtvctl always sends one)
echo | timeout 5 openssl s_client -connect "127.0.0.1:$((RACK_PORT_BASE + 51))" -tls1_2 \
	-CAfile "$PKI/ca.crt" >"$RACK_DIR/s_client.out" 2>&1
sc_rc=$?
# the agent drops it right after the client's (empty) Certificate: s_client
# fails, reading EOF or an alert where the server's Finished should be
check "a TLS client without a certificate is cut in the handshake (s_client $sc_rc)" \
	[ $sc_rc != 0 ] && grep -qiE "unexpected eof|alert" "$RACK_DIR/s_client.out"
sleep 0.5
check "no request was read: rtvnet_rpc_requests_total unchanged ($n0 -> $(requests))" [ "$(requests)" = "$n0" ]
check "members unchanged" [ "$(members)" = "$before" ]
four_counted() { [ $(($(rpc_refused) - a0)) -ge 4 ]; }
wait_for 5 four_counted	# nng's statistics follow its own threads
a1=$(rpc_refused)
check "the four handshake refusals counted on rpc_addr ($a0 -> $a1, every reason)" [ $((a1 - a0)) -ge 4 ]
end=$((SECONDS + 8))
until grep -q "RPC listener $AD refused [0-9]* connection(s) in the TLS handshake" "$(rack_logfile 1)" ||
	[ $SECONDS -gt $end ]; do sleep 0.5; done
check "the refusals are logged" grep -q "RPC listener $AD refused [0-9]* connection(s) in the TLS handshake" "$(rack_logfile 1)"
out=$("$RTVCTL" -e "$AD" status 2>&1); rc=$?
check "rtvctl: tls+tcp:// without --cert is a usage error ($rc)" [ $rc = 2 ] && grep -q -- "--cert" <<<"$out"

step "an admin may change the rack on rpc_addr"
out=$(remote "$AD" "$(rack_ctl_admin)" vm add --uuid 00000000-0000-0000-0000-0000000000ab \
	--name adm1 --host 1 --ip 10.9.9.10 --mac 02:00:00:00:09:0a 2>&1); rc=$?
check "vm add by the admin: exit 0 ($rc: $out)" [ $rc = 0 ]
check "the VM is there" [ "$(rack_ctl 1 --linearizable vms 2>/dev/null | grep -c adm1)" = 1 ]
out=$(remote "$AD" "$(rack_ctl_admin)" paths 2>&1); rc=$?
check "the admin reads too ($rc)" [ $rc = 0 ]
"$RTVCTL" pki -d "$PKI" issue-client ops --admin >/dev/null 2>&1 ||
	bad "rtvctl pki issue-client ops --admin failed"
out=$(remote "$AD" "--ca $PKI/ca.crt --cert $PKI/admin-ops.crt --key $PKI/admin-ops.key" status 2>&1); rc=$?
check "a certificate from rtvctl pki issue-client works ($rc)" [ $rc = 0 ]
check "raft refusal counters exported" [ -n "$(metric 'rtvnet_tls_refused_total{channel="raft",reason="unknown_ca"}')" ]

finish
