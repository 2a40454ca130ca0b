#!/usr/bin/env bash
# GPU check for doco, run on a machine with an NVIDIA GPU (copied next to the published `doco` by
# `build.ps1 gpu-check`). Finds the CUDA libraries (a Python env's nvidia-* wheels first, then a system install),
# exports LD_LIBRARY_PATH and DOCO_CUDA_PATH, then runs nvidia-smi (if present), `doco kernels`,
# `CUDA_LAUNCH_BLOCKING=1 doco selftest --backend cuda`,
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

# Where to look, in order: the Python environment's nvidia-* wheels (site-packages/nvidia/*/lib: cuBLAS, NVRTC),
# the usual system folders (the driver, libcuda, always comes from the system), and only if something is still
# missing one bounded scan of / (depth 8, at most 60 s). Link stubs (.../stubs/libcuda.so) only link, never run: skipped.
python_dirs=()
for py in python3 python; do
    command -v "$py" >/dev/null 2>&1 || continue
    # nvidia is a namespace package (no __file__): its __path__ lists every site-packages/nvidia folder.
    while IFS= read -r d; do
        [ -n "$d" ] && for sub in "$d"/*/lib "$d"/*/lib64; do [ -d "$sub" ] && python_dirs+=("$sub"); done
    done < <(timeout 20 "$py" -c 'import nvidia; print("\n".join(nvidia.__path__))' 2>/dev/null)
    [ "${#python_dirs[@]}" -gt 0 ] && break
done
say "   python nvidia packages: ${python_dirs[*]:-none}"
standard=(/usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib/wsl/lib /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)
search=("${python_dirs[@]}" "${standard[@]}")
everywhere=""
scanned=0
# Sets lib to the newest match in the first folder that has one, else to the newest from the bounded scan of /
# (done once; no subshell, so the scan's result is kept for the next pattern).
find_lib() {
    local pattern="$1" d
    for d in "${search[@]}"; do
        lib=$(find "$d" -maxdepth 1 -name "$pattern" 2>/dev/null | grep -v /stubs/ | sort -V | tail -n 1)
        [ -n "$lib" ] && return
    done
    if [ "$scanned" -eq 0 ]; then
        everywhere=$(timeout 60 find / -maxdepth 8 \( -path /proc -o -path /sys -o -path /dev \) -prune -o \
            \( -name 'libcuda.so*' -o -name 'libcublas*.so*' -o -name 'libnvrtc*.so*' \) -print 2>/dev/null | grep -v /stubs/)
        scanned=1
    fi
    lib=$(printf '%s\n' "$everywhere" | grep "/${pattern%\*}[^/]*$" | sort -V | tail -n 1)
}
# Sets lib to the newest match inside one folder only (libcublasLt must come from libcublas's own install).
find_beside() { lib=""; [ -n "$2" ] && lib=$(find "$2" -maxdepth 1 -name "$1" 2>/dev/null | sort -V | tail -n 1); }

dirs=()
cublas_dir=""
nvrtc_dir=""
for pattern in 'libcuda.so*' 'libcublas.so*' 'libcublasLt.so*' 'libnvrtc.so*' 'libnvrtc-builtins.so*'; do
    case "$pattern" in
        'libcublasLt.so*') find_beside "$pattern" "$cublas_dir" ;;
        'libnvrtc-builtins.so*') find_beside "$pattern" "$nvrtc_dir"; [ -z "$lib" ] && find_lib "$pattern" ;;
        *) find_lib "$pattern" ;;
    esac
    say "   $pattern -> ${lib:-NOT FOUND}"
    [ -n "$lib" ] && dirs+=("$(dirname "$lib")")
    [ -n "$lib" ] && [ "$pattern" = 'libcublas.so*' ] && cublas_dir="$(dirname "$lib")" && export DOCO_CUDA_PATH="$cublas_dir"
    [ -n "$lib" ] && [ "$pattern" = 'libnvrtc.so*' ] && nvrtc_dir="$(dirname "$lib")"
done
[ "$scanned" -eq 1 ] && say "   (searched / to depth 8 for at most 60 s for what the folders above lacked)"
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

if command -v nvidia-smi >/dev/null 2>&1; then
    step nvidia-smi nvidia-smi
else
    say ""
    say "== nvidia-smi: not found (a warning only: containers often lack it; the steps below talk to the driver directly)"
fi
step kernels "$doco" kernels
# Launch errors surface at the failing launch instead of at a later synchronization.
step selftest env CUDA_LAUNCH_BLOCKING=1 "$doco" selftest --backend cuda
step bench-kernels "$doco" bench kernels --backend cuda --config sd15
step bench-unet "$doco" bench unet --backend cuda --config sd15 --batch 2 --steps 3
say ""
say "== done: exit $status; log $log"
exit "$status"
