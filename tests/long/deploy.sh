#!/usr/bin/env bash
# deploy.sh — the whole deployment story on hosts that look real: each lab
# host a systemd-nspawn container (own root, systemd, sshd) in that host's
# network namespace, reached by ansible-playbook over SSH on the management
# network (tests/deploy/hosts.sh). Steps, each checked:
#   1. the Debian package is built from the tree (make deb) and holds the
#      programs, the unit and the man pages;
#   2. site.yml deploys a fresh 3-host rack (OVS, rtvd, Prometheus, Grafana
#      provisioning); a second run changes nothing; --check --diff predicts
#      nothing on the deployed rack, and predicts (without applying) an
#      inventory change;
#   3. the VMs are learnt, a reservation is made and its traffic passes;
#   4. add-host.yml brings h4 in as a standby and promotes it to voter;
#   5. upgrade.yml moves every host to a rebuilt package, one at a time,
#      while the reserved flow runs: every host ends on the new version and
#      in sync, each rtvdp was replaced in place (--takeover, same table
#      generation continued), the rtpath survives; the flow's misses and
#      losses are counted, per host window too, and must be 0 (the
#      dataplane outlives the agent; rtvdp's takeover keeps its sockets);
#   6. h3's power is cut (container SIGKILLed): the rack elects/keeps a
#      leader, takes a new reservation, carries traffic; h3 boots again and
#      catches up by itself (rtvd is enabled);
#   7. remove-host.yml takes h4 out.
# Figures (also with --bench, which only changes nothing but the name in
# messages): deploy.site_s.3_hosts, deploy.idempotent_changed,
# deploy.upgrade.misses (lost + late), deploy.upgrade.lost,
# deploy.upgrade_s_per_host.
# Needs root, OVS, systemd-container, mmdebstrap, ansible, jq (make deps);
# without root it skips (exit 77). RTV_LAB_PREFIX / RTV_LAB_DIR as for the lab.
set -u
OUT=$(mktemp -d /tmp/rtv-deploy.XXXXXX)
. "$(dirname "$0")/../deploy/lib.sh"
trap deploy_cleanup EXIT
trap 'exit 1' INT TERM
deploy_tools

step "1. the package, built from the tree"
DEB=$(deploy_deb) || exit 1
info "$DEB"
contents=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/sbin/rtvd ./usr/sbin/rtvdp ./usr/bin/rtvctl ./lib/systemd/system/rtvd.service \
	./lib/systemd/system/rtvdp.service ./usr/libexec/rtvnet/rtvdp-takeover ./usr/share/man/man8/rtvd.8.gz \
	./usr/share/man/man8/rtvdp.8.gz ./usr/share/man/man1/rtvctl.1.gz ./usr/share/doc/rtvnet/examples/rtvd.conf.example; do
	check "package holds $f" grep -qx "$f" <<<"$contents"
done
DEB2=$(deploy_deb 0.3.0+upgrade1) || exit 1
info "rebuilt for the upgrade: $DEB2"

