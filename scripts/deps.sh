#!/usr/bin/env bash
# Install everything infrakit needs to build, test and run on Debian 12.
#
# Idempotent: a second run checks and returns in well under a second.
# Uses sudo only when not root. Two parts:
#   1. Debian packages, through apt-get (only the missing ones).
#   2. LuaJIT, built from Debian's source package `luajit2` (OpenResty's
#      maintained LuaJIT 2.1 branch) with LUAJIT_ENABLE_CHECKHOOK, into
#      build/luajit. Debian's binary LuaJIT does not check hooks in
#      JIT-compiled code, so a runaway `while true do end` could not be
#      stopped by the watchdog (docs/architecture.md, "Watchdog"). The
#      older `luajit` source (2022 snapshot) miscompiles some loops with
#      CHECKHOOK on (busted hangs), hence luajit2. Takes ~25 s, once.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${IK_BUILD_DIR:-$top/build}

# clang builds the libFuzzer target (spec/fuzz, `make fuzz`, a step of
# `make test`). Its fuzzer and sanitizer runtimes (libclang_rt.fuzzer,
# .asan, .ubsan) are in libclang-rt-14-dev, only a Recommends of clang-14 in
# Debian 12: with --no-install-recommends it must be named.
# openssl (the CLI) makes the throwaway CA and certificates of the TLS
# tests (spec/functional/security_spec.lua, test_http_server).
# docker.io (dockerd 20.10) and busybox-static: the Docker driver's and the
# swarm flavor's tests start their own engines (never the system's) and
# import a busybox image into each (no registry is reachable); see
# docs/docker.md. Installing docker.io starts no service here.
# qemu-system-x86, qemu-utils (qemu-img: disk overlays) and cpio: the qemu
# driver's VMs (TCG where there is no KVM) and the initramfs the image step
# packs (docs/qemu.md); the kernel those VMs boot is fetched below, not
# installed.
# etcd-server and etcd-client: the etcd store's and the HA managers' tests
# start their own members on 127.0.0.1, never a system etcd.
# prometheus ships /usr/bin/promtool: spec/functional/metrics_spec.lua runs
# `promtool check metrics` on what /metrics serves (docs/observability.md).
# Installing it starts no service here (no init system in CI containers);
# on a machine with systemd, `systemctl disable --now prometheus` if unwanted.
# chromium and nodejs (+ npm, below): the dashboard's browser spec
# (spec/functional/dashboard_spec.lua) drives headless Chromium with
# playwright-core, installed below into build/ui-test.
packages=(
  build-essential pkg-config dpkg-dev xz-utils ca-certificates git
  libuv1-dev libcurl4-openssl-dev libssl-dev libjansson-dev libyaml-dev
  libhttp-parser-dev libcmocka-dev lua-cjson-dev lua-busted lua-check
  curl openssl clang libclang-rt-14-dev
  docker.io busybox-static
  qemu-system-x86 qemu-utils cpio
  etcd-server etcd-client
  prometheus
  chromium nodejs
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

missing=()
while read -r name status; do
  [ "$status" = "installed" ] || missing+=("$name")
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
# dpkg-query prints nothing for packages it has never heard of.
for p in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -q '^installed$' || {
    case " ${missing[*]-} " in *" $p "*) ;; *) missing+=("$p") ;; esac
  }
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm: Debian's package, unless the nodejs installed brings its own (as
# NodeSource's does; Debian's npm would conflict with it).
if ! command -v npm >/dev/null 2>&1; then
  echo "deps: installing npm"
  $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

