#!/usr/bin/env bash
# raft_tls.sh — three real rtvd processes whose Raft runs over mutual TLS
# ([tls] ca/cert/key from pki/rtv-pki.sh, RACK_TLS=1), and a fourth rtvd
# that must not get in:
#   - the rack elects and every host registers (commits over TLS);
#   - an rtvd with another CA's certificate (trusting ours), bootstrapping a
#     cluster with the rack's nodes: each node logs a refusal naming its
#     certificate, the rack's hosts, members and rtpaths are unchanged;
#   - an rtvd whose own certificate expired refuses to start, saying when;
#   - an rtvd whose certificate names another host refuses to start.
# (The RPC is still plaintext: docs/security.md says what remains.)
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/rack.sh"
need_cmd jq openssl
on_fail() { rack_tail_logs; }
PKI=$T_ROOT/pki/rtv-pki.sh

count() { rack_ctl "$1" --linearizable "$2" 2>/dev/null | awk '$1 ~ /^[0-9]+$/' | wc -l; }

step "3 rtvd with Raft over mutual TLS"
export RACK_TLS=1
rack_init 3 || exit 1
rack_start_all
leader=$(rack_wait_leader 20) || die "no leader within 20 s"
ok "leader is node $leader"
for i in 1 2 3; do
	grep -q "Raft over mutual TLS as rtvd-host-$i" "$(rack_logfile "$i")" ||
		bad "node $i does not say it runs Raft over TLS"
done
end=$((SECONDS + 10))
while [ $SECONDS -lt $end ] && [ "$(count "$leader" hosts)" != 3 ]; do sleep 0.2; done
check "every host registered over TLS" [ "$(count "$leader" hosts)" = 3 ]
hosts_before=$(rack_ctl "$leader" --linearizable hosts 2>/dev/null | sort)
members_before=$(rack_ctl "$leader" -o json status 2>/dev/null | jq -r '.peers[].id' | sort)
[ "$(echo "$hosts_before" | grep -c .)" -ge 3 ] || die "cannot list hosts: $hosts_before"
[ "$(echo "$members_before" | wc -w)" = 3 ] || die "cannot list members: $members_before"

step "an rtvd with another CA's certificate cannot join"
"$PKI" -d "$RACK_DIR/other" init >/dev/null && "$PKI" -d "$RACK_DIR/other" issue 4 >/dev/null ||
	die "rtv-pki.sh failed"
cat "$RACK_DIR/pki/ca.crt" >>"$RACK_DIR/other/ca.crt"	# it trusts us; we must refuse it
RACK_N=4 rack_write_conf 4
sed -i "s|^ca = .*|ca = $RACK_DIR/other/ca.crt|; s|^cert = .*|cert = $RACK_DIR/other/host-4.crt|;
	s|^key = .*|key = $RACK_DIR/other/host-4.key|" "$(rack_conf 4)"
rack_start 4
end=$((SECONDS + 10)) refused=0
while [ $SECONDS -lt $end ]; do
	refused=0
	for i in 1 2 3; do
		grep -q "raft tls: refused incoming peer 127.0.0.1:.*CN=rtvd-host-4: not issued by the rack CA" \
			"$(rack_logfile "$i")" && refused=$((refused + 1))
	done
	[ $refused = 3 ] && break
	sleep 0.2
done
check "each of the 3 nodes logged its refusal of the intruder ($refused/3)" [ $refused = 3 ]
sleep 1
check "hosts unchanged" [ "$(rack_ctl "$leader" --linearizable hosts 2>/dev/null | sort)" = "$hosts_before" ]
check "members unchanged" [ "$(rack_ctl "$leader" -o json status 2>/dev/null | jq -r '.peers[].id' | sort)" = "$members_before" ]
new_leader=$(rack_wait_leader 5) || bad "the rack lost its leader"
rack_stop 4

step "an rtvd with an expired certificate refuses to start"
"$PKI" -d "$RACK_DIR/pki" issue 5 --days -1 >/dev/null || die "rtv-pki.sh failed"
RACK_N=5 rack_write_conf 5
timeout 10 "$RTVD" -c "$(rack_conf 5)" >"$RACK_DIR/n5.out" 2>&1
rc=$?
check "exit status is an error ($rc)" [ $rc -ne 0 ] && [ $rc -ne 124 ]
if grep -q "expired on .* UTC; issue a new one" "$RACK_DIR/n5.out"; then
	ok "it says: $(grep -o 'certificate .*expired on [^;]*' "$RACK_DIR/n5.out" | head -n1)"
else
	bad "no clear expiry message: $(tail -n 3 "$RACK_DIR/n5.out")"
fi

step "an rtvd holding another host's certificate refuses to start"
sed -i "s|host-5\.|host-1.|g" "$(rack_conf 5)"
timeout 10 "$RTVD" -c "$(rack_conf 5)" >"$RACK_DIR/n5.out" 2>&1
rc=$?
check "exit status is an error ($rc)" [ $rc -ne 0 ] && [ $rc -ne 124 ]
check "it names both" grep -q "names rtvd-host-1, but this node is rtvd-host-5" "$RACK_DIR/n5.out"

finish
