#!/usr/bin/env bash
# Installs the Debian 12 packages rtvnet needs to build, test and run the demo.
# Idempotent and quiet when everything is present; clear when apt fails.
set -u

PKGS=(
	build-essential pkg-config clang llvm libclang-rt-14-dev
	libraft-dev libuv1-dev libnng-dev libmsgpack-dev libinih-dev libjansson-dev
	libcmocka-dev libmbedtls-dev openssl
	iproute2 procps gnuplot-nox iputils-ping ethtool iperf3 tcpdump jq curl prometheus
	openvswitch-switch
	debhelper help2man systemd-container mmdebstrap ansible ansible-lint
	libvirt-dev libxml2-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
)

missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "rtvnet: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "rtvnet: need root to install packages (run as root, or install them yourself:" >&2
	echo "        apt-get install ${missing[*]})" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/rtvnet-apt.XXXXXX)
if ! apt-get update >"$log" 2>&1; then
	echo "rtvnet: 'apt-get update' failed; its output:" >&2
	tail -n 20 "$log" >&2
	exit 1
fi
if ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
	echo "rtvnet: 'apt-get install' failed for: ${missing[*]}; its output:" >&2
	tail -n 30 "$log" >&2
	echo "rtvnet: full log in $log" >&2
	exit 1
fi
rm -f "$log"
echo "rtvnet: packages installed."
