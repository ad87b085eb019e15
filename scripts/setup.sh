#!/usr/bin/env bash
# Sets up everything perfxl and its tests need on a Debian machine: LibreOffice (formula
# recalculation, PDF), poppler (PDF → PNG), Chinese fonts, a virtualenv with perfxl installed.
# Safe to run again: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# grep without -q reads all of fc-list's output (with -q and pipefail, fc-list's SIGPIPE
# would make a present font look missing).
has_font() { fc-list 2>/dev/null | grep -i "$1" >/dev/null; }
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui libreoffice-writer-nogui)
# LibreOffice's Python bridge: perfxl keeps one LibreOffice alive per process and drives it over UNO
/usr/bin/python3 -c "import uno" >/dev/null 2>&1 || need+=(python3-uno)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
has_font "Noto Serif CJK" || need+=(fonts-noto-cjk)
has_font "AR PL UKai" || need+=(fonts-arphic-ukai)
has_font "AR PL UMing" || need+=(fonts-arphic-uming)
has_font "WenQuanYi Zen Hei" || need+=(fonts-wqy-zenhei)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3-venv python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  echo "正在安装系统软件包：${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e ".[test]"
