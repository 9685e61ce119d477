# libvirt.sh — a real libvirtd per lab host, sourced (not run) after the rack
# is up (tests/lab/lab.sh up). Needs root; honours RTV_LAB_PREFIX and
# RTV_LAB_DIR like lab.sh.
#
#   lv_up H              libvirtd for host H (idempotent); waits for its socket
#   lv_down H            libvirtd and its QEMU processes off (lab.sh down does
#                        it too: they run in the host's network namespace)
#   lv_uri H             the local URI of H's libvirtd (a unix socket)
#   lv_peer_uri H        the URI another host's libvirtd uses for H
#                        (qemu+tcp on the management network, 10.1.0.H)
#   lv_guest_xml NAME MAC [MEM_MIB [OS_XML [NIC_XML [DEVICES_XML]]]]
#                        a diskless guest (domain XML on stdout) whose NIC is
#                        a tap on the host's OVS bridge br-rtv; the optional
#                        XML goes into <os>, <interface> and <devices>
#   lv_virsh H ARGS...   virsh against H's libvirtd
#
# How a host's libvirtd is isolated, so that several run on one machine:
#   - the host's network namespace (its taps land next to its br-rtv; the
#     guest's port is added to the host's own ovsdb-server);
#   - a mount namespace of its own in which /etc/libvirt, /run/libvirt and
#     /run/openvswitch are the host's folders under $RTV_LAB_DIR/hH/libvirt
#     (ovs-vsctl, which libvirt runs to add the port, finds the host's OVS
#     at its default socket), and so are /var/lib/libvirt, /var/cache/libvirt
#     and /var/log/libvirt. Bind mounts, not an overlay: QEMU outlives a
#     libvirtd restart in the old namespace, and its monitor socket must be
#     the same inode for the new libvirtd to reconnect;
#   - its own host_uuid (libvirt refuses a migration between two daemons
#     with the same one), its own migration port range, migration_host and
#     a TCP listener on the management network, where migration streams run
#     (in a real rack: the management or storage network, not the RT one).
# QEMU runs without KVM (TCG). The guest sits in SeaBIOS (no disk, no option
# ROM: iPXE would spin a core), which is all a live migration needs.
#
# The mount points are empty folders made on the machine if missing
# (/run/libvirt, /run/openvswitch, /var/lib/libvirt, /var/cache/libvirt,
# /var/log/libvirt); nothing is mounted outside the daemons' namespaces.
#
# The user libvirt-qemu: libvirtd wants it to exist even when qemu.conf says
# root; without the libvirt-daemon-system package it is added to a copy of
# /etc/passwd and /etc/group bind-mounted in the namespace only.

: "${LAB_DIR:=${RTV_LAB_DIR:-/run/rtvnet-lab}}"
: "${P:=${RTV_LAB_PREFIX:-rtv}}"
LV_TCP_PORT=16509

lv_dir() { echo "$LAB_DIR/h$1/libvirt"; }
lv_uri() { echo "qemu+unix:///system?socket=$(lv_dir "$1")/run/libvirt-sock"; }
lv_peer_uri() { echo "qemu+tcp://10.1.0.$1:$LV_TCP_PORT/system"; }
lv_virsh() { local h=$1; shift; virsh -q -c "$(lv_uri "$h")" "$@"; }

lv_conf() {	# lv_conf H DIR: libvirtd.conf and qemu.conf
	local h=$1 d=$2
	cat >"$d/etc/libvirtd.conf" <<-EOC
	# written by tests/lab/libvirt.sh
	host_uuid = "00000000-0000-4000-8000-$(printf %012x "$h")"
	auth_unix_ro = "none"
	auth_unix_rw = "none"
	unix_sock_rw_perms = "0770"
	listen_tls = 0
	listen_tcp = 1
	listen_addr = "10.1.0.$h"
	tcp_port = "$LV_TCP_PORT"
	auth_tcp = "none"
	log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
	EOC
	cat >"$d/etc/qemu.conf" <<-EOC
	user = "root"
	group = "root"
	dynamic_ownership = 0
	remember_owner = 0
	security_driver = "none"
	cgroup_controllers = [ ]
	namespaces = [ ]
	stdio_handler = "file"
	migration_host = "10.1.0.$h"
	migration_port_min = 49152
	migration_port_max = 49215
	EOC
}

