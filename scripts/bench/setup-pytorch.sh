#!/bin/sh
# Installs the PyTorch CPU peer of `sparsa bench-train` on Debian / Ubuntu: Debian's python3-torch for /usr/bin/python3,
# with OpenBLAS (pthread build) as the BLAS it calls. bench-train does not run this itself (it needs root and the
# network); it names this script when torch is missing.
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
$SUDO apt-get update
$SUDO apt-get install -y python3-torch libopenblas0-pthread
/usr/bin/python3 -c "import torch; print('torch', torch.__version__, 'for /usr/bin/python3')"
