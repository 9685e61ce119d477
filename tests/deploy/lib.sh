# lib.sh — what the deployment tests share (tests/system/deploy.sh,
# tests/long/deploy.sh). Sourced, not run. The script sets OUT (a scratch
# folder) first.
#
#   deploy_tools              "skipped" (exit 77) without root; a missing
#                             tool (OVS, nspawn, mmdebstrap, ansible, jq) fails
#   deploy_deb [VERSION]      the Debian package built from the tree (make deb)
#                             into $OUT/build/deb; prints its path
#   deploy_rack N H...        the lab (N hosts, 2 VMs each, 20 Mbit/s) with its
#                             own OVS daemons stopped, and a container booted on
#                             each host H (hosts.sh up H... boots more later);
#                             the playbooks install OVS in them
#   deploy_inventory N [JOINING...]
#                             writes $OUT/inventory.yml: hosts 1..N; the first
#                             three vote, the JOINING ones have rtvnet_join
#   play PLAYBOOK [ARGS...]   ansible-playbook from the lab's management
#                             network, log in $OUT/PLAYBOOK-K.log; sets
#                             play_s (wall seconds) and play_changed (sum of
#                             changed= over the recap); fails if it failed
#   vm_ports H                registers host H's VMs in its OVS (what libvirt
#                             does when it starts a VM)
#   on H CMD...               a command on host hH over SSH
#
# Results go through tests/lib/common.sh (step, ok, bad, check, die,
# finish). Everything is removed at exit (deploy_cleanup), also after a
# failure.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
HOSTS_SH=$ROOT/tests/deploy/hosts.sh
ANSIBLE_DIR=$ROOT/deploy/ansible
GEN=${RTVGEN:-$ROOT/build/bin/rtvgen}
export RTV_LAB_PREFIX=${RTV_LAB_PREFIX:-rtvd$$} RTV_LAB_DIR=${RTV_LAB_DIR:-/run/rtvnet-lab-dep$$} LAB_QUIET=1
LAB_RATE=20mbit
plays=0 pids=()
start_s=$SECONDS
. "$ROOT/tests/lib/common.sh"	# step ok bad check die finish need_* wait_for

info() { printf '   %s\n' "$*"; }
# on H CMD...: one argument is a shell command line for the host; several are
# one command and its arguments, quoted for the remote shell
on() {
	local h=$1; shift
	if [ $# -eq 1 ]; then "$HOSTS_SH" ssh "$h" "$1"; else "$HOSTS_SH" ssh "$h" "$(printf '%q ' "$@")"; fi
}
is_id() { [[ $1 =~ ^[0-9]+$ ]]; }

deploy_cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	"$HOSTS_SH" down >/dev/null 2>&1
	"$LAB" down >/dev/null 2>&1
	[ -n "${KEEP_OUT:-}" ] || rm -rf "$OUT"
}

deploy_tools() {	# docs/testing.md: only a missing root skips; a missing tool fails
	need_root
	need_cmd ovs-vswitchd systemd-nspawn mmdebstrap ansible-playbook ansible-lint dpkg-buildpackage help2man jq
	need_exec "$GEN"
}

deploy_deb() {	# deploy_deb [VERSION]
	make -s --no-print-directory -C "$ROOT" deb BUILD="$OUT/build" ${1:+DEB_VERSION=$1} \
		>"$OUT/deb-${1:-tree}.log" 2>&1 || { cat "$OUT/deb-${1:-tree}.log" >&2; die "make deb failed"; }
	ls -t "$OUT"/build/deb/rtvnet_*"${1:-}"_*.deb | head -1
}

