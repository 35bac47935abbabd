#!/bin/sh
# Starts tools/train/train.py in the background (proposer, then ViT), logging to train-out/train.log.
#   sh tools/train/run.sh [train.py options]       e.g.  sh tools/train/run.sh --resume
# Debian's python3-torch calls the reference BLAS (about 15x slower here) unless an OpenBLAS is found:
# install libopenblas0-openmp, or unpack it beside the outputs without installing (see README.md).
set -e
cd "$(dirname "$0")/../.."
mkdir -p train-out
LOCAL_BLAS=train-out/openblas/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -e "$LOCAL_BLAS/libblas.so.3" ]; then
  export LD_LIBRARY_PATH="$PWD/$LOCAL_BLAS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# Passive OpenMP waits: the 2 cores are shared, spinning threads would steal time from everyone.
export OMP_WAIT_POLICY=PASSIVE
nohup /usr/bin/python3 tools/train/train.py --threads 2 "$@" > train-out/nohup.out 2>&1 &
echo "started train.py, pid $!; log: train-out/train.log"
