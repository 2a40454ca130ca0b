#!/usr/bin/env bash
# GPU check for doco, run on a machine with an NVIDIA GPU (copied next to the published `doco` by
# `build.ps1 gpu-check`). Finds the CUDA libraries (a system install or a Python env's nvidia-* wheels), exports
# LD_LIBRARY_PATH and DOCO_CUDA_PATH, then runs nvidia-smi, `doco kernels`, `doco selftest --backend cuda`,
# `doco bench kernels --backend cuda` and a UNet training step at SD 1.5 shapes, everything into one log.
# Usage: ./run-gpu-check.sh [log file]   (default: gpu-check-<host>-<time>.log next to this script)
# Exit status: that of the first failing step (selftest: 1 = a kernel disagrees with the CPU, 2 = no usable GPU).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log="${1:-$here/gpu-check-$(hostname)-$(date -u +%Y%m%dT%H%M%SZ).log}"
doco="$here/doco"
: > "$log"
say() { echo "$*" | tee -a "$log"; }

say "== doco GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(uname -srm)"

# Where CUDA usually lives first; then one scan of the whole file system (Python envs keep the libraries in
# site-packages/nvidia/*/lib). Link stubs (.../stubs/libcuda.so) only link, never run: skipped.
standard=(/usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib/wsl/lib /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
everywhere=""
find_lib() {
    local pattern="$1" hit
    hit=$(find "${standard[@]}" -maxdepth 1 -name "$pattern" 2>/dev/null | grep -v /stubs/ | sort -V | tail -n 1)
    if [ -z "$hit" ]; then
        [ -z "$everywhere" ] && everywhere=$(find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o \
            \( -name 'libcuda.so*' -o -name 'libcublas*.so*' -o -name 'libnvrtc*.so*' \) -print 2>/dev/null | grep -v /stubs/)
        hit=$(printf '%s\n' "$everywhere" | grep "/${pattern%\*}[^/]*$" | sort -V | tail -n 1)
    fi
    echo "$hit"
}

dirs=()
for pattern in 'libcuda.so*' 'libcublas.so*' 'libcublasLt.so*' 'libnvrtc.so*' 'libnvrtc-builtins.so*'; do
    lib=$(find_lib "$pattern")
    say "   $pattern -> ${lib:-NOT FOUND}"
    [ -n "$lib" ] && dirs+=("$(dirname "$lib")")
    [ -n "$lib" ] && [ "$pattern" = 'libcublas.so*' ] && export DOCO_CUDA_PATH="$(dirname "$lib")"
done
joined=$(printf '%s\n' "${dirs[@]}" | awk 'NF && !seen[$0]++' | paste -sd: -)
export LD_LIBRARY_PATH="${joined}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DOCO_KERNEL_CACHE="${DOCO_KERNEL_CACHE:-$here/kernel-cache}"
say "   LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
say "   DOCO_CUDA_PATH=${DOCO_CUDA_PATH:-}"
say "   DOCO_KERNEL_CACHE=$DOCO_KERNEL_CACHE"

status=0
step() {
    local name="$1"; shift
    say ""
    say "== $name: $*"
    "$@" 2>&1 | tee -a "$log"
    local rc=$?   # pipefail: the command's status unless tee failed
    say "== $name: exit $rc"
    [ "$status" -eq 0 ] && status=$rc
}

step nvidia-smi nvidia-smi
step kernels "$doco" kernels
step selftest "$doco" selftest --backend cuda
step bench-kernels "$doco" bench kernels --backend cuda --config sd15
step bench-unet "$doco" bench unet --backend cuda --config sd15 --batch 2 --steps 3
say ""
say "== done: exit $status; log $log"
exit "$status"
