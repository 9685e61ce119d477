#!/usr/bin/env bash
# hosts.sh — the lab's hosts as machines Ansible can deploy to: one
# systemd-nspawn container per lab host, with its own root filesystem,
# systemd as PID 1 and sshd, inside that host's network namespace (so
# whatever runs in the container drives the host's links, VMs' veths and
# management port m0, as on a real hypervisor). Ansible reaches a host over
# SSH at its management address 10.1.0.H from the lab's mgmt namespace.
#
#   hosts.sh base             build the base root (cached; rebuilt when the package list changes)
#   hosts.sh up H...          clone, boot and wait for sshd on each lab host hH (idempotent)
#   hosts.sh kill H           power cut: SIGKILL to the container (its processes die with it)
#   hosts.sh down             stop every container of this lab, remove clones and cgroups
#   hosts.sh ssh H [CMD...]   a root shell / command on hH (from the mgmt namespace)
#   hosts.sh inventory-vars   prints the connection variables an inventory needs (YAML)
#
# The lab (tests/lab/lab.sh up) must be up first; use the same RTV_LAB_PREFIX
# and RTV_LAB_DIR. State (clones, console logs, pids) lives in
# $RTV_LAB_DIR/machines. The base root and the controller's SSH key live in
# $RTV_DEPLOY_CACHE (default /var/cache/rtvnet-test), built by `base` (the
# first run takes 1-3 minutes; mmdebstrap from this machine's apt sources).
#
# The containers have no route to a Debian mirror, so the base root already
# holds what the playbooks install with apt (Open vSwitch, Prometheus, the
# rtvnet package's run-time libraries): the roles still ask apt for them and
# find them present, as on a host built from an image.
#
# Why the unusual nspawn flags: where PID 1 is not systemd there is no system
# bus and no machined, so nspawn needs --register=no --keep-unit; with
# --keep-unit it nests the container under its own cgroup, so each nspawn is
# first moved into a cgroup of its own (else all containers would share one
# and their systemds would fight over it). Joining a namespace does not grant
# CAP_NET_ADMIN nor a writable /proc/sys/net; the namespace is the host's
# own, so the container gets both (and CAP_SYS_NICE for real-time priority).
# On a machine whose PID 1 is systemd, systemd-nspawn@.service does all this.
set -euo pipefail

