#!/usr/bin/env bash
# Print the Debian packages (comma list) that provide the shared libraries the ELF files under ROOT
# need and do not bring themselves (wheels bundle most of theirs next to them).
#   packaging/deb/shlibdeps.sh ROOT
# dpkg-shlibdeps wants a source package and per-library symbol files; this vendored tree has neither,
# so the mapping is done from each file's DT_NEEDED through ldconfig and dpkg -S.
set -euo pipefail
ROOT=$1
declare -A bundled=() needed=()
mapfile -d '' elves < <(find "$ROOT" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -print0)
for f in "${elves[@]}"; do
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
  bundled[$(basename "$f")]=1
  while read -r lib; do needed[$lib]=1; done < <(objdump -p "$f" 2>/dev/null | awk '$1=="NEEDED"{print $2}')
done
declare -A pkgs=()
for lib in "${!needed[@]}"; do
  case "$lib" in libcuda.so*|libnvidia-*|libcudart.so*|libnvrtc*|libcublas*) continue ;; esac  # the driver / CUDA wheels
  path=$(ldconfig -p | awk -v l="$lib" '$1==l && $0 ~ /x86-64|x86_64|aarch64|AArch64/ {print $NF}' | head -1 || true)
  # A library some wheel bundles is not proof that every file finds it (torch's libgomp.so.1 sits in torch/lib,
  # outside llama.cpp's RPATH): when the system has it too, its package is a dependency.
  if [ -z "$path" ]; then
    [ -n "${bundled[$lib]:-}" ] || echo "shlibdeps: $lib is needed but found nowhere" >&2
    continue
  fi
  pkg=""
  for candidate in "$path" "$(readlink -f "$path")" "/usr$path" "${path#/usr}"; do
    pkg=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  if [ -z "$pkg" ]; then echo "shlibdeps: no package owns $path ($lib)" >&2; continue; fi
  pkgs[$pkg]=1
done
printf '%s\n' "${!pkgs[@]}" | sort | paste -sd, - | sed 's/,/, /g'