lv_up() {
	local h=$1 d nsn fakepw="" i
	d=$(lv_dir "$h") nsn=/run/netns/${P}h$h
	[ -e "$nsn" ] || { echo "libvirt.sh: host h$h is not up (lab.sh up)" >&2; return 1; }
	if [ -S "$d/run/libvirt-sock" ] && lab_lv_pid "$h" >/dev/null; then return 0; fi
	mkdir -p "$d/etc/qemu" "$d/run" "$d/lib/qemu" "$d/cache/qemu" "$d/log/qemu" /run/libvirt /run/openvswitch \
		/var/lib/libvirt /var/cache/libvirt /var/log/libvirt || return 1
	lv_conf "$h" "$d" || return 1
	if ! getent passwd libvirt-qemu >/dev/null; then
		cp /etc/passwd "$d/passwd" && cp /etc/group "$d/group" || return 1
		echo 'libvirt-qemu:x:64055:64055::/var/lib/libvirt:/usr/sbin/nologin' >>"$d/passwd"
		echo 'libvirt-qemu:x:64055:' >>"$d/group"
		getent group kvm >/dev/null || echo 'kvm:x:64054:' >>"$d/group"
		fakepw="mount --bind $d/passwd /etc/passwd; mount --bind $d/group /etc/group;"
	fi
	# --daemon: libvirtd forks and writes its pid; the mount namespace
	# lives as long as it (and its QEMU children) do
	nsenter --net="$nsn" unshare -m --propagation private /bin/sh -ec "
		$fakepw
		mount --bind $d/etc /etc/libvirt
		mount --bind $d/run /run/libvirt
		mount --bind $LAB_DIR/h$h/ovs /run/openvswitch
		mount --bind $d/lib /var/lib/libvirt
		mount --bind $d/cache /var/cache/libvirt
		mount --bind $d/log /var/log/libvirt
		exec /usr/sbin/libvirtd --daemon --listen --pid-file $LAB_DIR/h$h/libvirtd.pid" \
		2>>"$d/start.log" || { echo "libvirt.sh: libvirtd h$h did not start: $(tail -n 3 "$d/start.log")" >&2; return 1; }
	for i in $(seq 1 100); do [ -S "$d/run/libvirt-sock" ] && return 0; sleep 0.1; done
	echo "libvirt.sh: libvirtd h$h has no socket after 10 s; see $d/log/libvirtd.log" >&2
	return 1
}

lab_lv_pid() {	# the pid of H's libvirtd if it runs
	local pid
	pid=$(cat "$LAB_DIR/h$1/libvirtd.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && [ -e "/proc/$pid" ] &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$LAB_DIR/" && echo "$pid"
}

lv_down() {
	local h=$1 d f pid pids=()
	d=$(lv_dir "$h")
	# QEMU outlives libvirtd: stop both; the pidfiles are in the host's
	# folder (its /run/libvirt), readable from here
	for f in "$d"/run/qemu/*.pid; do
		pid=$(cat "$f" 2>/dev/null) && [[ $pid =~ ^[0-9]+$ ]] && pids+=("$pid")
	done
	pid=$(lab_lv_pid "$h") && pids+=("$pid")
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	for _ in $(seq 1 30); do
		f=0
		for pid in "${pids[@]}"; do [ -e "/proc/$pid" ] && f=1; done
		[ $f -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
	rm -f "$LAB_DIR/h$h/libvirtd.pid"
	return 0
}

lv_guest_xml() {	# lv_guest_xml NAME MAC [MEM_MIB [OS_XML [NIC_XML [DEVICES_XML]]]]
	cat <<-EOF
	<domain type='qemu'>
	  <name>$1</name>
	  <memory unit='MiB'>${3:-32}</memory>
	  <vcpu>1</vcpu>
	  <os><type arch='x86_64' machine='pc'>hvm</type>${4:-}</os>
	  <features><tcg><tb-cache unit='MiB'>16</tb-cache></tcg></features>
	  <devices>
	    <emulator>/usr/bin/qemu-system-x86_64</emulator>
	    <interface type='bridge'>
	      <source bridge='br-rtv'/>
	      <virtualport type='openvswitch'/>
	      <mac address='$2'/>
	      <model type='virtio'/>${5:-}
	      <rom enabled='no'/>
	    </interface>${6:-}
	    <controller type='usb' model='none'/>
	    <memballoon model='none'/>
	  </devices>
	</domain>
	EOF
}