deploy_rack() {	# deploy_rack N H...
	local n=$1 h f
	shift
	"$LAB" up -n "$n" -v 2 -r "$LAB_RATE" >"$OUT/lab-up.log" 2>&1 || die "lab.sh up failed: $(tail -3 "$OUT/lab-up.log")"
	# the containers run their own Open vSwitch (installed by the playbooks)
	# in the same namespaces: the lab's must go. Its veths (VM ports, up0,
	# m0) and shaping stay; the bridge and its address go with ovs-vswitchd.
	for h in $(seq 1 "$n"); do
		for f in "$RTV_LAB_DIR/h$h/ovs/vsd.pid" "$RTV_LAB_DIR/h$h/ovs/ovsdb.pid"; do
			[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
			rm -f "$f"
		done
	done
	sleep 0.5
	"$HOSTS_SH" up "$@" 2>"$OUT/hosts-up.log" || die "containers did not boot: $(tail -3 "$OUT/hosts-up.log")"
}

deploy_host_vars() {	# deploy_host_vars H [join]
	local h=$1
	printf '        h%s: { ansible_host: 10.1.0.%s, rtvnet_id: %s, rtvnet_addr: 10.0.%s.1' "$h" "$h" "$h" "$h"
	if [ "${2:-}" = join ]; then printf ', rtvnet_join: true, rtvnet_voter: true }\n'
	else printf ', rtvnet_voter: %s }\n' "$([ "$h" -le 3 ] && echo true || echo false)"; fi
}

deploy_inventory() {	# deploy_inventory N [JOINING...]
	local n=$1 h j
	shift
	{
		echo "# written by $T_NAME: the lab's hosts as containers, reached on the management network"
		echo "all:"
		echo "  vars:"
		"$HOSTS_SH" inventory-vars | sed 's/^/    /'
		echo "    rtvnet_deb: \"$DEB\""
		# the rack CA stays on the controller, in this test's scratch folder
		echo "    rtvnet_pki_dir: \"$OUT/pki\""
		echo "  children:"
		echo "    rtvnet_hosts:"
		echo "      vars:"
		echo "        rtvnet_rack: lab"
		echo "        rtvnet_uplink_dev: up0"
		echo "        rtvnet_uplink_capacity: ${LAB_RATE%bit}"
		# a userspace OVS at each end: what the lab declares (tests/lab/README.md)
		echo "        rtvnet_hop_latency: 500us"
		echo "        rtvnet_prefix_len: 16"
		echo "        rtvnet_rt_priority: 10"
		echo "        openvswitch_datapath_type: netdev"
		echo "        openvswitch_rt_priority: 5"
		echo "      hosts:"
		for h in $(seq 1 "$n"); do
			j=
			for x in "$@"; do [ "$x" = "$h" ] && j=join; done
			deploy_host_vars "$h" $j
		done
		echo "    monitoring:"
		echo "      hosts:"
		echo "        h1:"
		echo "      vars:"
		echo "        grafana_prometheus_url: http://10.1.0.1:9090"
	} >"$OUT/inventory.yml"
}

play() {	# play PLAYBOOK [ARGS...]
	local pb=$1 log t0 rc
	shift
	plays=$((plays + 1))
	log=$OUT/${pb%.yml}-$plays.log
	t0=$(date +%s.%N)
	ip netns exec "${RTV_LAB_PREFIX}mgmt" env ANSIBLE_CONFIG="$ANSIBLE_DIR/ansible.cfg" \
		ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_HOST_KEY_CHECKING=False \
		ANSIBLE_LOCAL_TEMP="$OUT/ansible-tmp" ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks \
		ansible-playbook -i "$OUT/inventory.yml" "$ANSIBLE_DIR/$pb" "$@" >"$log" 2>&1
	rc=$?
	play_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	play_changed=$(sed -n 's/.* changed=\([0-9]*\) .*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
	play_log=$log
	if [ $rc -ne 0 ]; then
		info "$pb $* failed (exit $rc) after ${play_s} s; the end of $log:"
		grep -E 'fatal:|FAILED|ERROR' "$log" | head -8 | sed 's/^/     | /'
		tail -n 12 "$log" | sed 's/^/     | /'
		return 1
	fi
}

vm_ports() {	# vm_ports H: the lab's VMs h<H>v1, h<H>v2 on br-rtv, with what libvirt sets
	local h=$1 v mac ip cmd=""
	for v in 1 2; do
		mac=02:00:00:00:$(printf %02x "$h"):$(printf %02x "$v") ip=10.0.$h.$((10 + v))
		cmd+=" -- --may-exist add-port br-rtv vm$v -- set interface vm$v external_ids:vm-id=${RTV_LAB_PREFIX}h${h}v$v"
		cmd+=" external_ids:attached-mac=$mac external_ids:ip-address=$ip"
	done
	on "$h" ovs-vsctl $cmd
}

# status_json H: rtvctl status of host H's rtvd, as JSON
status_json() { on "$1" rtvctl --timeout 2s -o json status 2>/dev/null; }
leader_of() { status_json "$1" | jq -e '.leader | select(. > 0)'; }

# flow_start NAME SECONDS: flow A's receiver (h2v1) and sender (h1v1), 2 Mbit/s
# of 1502 B frames with a 5 ms deadline, in the background (the sender's pid
# in flow_tx: SIGTERM ends it early, with its FIN); flow_wait NAME waits and
# sets flow_sent, flow_recv, flow_lost, flow_late
flow_start() {
	local name=$1 secs=$2
	"$LAB" exec h2v1 "$GEN" recv --port 18030 --json --duration "$((secs + 3))s" --csv "$OUT/$name.csv" \
		>"$OUT/$name.rx.json" 2>"$OUT/$name.rx.err" &
	pids+=($!)
	# the receiver must listen before the first frame. With a fixed 0.3 s
	# pause, on a loaded machine, the first 11 (base) and 127 (upgrade)
	# frames of a run were lost (seq 0 on, none later), most likely at the
	# receiver's port before it listened: the sender counted a few send
	# errors, which is what (rate-limited) port-unreachable replies cause
	wait_for 20 bash -c "ip netns exec '${RTV_LAB_PREFIX}h2v1' ss -Hlun 'sport = :18030' | grep -q ." ||
		info "flow $name: the receiver does not listen after 20 s"
	ip netns exec "${RTV_LAB_PREFIX}h1v1" ping -c 1 -W 1 -q 10.0.2.11 >/dev/null 2>&1	# neighbour entry
	ip netns exec "${RTV_LAB_PREFIX}h1v1" "$GEN" send --flow A --dst 10.0.2.11:18030 --rate 2M --size 1502 \
		--deadline 5ms --duration "${secs}s" --json >"$OUT/$name.tx.json" 2>"$OUT/$name.tx.err" &
	flow_tx=$!
	pids+=($!)
}
flow_wait() {	# not in $(...): the pids are this shell's children
	local p
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pids=()
	flow_sent=$(jq -r '.sent // 0' "$OUT/$1.tx.json" 2>/dev/null)
	read -r flow_recv flow_lost flow_late < <(jq -r '"\(.received) \(.lost) \(.misses)"' "$OUT/$1.rx.json" 2>/dev/null)
	: "${flow_sent:=0}" "${flow_recv:=0}" "${flow_lost:=0}" "${flow_late:=0}"
}
# flow_run NAME SECONDS WHEN: flow A for SECONDS, printed; checks it passes
flow_run() {
	flow_start "$1" "$2"
	flow_wait "$1"
	info "flow A, $3: sent $flow_sent, received $flow_recv, lost $flow_lost, late $flow_late"
	check "its traffic passes ($3)" [ "$flow_recv" -gt 0 ]
}

# flow_misses NAME FROM_NS TO_NS: packets of flow NAME sent in [FROM, TO)
# that were lost or late. A lost packet's send time is its sequence number
# times the sending period after the first one's.
flow_misses() {
	local sent period
	sent=$(jq -r .sent "$OUT/$1.tx.json")
	period=$(awk 'BEGIN { printf "%.0f", 1502 * 8 / 2e6 * 1e9 }')
	awk -F, -v sent="$sent" -v period="$period" -v a="$2" -v b="$3" '
		NR > 1 { got[$1] = $2; late[$1] = $5; o = $2 - $1 * period; if (!n++ || o < t0) t0 = o }
		END { for (s = 0; s < sent; s++) {
			t = (s in got) ? got[s] : t0 + s * period
			if (t >= a && t < b && (!(s in got) || late[s])) m++ }
		      print m + 0 }' "$OUT/$1.csv"
}

# figure NAME VALUE UNIT BETTER BASELINE BASELINE_VALUE: one benchmark figure,
# printed and written as bench/report.h does (JSON line to $OUT/figures.jsonl
# and $RTV_BENCH_OUT, a row to $RTV_BENCH_TABLE when set)
figure() {
	local line
	printf '   figure %-30s %10s %-8s (%s is better)  baseline %s: %s\n' "$1" "$2" "$3" "$4" "$5" "$6"
	line=$(printf '{"name": "%s", "value": %s, "unit": "%s", "better": "%s", "baseline": "%s", "baseline_value": %s}' \
		"$1" "$2" "$3" "$4" "$5" "$6")
	echo "$line" >>"$OUT/figures.jsonl"
	[ -n "${RTV_BENCH_OUT:-}" ] && echo "$line" >>"$RTV_BENCH_OUT"
	[ -n "${RTV_BENCH_TABLE:-}" ] && printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RTV_BENCH_TABLE"
	return 0
}