step "2. site.yml on a fresh 3-host rack"
deploy_rack 4 1 2 3
deploy_inventory 3
check "site.yml deploys the rack" play site.yml
site_s=$play_s site_changed=$play_changed
info "site.yml: ${site_s} s, changed=$site_changed"
check "second site.yml run" play site.yml
idle_s=$play_s idem=$play_changed
check "second run changes nothing (changed=$idem)" [ "$idem" -eq 0 ]
check "--check --diff on the deployed rack" play site.yml --check --diff
check "--check --diff predicts no change (changed=$play_changed)" [ "$play_changed" -eq 0 ]
sed -i 's/rtvnet_hop_latency: 500us/rtvnet_hop_latency: 600us/' "$OUT/inventory.yml"
check "--check --diff with hop_latency 600us" play site.yml --check --diff
check "it predicts rtvd.conf's change on the 3 hosts" [ "$(awk '/^TASK \[/ { t = /Render rtvd.conf/ }
	t && /^changed: \[h[123]\]/ { n++ } END { print n + 0 }' "$play_log")" -eq 3 ]
check "and shows it as a diff of rtvd.conf" grep -q '^+hop_latency = 600us' "$play_log"
check "and applies nothing" on 1 grep -q '^hop_latency = 500us' /etc/rtvnet/rtvd.conf
sed -i 's/rtvnet_hop_latency: 600us/rtvnet_hop_latency: 500us/' "$OUT/inventory.yml"
for h in 1 2 3; do
	check "h$h: rtvdp and rtvd active, units verify" on "$h" 'systemctl is-active -q rtvdp && systemctl is-active -q rtvd &&
		systemd-analyze verify --man=no rtvdp.service rtvd.service'
	check "h$h: [tls] with the rack CA's certificate for host $h, no CA key on the host" on "$h" \
		"grep -qx 'cert = /etc/rtvnet/pki/host-$h.crt' /etc/rtvnet/rtvd.conf && [ ! -e /etc/rtvnet/pki/ca.key ]"
done
check "restarting rtvd leaves rtvdp alone (same pid)" on 3 \
	'p=$(systemctl show -p MainPID --value rtvdp); systemctl restart rtvd; [ "$(systemctl show -p MainPID --value rtvdp)" = "$p" ]' 
check "Prometheus on h1 scrapes the 3 rtvd" wait_for 60 bash -c \
	"$HOSTS_SH ssh 1 curl -s localhost:9090/api/v1/targets | jq -e '[.data.activeTargets[] | select(.health == \"up\")] | length == 3'"
check "Grafana provisioning on h1 (datasource at h1's Prometheus, 4 dashboards)" on 1 \
	'grep -q "url: http://10.1.0.1:9090" /etc/grafana/provisioning/datasources/rtvnet.yaml && [ $(ls /var/lib/grafana/dashboards/rtvnet/*.json | wc -l) = 4 ]'

step "3. VMs, a reservation, traffic"
for h in 1 2 3; do vm_ports "$h"; done
check "every host knows the 6 VMs" wait_for 20 bash -c \
	"for h in 1 2 3; do [ \$($HOSTS_SH ssh \$h rtvctl -o json vms | jq '.vms | length') = 6 ] || exit 1; done"
rtpath=$(on 1 rtvctl reserve --src 10.0.1.11 --dst 10.0.2.11 --proto udp --dport 18030 --type deadline \
	--rate 2M --burst 6000 --deadline 5ms --owner deploy-test 2>&1)
check "reservation through h1 (rtpath '$rtpath')" is_id "$rtpath"
flow_run base 20 "20 s before any upgrade"
base_miss=$((flow_lost + flow_late)) base_lost=$flow_lost

step "4. add-host.yml: h4 joins as a standby, promoted to voter"
"$HOSTS_SH" up 4 2>>"$OUT/hosts-up.log" || die "h4 did not boot"
deploy_inventory 4 4
check "add-host.yml --limit h4" play add-host.yml --limit h4
vm_ports 4
check "h4 is a voter, seen from h1" wait_for 20 bash -c \
	"$HOSTS_SH ssh 1 rtvctl -o json status | jq -e '.peers[] | select(.id == 4 and .voter)'"
check "h4 has applied the rtpath" wait_for 20 bash -c "$HOSTS_SH ssh 4 rtvctl -o json paths | jq -e '.paths | length == 1'"
check "site.yml afterwards changes nothing on 4 hosts" play site.yml
check "(changed=$play_changed)" [ "$play_changed" -eq 0 ]

step "5. upgrade.yml to $(basename "$DEB2") while flow A runs"
for h in 1 2 3 4; do dp_pid0[$h]=$(on "$h" systemctl show -p MainPID --value rtvdp); done
sed -i "s|rtvnet_deb: .*|rtvnet_deb: \"$DEB2\"|" "$OUT/inventory.yml"
t0_ns=$(date +%s%N)
flow_start up 600
check "upgrade.yml, one host at a time" play upgrade.yml
up_s=$play_s
t1_ns=$(date +%s%N)
sleep 2
kill -TERM "$flow_tx" 2>/dev/null	# its --duration was a bound: it ends here, with its FIN
flow_wait up
u_sent=$flow_sent u_recv=$flow_recv u_lost=$flow_lost u_late=$flow_late
for h in 1 2 3 4; do
	check "h$h runs 0.3.0+upgrade1, in sync" on "$h" \
		'[ "$(dpkg-query -W -f="\${Version}" rtvnet)" = 0.3.0+upgrade1 ] && systemctl is-active -q rtvd'
	st=$(on "$h" 'rtvdp -c /etc/rtvnet/rtvd.conf --status -o json')
	newpid=$(jq -r '.pid // 0' <<<"$st" 2>/dev/null) tk=$(jq -r '.takeovers // 0' <<<"$st" 2>/dev/null)
	mainpid=$(on "$h" systemctl show -p MainPID --value rtvdp)
	check "h$h: rtvdp replaced in place (pid ${dp_pid0[$h]} -> ${newpid:-?}, systemd follows ${mainpid:-?}, takeovers ${tk:-?})" \
		[ "${newpid:-0}" != "${dp_pid0[$h]}" -a "${newpid:-0}" = "${mainpid:-}" -a "${tk:-0}" -ge 1 ]
done
check "the rtpath survived" bash -c "$HOSTS_SH ssh 2 rtvctl -o json paths | jq -e '.paths[] | select(.id == $rtpath)'"
# each host's window: its rtvd stopping -> the next host's (or the end)
for h in 1 2 3 4; do
	w[$h]=$(on "$h" journalctl -u rtvd -u rtvdp -o short-unix --since "@$((t0_ns / 1000000000))" --no-pager |
		awk '/Reloading rtvdp|Stopping rtvd/ { printf "%.0f\n", $1 * 1e9; exit }')
done
info "flow A during the upgrade: sent ${u_sent:-?}, received ${u_recv:-?}, lost ${u_lost:-?}, late ${u_late:-?}"
up_miss=$(( ${u_lost:-0} + ${u_late:-0} ))
for h in 1 2 3 4; do
	from=${w[$h]:-$t0_ns} to=$t1_ns
	for k in 1 2 3 4; do [ -n "${w[$k]:-}" ] && [ "${w[$k]}" -gt "$from" ] && [ "${w[$k]}" -lt "$to" ] && to=${w[$k]}; done
	info "  misses while h$h was upgraded ($(( (to - from) / 1000000 )) ms): $(flow_misses up "$from" "$to")" \
		"$([ "$h" -le 2 ] && echo '(on the path: h1 sends, h2 receives)' || echo '(off the path)')"
done
check "flow A passes after the upgrade (last 2 s of it delivered)" [ "$(flow_misses up $((t1_ns - 1000000000)) "$t1_ns")" -eq 0 ]
check "no packet of flow A lost or late during the whole upgrade (sent $u_sent: lost $u_lost, late $u_late)" \
	[ "$up_miss" -eq 0 -a "${u_sent:-0}" -gt 0 ]

step "6. power cut: h3 killed"
"$HOSTS_SH" kill 3
newpath=$(on 1 rtvctl --timeout 10s reserve --src 10.0.1.12 --dst 10.0.2.12 --proto udp --dport 18031 \
	--type deadline --rate 1M --deadline 10ms --owner deploy-test 2>&1)
check "a reservation commits without h3 ('$newpath')" is_id "$newpath"
flow_run cut 5 "with h3 down"
"$HOSTS_SH" up 3 2>>"$OUT/hosts-up.log" || die "h3 did not boot again"
check "h3 boots, its rtvd starts and applies the new rtpath" wait_for 60 bash -c \
	"$HOSTS_SH ssh 3 rtvctl -o json paths | jq -e '.paths[] | select(.id == $newpath)'"

step "7. remove-host.yml takes h4 out"
check "remove-host.yml --limit h4" play remove-host.yml --limit h4
check "h4 is no member any more" bash -c "! $HOSTS_SH ssh 1 rtvctl -o json status | jq -e '.peers[] | select(.id == 4)'"
check "rtvd stopped on h4" bash -c "! $HOSTS_SH ssh 4 systemctl is-active -q rtvd"

step "figures (indicative: this machine's CPU is shared)"
figure deploy.site_s.3_hosts "$site_s" s lower "site.yml run again (nothing to change)" "$idle_s"
figure deploy.idempotent_changed "$idem" tasks lower "site.yml first run" "$site_changed"
figure deploy.upgrade.misses "$up_miss" packets lower "same flow, 20 s before the upgrade" "$base_miss"
figure deploy.upgrade.lost "${u_lost:-0}" packets lower "same flow, 20 s before the upgrade" "$base_lost"
figure deploy.upgrade_s_per_host "$(awk -v s="$up_s" 'BEGIN { printf "%.1f", s / 4 }')" s lower \
	"site.yml idle run per host" "$(awk -v s="$idle_s" 'BEGIN { printf "%.1f", s / 3 }')"

info "$((SECONDS - start_s)) s"
finish
