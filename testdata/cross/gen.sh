#!/bin/bash
# Regenerates the fixtures in testdata/cross (see README.md): cross-compiles
# cross.c, libbig.c and libgap.c for each architecture, runs the program under
# qemu-user, and keeps what it captured (maps, truth) plus a stripped copy of
# every ELF file that the maps name (root/).
#
# Run as root on Debian 12 (amd64):  bash testdata/cross/gen.sh [ARCH...]
# ARCH: aarch64 s390x armhf ppc riscv64 mips sparc64 (default: all).
#
# Installing the cross compilers removes gcc-multilib (a conflict); it is
# reinstalled on exit, also on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# Fixed build directory: its paths end up in the captured maps and so in root/.
W=/tmp/elfmaps-cross
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(aarch64 s390x armhf ppc riscv64 mips sparc64)

reinstall_multilib() {
	echo "gen.sh: reinstalling gcc-multilib" >&2
	apt-get install -y gcc-multilib >/dev/null ||
		echo "gen.sh: WARNING: apt-get install -y gcc-multilib failed" >&2
}
trap reinstall_multilib EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update >/dev/null
apt-get install -y gcc-aarch64-linux-gnu gcc-s390x-linux-gnu gcc-arm-linux-gnueabihf \
	gcc-powerpc-linux-gnu gcc-riscv64-linux-gnu gcc-mips-linux-gnu gcc-sparc64-linux-gnu \
	qemu-user-static

# arch -> "triple qemu exe-flags"
declare -A conf=(
	[aarch64]="aarch64-linux-gnu aarch64 -fPIE -pie"
	[s390x]="s390x-linux-gnu s390x -fPIE -pie"
	[armhf]="arm-linux-gnueabihf arm -fno-pie -no-pie"
	[ppc]="powerpc-linux-gnu ppc -fPIE -pie"
	[riscv64]="riscv64-linux-gnu riscv64 -fPIE -pie"
	[mips]="mips-linux-gnu mips -fno-pie -no-pie"
	[sparc64]="sparc64-linux-gnu sparc64 -fPIE -pie"
)

phdrs() { # the program headers (and their offset) as readelf prints them
	"$1" -lW "$2" | sed -n -e '/^There are/p' -e '/^Program Headers:/,/^$/p'
}

rm -rf "$W"
for arch in "${arches[@]}"; do
	read -r triple qemu exeflags <<<"${conf[$arch]}"
	cc=$triple-gcc
	b=$W/$arch
	out=$here/$arch
	mkdir -p "$b"
	cp "$here"/cross.c "$here"/cross.h "$here"/lib.h "$here"/libbig.c "$here"/libgap.c "$b"/
	(
		cd "$b"
		flags=(-O0 -g0 -Wall -Wextra)
		lib=(-fPIC -shared -Wl,-z,relro,-z,now)
		set -x
		$cc "${flags[@]}" "${lib[@]}" -o libbig.so libbig.c
		$cc "${flags[@]}" "${lib[@]}" -Wl,-z,max-page-size=0x10000 -Wl,-z,separate-code -o libgap.so libgap.c
		# shellcheck disable=SC2086
		$cc "${flags[@]}" $exeflags -o cross cross.c
		qemu-$qemu-static -L /usr/$triple "$b"/cross "$b"/maps "$b"/truth "$b"/libbig.so "$b"/libgap.so
	)
	rm -rf "$out"
	mkdir -p "$out/root"
	cp "$b"/maps "$b"/truth "$out"/
	# Every ELF file named in the maps, at the same path under root/.
	awk '$6 ~ /^\// { print $6 }' "$b"/maps | sort -u | while read -r f; do
		[ -f "$f" ] && [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		mkdir -p "$out/root$(dirname "$f")"
		"$triple"-strip --strip-all -o "$out/root$f" "$f"
		if ! cmp -s <(phdrs "$triple"-readelf "$f") <(phdrs "$triple"-readelf "$out/root$f"); then
			echo "gen.sh: strip changed the program headers of $f" >&2
			exit 1
		fi
		echo "$arch: $f ($(stat -c %s "$f") -> $(stat -c %s "$out/root$f") bytes)"
	done
done

{
	echo "# dpkg -l of the tools that made these fixtures (written by gen.sh)"
	dpkg-query -W -f '${Package} ${Version} ${Architecture}\n' \
		gcc-aarch64-linux-gnu gcc-12-aarch64-linux-gnu gcc-s390x-linux-gnu gcc-12-s390x-linux-gnu \
		gcc-arm-linux-gnueabihf gcc-12-arm-linux-gnueabihf gcc-powerpc-linux-gnu gcc-12-powerpc-linux-gnu \
		gcc-riscv64-linux-gnu gcc-12-riscv64-linux-gnu gcc-mips-linux-gnu gcc-12-mips-linux-gnu \
		gcc-sparc64-linux-gnu gcc-12-sparc64-linux-gnu \
		binutils-aarch64-linux-gnu libc6-arm64-cross libc6-s390x-cross libc6-armhf-cross libc6-powerpc-cross \
		libc6-riscv64-cross libc6-mips-cross libc6-sparc64-cross \
		qemu-user-static
} >"$here"/versions
du -sh "$here"