# --- playwright-core for the dashboard's browser spec -------------------------
# The versions pinned by spec/ui/package-lock.json, into build/ui-test (never
# a global install; no browser download: the spec uses Debian's chromium).
# Done again only when the lock file changed. Offline, npm fails: that is a
# warning, and the browser spec reports PENDING.
ui_dir=$build/ui-test
if ! cmp -s "$top/spec/ui/package-lock.json" "$ui_dir/package-lock.json" ||
  [ ! -d "$ui_dir/node_modules/playwright-core" ]; then
  echo "deps: installing playwright-core (spec/ui/package-lock.json) into $ui_dir"
  mkdir -p "$ui_dir"
  cp "$top/spec/ui/package.json" "$top/spec/ui/package-lock.json" "$ui_dir/"
  if ! (cd "$ui_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null); then
    rm -f "$ui_dir/package-lock.json" # try again next time
    echo "deps: npm ci failed (offline?); the dashboard's browser spec will be PENDING" >&2
  fi
fi

# --- A kernel for the qemu VMs, unpacked, never installed -------------------
# The image step (lua/infrakit/image.lua, docs/qemu.md) boots Debian's own
# kernel. Installing a linux-image package would run its hooks against the
# host's /boot and bootloader (this machine kind has none, and a build must
# not touch the host's boot anyway), so the package is only downloaded with
# `apt-get download` and unpacked with `dpkg-deb -x` into build/kernel/.
# linux-image-amd64 is a metapackage: its one dependency,
# linux-image-6.1.0-N-amd64, holds the vmlinuz and the modules. The stamp
# names the package unpacked; a second run checks it and does nothing.
# build/kernel/vmlinuz and build/kernel/modules are stable links into it.
kernel_dir=$build/kernel
kernel_stamp=$kernel_dir/.package
if [ ! -f "$kernel_stamp" ] || [ ! -e "$kernel_dir/vmlinuz" ]; then
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
  if [ -z "$kpkg" ]; then
    $sudo apt-get update -qq
    kpkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
  fi
  [ -n "$kpkg" ] || { echo "deps: cannot tell which kernel linux-image-amd64 depends on" >&2; exit 1; }
  echo "deps: unpacking $kpkg (apt-get download + dpkg-deb -x, not installed) into $kernel_dir"
  kdl=$build/kernel-download
  rm -rf "$kdl" "$kernel_dir"
  mkdir -p "$kdl" "$kernel_dir"
  (cd "$kdl" && apt-get -o APT::Sandbox::User=root download -qq "$kpkg" >/dev/null)
  dpkg-deb -x "$kdl"/"$kpkg"_*.deb "$kernel_dir"
  kver=${kpkg#linux-image-}
  ln -s "boot/vmlinuz-$kver" "$kernel_dir/vmlinuz"
  ln -s "lib/modules/$kver" "$kernel_dir/modules"
  rm -rf "$kdl"
  echo "$kpkg" > "$kernel_stamp"
fi

# --- LuaJIT with hook checks in compiled code -------------------------------
lj_prefix=$build/luajit
lj_stamp=$lj_prefix/.luajit2-checkhook
if [ -f "$lj_stamp" ] && [ -f "$lj_prefix/lib/libluajit-5.1.a" ]; then
  exit 0
fi

echo "deps: building LuaJIT (Debian source package luajit2, LUAJIT_ENABLE_CHECKHOOK) into $lj_prefix"
src=$build/luajit-src
rm -rf "$src" "$lj_prefix"
mkdir -p "$src/apt/lists/partial" "$src/apt/sources"
# A private deb-src list: the machine's apt configuration is left untouched.
cat > "$src/apt/sources/debian-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat > "$src/apt/sources/debian-security-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$src/apt/sources"
          -o "Dir::State::Lists=$src/apt/lists" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" update -qq
(cd "$src" && apt-get "${apt_opts[@]}" source --download-only -qq luajit2 >/dev/null)
(cd "$src" && dpkg-source -x ./luajit2_*.dsc tree >/dev/null)

jobs=$(nproc 2>/dev/null || echo 2)
make -C "$src/tree" -j"$jobs" amalg BUILDMODE=static PREFIX="$lj_prefix" \
  XCFLAGS="-DLUAJIT_ENABLE_CHECKHOOK" >"$src/build.log" 2>&1 \
  || { tail -30 "$src/build.log"; echo "deps: LuaJIT build failed (log: $src/build.log)" >&2; exit 1; }
make -C "$src/tree" install PREFIX="$lj_prefix" >>"$src/build.log" 2>&1
# Static only: never pick up the shared library at link time.
rm -f "$lj_prefix"/lib/libluajit-5.1.so*
touch "$lj_stamp"
echo "deps: LuaJIT ready"
