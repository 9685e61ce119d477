# guest.sh — a guest that runs a real Linux userland, for migrations under
# traffic; sourced (not run), after tests/lab/libvirt.sh (lg_xml is its
# lv_guest_xml with a kernel, a console and no NIC offloads).
#
#   lg_build                 kernel + initramfs into $LG_DIR (default
#                            /var/cache/rtvnet-guest), once; prints the dir
#   lg_xml NAME MAC CMDLINE [MEM_MIB]
#                            the domain XML (stdout): direct kernel boot of
#                            that kernel and initramfs, NIC on br-rtv
#
# The kernel is Debian's cloud kernel (linux-image-*-cloud-amd64: small, and
# boots under QEMU without KVM), the userland busybox-static, plus this
# tree's rtvgen with the libraries it links. Both packages are fetched with
# `apt-get download` and unpacked into the cache folder: nothing is
# installed on the machine. The guest's /init (below) reads its kernel
# command line:
#   rtv.ip=A.B.C.D/NN       eth0's address
#   rtv.send="ARGS"         runs `rtvgen send ARGS` once the NIC is up,
#                           its report on the serial console
# and then waits. The NIC offers no checksum or segmentation offload: OVS's
# userspace datapath reads the tap with AF_PACKET and does not complete a
# partial checksum, so a guest that offloads it would send UDP the receiver
# drops (a kernel datapath would complete it). The serial console is a file in the host's libvirt log
# folder (/var/log/libvirt/qemu/NAME.console), on whichever host the guest
# runs.

: "${LG_DIR:=/var/cache/rtvnet-guest}"
LG_ROOT=${LG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LG_SELF=$LG_ROOT/tests/lab/guest.sh
LG_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"

lg_init() {
	cat <<-'EOF'
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	for m in MODULES; do insmod /lib/modules/$m.ko; done
	ip=; send=
	eval "set -- $(cat /proc/cmdline)"
	for a in "$@"; do
		case $a in
		rtv.ip=*) ip=${a#rtv.ip=} ;;
		rtv.send=*) send=${a#rtv.send=} ;;
		esac
	done
	ip link set lo up
	ip link set eth0 up
	[ -n "$ip" ] && ip addr add "$ip" dev eth0
	echo "guest: eth0 $ip up"
	[ -n "$send" ] && /bin/rtvgen send $send --json
	echo "guest: rtvgen done"
	while :; do sleep 3600; done
	EOF
}

lg_build() {
	local d=$LG_DIR x kver libs l
	if [ -s "$d/vmlinuz" ] && [ -s "$d/initrd.gz" ] && [ "$d/initrd.gz" -nt "$LG_ROOT/build/bin/rtvgen" ] && [ "$d/initrd.gz" -nt "$LG_SELF" ]; then
		echo "$d"
		return 0
	fi
	[ -x "$LG_ROOT/build/bin/rtvgen" ] || { echo "guest.sh: build/bin/rtvgen is not built" >&2; return 1; }
	mkdir -p "$d" && chmod 755 "$d" || return 1
	x=$d/x
	if ! ls "$d"/linux-image-*-cloud-amd64_*.deb >/dev/null 2>&1 || ! ls "$d"/busybox-static_*.deb >/dev/null 2>&1; then
		# the cloud kernel metapackage names the current image package
		kver=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
		[ -n "$kver" ] || { echo "guest.sh: apt knows no linux-image-cloud-amd64 (apt-get update?)" >&2; return 1; }
		(cd "$d" && apt-get download "$kver" busybox-static >"$d/download.log" 2>&1) ||
			{ echo "guest.sh: apt-get download failed: $(tail -n 2 "$d/download.log")" >&2; return 1; }
	fi
	rm -rf "$x" "$d/root"
	mkdir -p "$x" "$d/root/bin" "$d/root/lib/modules" "$d/root/proc" "$d/root/sys" "$d/root/dev" || return 1
	for p in "$d"/linux-image-*-cloud-amd64_*.deb "$d"/busybox-static_*.deb; do dpkg-deb -x "$p" "$x" || return 1; done
	cp "$x"/boot/vmlinuz-* "$d/vmlinuz.new" && mv "$d/vmlinuz.new" "$d/vmlinuz" || return 1
	for m in $LG_MODULES; do
		cp "$(find "$x/lib/modules" -name "$m.ko" | head -n 1)" "$d/root/lib/modules/" ||
			{ echo "guest.sh: module $m missing from the kernel package" >&2; return 1; }
	done
	cp "$x/bin/busybox" "$d/root/bin/busybox" || return 1
	cp "$LG_ROOT/build/bin/rtvgen" "$d/root/bin/rtvgen" || return 1
	# rtvgen's shared libraries, at the paths the dynamic linker looks for
	libs=$(ldd "$LG_ROOT/build/bin/rtvgen" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }')
	for l in $libs; do
		mkdir -p "$d/root$(dirname "$l")" && cp -L "$l" "$d/root$l" || return 1
	done
	lg_init | sed "s/MODULES/$LG_MODULES/" >"$d/root/init" && chmod 755 "$d/root/init" || return 1
	# busybox's own cpio: no cpio package needed
	(cd "$d/root" && find . | "$d/root/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 >"$d/initrd.gz.new") &&
		mv "$d/initrd.gz.new" "$d/initrd.gz" || return 1
	rm -rf "$x"
	echo "$d"
}

lg_xml() {	# lg_xml NAME MAC CMDLINE [MEM_MIB]
	lv_guest_xml "$1" "$2" "${4:-128}" \
		"<kernel>$LG_DIR/vmlinuz</kernel><initrd>$LG_DIR/initrd.gz</initrd><cmdline>console=ttyS0 quiet panic=-1 $3</cmdline>" \
		"<driver><host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>" \
		"<serial type='file'><source path='/var/log/libvirt/qemu/$1.console'/></serial>"
}