P=${RTV_LAB_PREFIX:-rtv}
LAB_DIR=${RTV_LAB_DIR:-/run/rtvnet-lab}
CACHE=${RTV_DEPLOY_CACHE:-/var/cache/rtvnet-test}
SUITE=bookworm
PKGS=systemd,systemd-sysv,dbus,openssh-server,python3,python3-apt,iproute2,procps,ethtool,iputils-ping,openvswitch-switch,prometheus,libuv1,libnng1,libraft2,libmsgpackc2,libinih1,libjansson4,libvirt0,libxml2,libsystemd0,ca-certificates,curl,jq
BASE=$CACHE/base-$SUITE-$(echo "$PKGS" | md5sum | cut -c1-8)
KEY=$CACHE/id_ed25519
M=$LAB_DIR/machines
NICE=(nice -n 10)
SSH_OPTS=(-i "$KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o LogLevel=ERROR -o ConnectTimeout=2)
SELF=$(readlink -f "${BASH_SOURCE[0]}")

say() { [ -n "${LAB_QUIET:-}" ] || printf 'hosts: %s\n' "$*" >&2; }
die() { printf 'hosts: error: %s\n' "$*" >&2; exit 1; }
alive() { [ -s "$M/h$1.pid" ] && kill -0 "$(cat "$M/h$1.pid")" 2>/dev/null; }
mgmt() { ip netns exec "${P}mgmt" "$@"; }

cgroups() {	# the cgroup directories of host $1, one per hierarchy systemd uses
	[ -d /sys/fs/cgroup/systemd ] && echo "/sys/fs/cgroup/systemd/rtvnet-$P/h$1"
	if [ -d /sys/fs/cgroup/unified ]; then echo "/sys/fs/cgroup/unified/rtvnet-$P/h$1"
	elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo "/sys/fs/cgroup/rtvnet-$P/h$1"; fi
	return 0
}

cmd_base() {
	[ -x "$BASE/lib/systemd/systemd" ] && return 0
	local src t0=$SECONDS
	mkdir -p "$CACHE"
	for src in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list ""; do
		[ -z "$src" ] || [ -s "$src" ] && break
	done
	say "building the base root $BASE (once; 1-3 minutes)"
	rm -rf "$BASE.tmp"
	# no host keys, no machine-id in the base: each clone gets its own.
	# Services the packages enable are left enabled: a role decides.
	# shellcheck disable=SC2016
	"${NICE[@]}" mmdebstrap --quiet --variant=minbase --include="$PKGS" \
		--customize-hook='rm -f "$1"/etc/ssh/ssh_host_* "$1"/etc/hostname; : > "$1"/etc/machine-id' \
		--customize-hook='echo LANG=C.UTF-8 > "$1"/etc/default/locale' \
		--customize-hook='chroot "$1" systemctl -q enable systemd-networkd.service' \
		"$SUITE" "$BASE.tmp" ${src:+"$src"} || die "mmdebstrap failed"
	mv "$BASE.tmp" "$BASE"
	# roots of an older package list are not used any more
	find "$CACHE" -maxdepth 1 -name "base-*" ! -name '*.tmp' ! -path "$BASE" -exec rm -rf --one-file-system {} +
	say "base root built in $((SECONDS - t0)) s ($(du -sh "$BASE" | cut -f1))"
}

make_root() {	# overlay clone of the base for host $1, personalised
	local h=$1 d=$M/h$1 r=$M/h$1/root
	mkdir -p "$d/upper" "$d/work" "$r"
	mountpoint -q "$r" || mount -t overlay "overlay-$P-h$h" \
		-o "lowerdir=$BASE,upperdir=$d/upper,workdir=$d/work" "$r"
	echo "h$h" >"$r/etc/hostname"
	printf '127.0.0.1 localhost\n127.0.1.1 h%s\n' "$h" >"$r/etc/hosts"
	[ -s "$r/etc/machine-id" ] || systemd-id128 new >"$r/etc/machine-id"
	[ -s "$r/etc/ssh/ssh_host_ed25519_key" ] ||
		ssh-keygen -q -t ed25519 -N '' -C "root@h$h" -f "$r/etc/ssh/ssh_host_ed25519_key"
	install -d -m 700 "$r/root/.ssh"
	install -m 600 "$KEY.pub" "$r/root/.ssh/authorized_keys"
}

# (detached) runs nspawn in the host's own cgroups; starts it again when the
# container asks for a reboot (exit 133), as systemd-nspawn@.service would
cmd_supervise() {
	local h=$1 rc c pid
	shift
	for c in $(cgroups "$h"); do mkdir -p "$c"; done
	while :; do
		( for c in $(cgroups "$h"); do echo "$BASHPID" >"$c/cgroup.procs"; done; exec "$@" ) &
		pid=$!; echo "$pid" >"$M/h$h.pid"
		rc=0; wait "$pid" || rc=$?
		[ "$rc" = 133 ] && [ ! -e "$M/h$h.stop" ] || break
	done
	rm -f "$M/h$h.pid"
}

wait_ssh() {
	local h=$1
	for _ in $(seq 300); do
		mgmt ssh "${SSH_OPTS[@]}" "root@10.1.0.$h" true 2>/dev/null && return 0
		alive "$h" || die "h$h: the container exited; console log $M/h$h.log"
		sleep 0.2
	done
	die "h$h: no ssh after 60 s; console log $M/h$h.log"
}

cmd_up() {
	local h t0
	[ "$(id -u)" = 0 ] || die "needs root"
	command -v systemd-nspawn >/dev/null && command -v mmdebstrap >/dev/null ||
		die "needs systemd-container and mmdebstrap (make deps)"
	ip netns list | awk '{print $1}' | grep -qx "${P}mgmt" || die "no lab '$P' is up (tests/lab/lab.sh up)"
	mkdir -p "$M" "$CACHE"
	[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C rtvnet-test-controller -f "$KEY"
	cmd_base
	for h in "$@"; do
		[[ $h =~ ^[0-9]+$ ]] || die "up: host numbers, got '$h'"
		ip netns list | awk '{print $1}' | grep -qx "${P}h$h" || die "lab host h$h is not up"
		alive "$h" && continue
		make_root "$h"
		rm -f "$M/h$h.stop"
		t0=$SECONDS
		# /proc/sys/net writable: the namespace is the host's own (arp_ignore...)
		SYSTEMD_NSPAWN_API_VFS_WRITABLE=network \
			setsid bash "$SELF" _supervise "$h" systemd-nspawn --quiet --boot \
			--directory="$M/h$h/root" --machine="$P-h$h" --hostname="h$h" \
			--register=no --keep-unit --link-journal=no --console=passive \
			--network-namespace-path="/run/netns/${P}h$h" \
			--capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_NICE,CAP_IPC_LOCK \
			>>"$M/h$h.log" 2>&1 </dev/null &
		for _ in $(seq 50); do [ -s "$M/h$h.pid" ] && break; sleep 0.1; done
	done
	for h in "$@"; do wait_ssh "$h"; say "h$h: ssh root@10.1.0.$h works"; done
}

stop_one() {	# stop_one H SIGNAL
	local h=$1 sig=$2 pid
	alive "$h" || return 0
	pid=$(cat "$M/h$h.pid")
	touch "$M/h$h.stop"
	kill "-$sig" "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	for _ in $(seq 20); do [ -e "$M/h$h.pid" ] || break; sleep 0.1; done
	return 0
}

cmd_kill() {	# SIGKILL to nspawn takes its whole process tree (PID namespace) down
	stop_one "${1:?kill H}" KILL
}

cmd_down() {
	local d h c
	[ -d "$M" ] || return 0
	for d in "$M"/h*/; do
		[ -d "$d" ] || continue
		h=${d%/}; h=${h##*/h}
		stop_one "$h" TERM
		mountpoint -q "$d/root" && umount "$d/root"
		rm -rf --one-file-system "$d" "/run/systemd/nspawn/propagate/$P-h$h"
		for c in $(cgroups "$h"); do
			[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	done
	for c in /sys/fs/cgroup/systemd/rtvnet-$P /sys/fs/cgroup/unified/rtvnet-$P /sys/fs/cgroup/rtvnet-$P; do
		[ -d "$c" ] && rmdir "$c" 2>/dev/null
	done
	rm -rf "$M"
}

case ${1:-} in
base) cmd_base ;;
up) shift; cmd_up "$@" ;;
kill) shift; cmd_kill "$@" ;;
down) cmd_down ;;
ssh) shift; h=${1:?ssh H}; shift; mgmt ssh "${SSH_OPTS[@]}" "root@10.1.0.$h" "$@" ;;
inventory-vars)
	printf 'ansible_user: root\nansible_ssh_private_key_file: %s\n' "$KEY"
	echo "ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" ;;
_supervise) shift; cmd_supervise "$@" ;;
-h|--help|help) sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' ;;
*) sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
