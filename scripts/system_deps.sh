#!/usr/bin/env bash
# Debian packages the fast (EGL) rasterizer needs, and with --test the headless browser the
# report test drives (chromium + chromedriver). Installed only when missing and only when we
# may (root with apt-get); otherwise one line says what is missing.
set -euo pipefail
pkgs=(libegl1 libegl-mesa0 libgl1-mesa-dri libgles2)
[ "${1:-}" = "--test" ] && pkgs+=(chromium chromium-driver)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
else
    echo "note: ${missing[*]} missing and not root: rendering uses the numpy rasterizer; the browser test is skipped"
fi
