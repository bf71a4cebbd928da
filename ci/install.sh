#!/usr/bin/env bash
# Installs what the tests need on a fresh machine (tshark for the wire conformance test).
source "$(dirname "$0")/lib.sh"
if ! have tshark; then
  step "installing tshark"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq tshark >/dev/null
fi
tshark --version | head -1
