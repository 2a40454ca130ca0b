#!/usr/bin/env pwsh
# Build entry point. Run as: dotnet tool restore; dotnet pwsh build.ps1 <task>
#   setup    install the native packages the tests use (Debian: NVRTC for the kernel compile test, OpenBLAS for benchmarks)
#   build    build the solution (Release)
#   test     setup + build + every test; prints one 'N passed, N failed, N skipped' line; then standin-check
#   format   check `dotnet format` (whitespace, style, analyzers)
#   bench    BenchmarkDotNet suites (pass a filter after the task, e.g. build.ps1 bench '*Sgemm*')
#   publish  self-contained linux-x64 `doco` under artifacts/publish
#   gpu-check  trimmed single-file linux-x64 `doco` + run-gpu-check.sh under artifacts/gpu-check (docs/gpu.md),
#            smoke-tested here (doco kernels, doco verify on the tiny-sd fixture)
#   standin-check  gpu-check, then the trimmed doco's real CUDA interop against the stand-in libcuda/libcublas
#            (tests/StandIn, built here with g++; docs/gpu.md): the commands in $StandInCommands
#   demo     the main job on the embedded default (see README)
# A plain param block (no [Parameter] attributes) on purpose: an advanced script would add PowerShell's common
# parameters, and then `build.ps1 demo --out x` fails as ambiguous (-OutVariable, -OutBuffer) instead of reaching doco.
param([string]$Task = 'test')
[string[]]$Rest = $args
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Configuration = if ($env:CONFIGURATION) { $env:CONFIGURATION } else { 'Release' }

function Invoke-Native([string]$What, [scriptblock]$Command) {
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed with exit code $LASTEXITCODE" }
}

function Invoke-Setup {
    if (-not $IsLinux) { Write-Host 'setup: not Linux, nothing to install'; return }
    $need = @()
    if (-not (Test-Path /usr/lib/x86_64-linux-gnu/libnvrtc.so.11.2)) { $need += 'libnvrtc11.2' }
    if (-not (Test-Path /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0)) { $need += 'libopenblas0-pthread' }
    if (-not (Get-Command g++ -ErrorAction SilentlyContinue)) { $need += 'g++' }
    # Headless Chromium opens the report pages in the tests (ReportPageBrowserTests); DejaVu gives it a font to draw with.
    if (-not (Get-Command chromium -ErrorAction SilentlyContinue)) { $need += 'chromium' }
    if (-not (Test-Path /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)) { $need += 'fonts-dejavu-core' }
    if ($need.Count -eq 0) { Write-Host 'setup: native packages present'; return }
    if ((& id -u) -ne '0') {
        Write-Warning "setup: missing $($need -join ', ') and not root: the tests that need them will be skipped and say why"
        return
    }
    # NVRTC lives in Debian's non-free component; enable contrib/non-free once.
    $sources = '/etc/apt/sources.list.d/debian.sources'
    if ((Test-Path $sources) -and -not (Select-String -Path $sources -Pattern 'non-free( |$)' -Quiet)) {
        (Get-Content $sources) -replace '^Components: main$', 'Components: main contrib non-free' | Set-Content $sources
    }
    Write-Host "setup: apt-get install $($need -join ' ')"
    Invoke-Native 'apt-get update' { apt-get -o DPkg::Lock::Timeout=300 update -qq }
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native 'apt-get install' { apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends @need }
}

function Invoke-Build {
    Invoke-Native 'dotnet build' { dotnet build "$Root/Engine.sln" -c $Configuration --nologo -v:minimal }
}

function Invoke-Test {
    Invoke-Setup
    Invoke-Build
    $results = Join-Path $Root 'artifacts/test-results'
    Remove-Item -Recurse -Force $results -ErrorAction SilentlyContinue
    dotnet test "$Root/tests/Engine.Tests/Engine.Tests.csproj" -c $Configuration --no-build --nologo `
        --logger 'trx;LogFileName=tests.trx' --logger 'console;verbosity=normal' --results-directory $results @Rest
    $code = $LASTEXITCODE
    $trx = Get-ChildItem -Path $results -Filter *.trx -Recurse | Select-Object -First 1
    if ($trx) {
        [xml]$x = Get-Content $trx.FullName
        $c = $x.TestRun.ResultSummary.Counters
        $skipped = [int]$c.total - [int]$c.executed
        Write-Host ''
        Write-Host "tests: $($c.passed) passed, $($c.failed) failed, $skipped skipped"
    }
    if ($code -ne 0) { throw "tests failed (exit $code)" }
    Invoke-StandInCheck
}

function Invoke-Format {
    Invoke-Native 'dotnet format' { dotnet format "$Root/Engine.sln" --verify-no-changes -v:minimal }
}

function Invoke-Bench {
    $filter = if ($Rest.Count -gt 0) { $Rest } else { @('--filter', '*') }
    Invoke-Native 'benchmarks' { dotnet run -c Release --project "$Root/benchmarks/Engine.Benchmarks" -- @filter }
}

function Invoke-Publish {
    $out = Join-Path $Root 'artifacts/publish'
    Invoke-Native 'dotnet publish' {
        dotnet publish "$Root/src/Engine.Cli/Engine.Cli.csproj" -c Release -r linux-x64 --self-contained true `
            -p:PublishTrimmed=true -p:PublishSingleFile=true -o $out --nologo -v:minimal
    }
    Get-ChildItem $out | ForEach-Object { Write-Host ("{0,12:N0}  {1}" -f $_.Length, $_.Name) }
}

function Invoke-GpuCheck {
    $out = Join-Path $Root 'artifacts/gpu-check'
    Remove-Item -Recurse -Force $out -ErrorAction SilentlyContinue
    Invoke-Native 'dotnet publish' {
        dotnet publish "$Root/src/Engine.Cli/Engine.Cli.csproj" -c Release -r linux-x64 --self-contained true `
            -p:PublishTrimmed=true -p:PublishSingleFile=true -p:DebugType=none -o $out --nologo -v:minimal
    }
    # The XML docs come along with every project (GenerateDocumentationFile is needed for IDE0005): not needed here.
    Remove-Item (Join-Path $out '*.xml'), (Join-Path $out '*.pdb') -ErrorAction SilentlyContinue
    $script = Join-Path $out 'run-gpu-check.sh'
    Copy-Item (Join-Path $Root 'tools/run-gpu-check.sh') $script
    $doco = Join-Path $out 'doco'
    if ($IsLinux) { & chmod +x $script $doco }
    Get-ChildItem $out | ForEach-Object { Write-Host ("{0,12:N0}  {1}" -f $_.Length, $_.Name) }
    $mb = (Get-Item $doco).Length / 1MB
    Write-Host ("gpu-check: doco is {0:N1} MB (limit 64 MB)" -f $mb)
    if ($mb -ge 64) { throw "gpu-check: doco is $([math]::Round($mb, 1)) MB, over the 64 MB limit" }
    if (-not $IsLinux) { Write-Host 'gpu-check: not Linux, the linux-x64 binary is not smoke-tested'; return }

    # Smoke test of the trimmed binary: LibraryImport interop (NVRTC), embedded kernel sources, JSON parsing.
    Write-Host "`n== $doco kernels"
    & $doco kernels
    if ($LASTEXITCODE -eq 2) { Write-Warning 'gpu-check: NVRTC not available here (exit 2): interop not smoke-tested' }
    elseif ($LASTEXITCODE -ne 0) { throw "gpu-check: doco kernels failed with exit code $LASTEXITCODE" }
    Write-Host "`n== $doco verify tiny-sd"
    Invoke-Native 'doco verify' { & $doco verify (Join-Path $Root 'tests/Engine.Tests/fixtures/tiny-sd') }
    Write-Host "`ngpu-check: copy $out to the GPU machine and run ./run-gpu-check.sh there (docs/gpu.md)"
}

# ---- The stand-in driver and cuBLAS (tests/StandIn, docs/gpu.md): test doubles for libcuda and libcublas that
# run the published doco's real interop (driver calls, NVRTC modules, launches, cuBLAS) on the CPU, and fail on
# stream races, out-of-range copies and calls without a context.

# The doco commands run against the stand-in, one command line each (split on spaces). To run one more, add a
# line here. Keep each one short: they run in CI.
$StandInCommands = @(
    'kernels'
    'selftest --backend cuda'
    'bench kernels --config tiny --backend cuda --batch 1 --min-time 0'
    # The main job through the real interop: tiny-sd, a few DoCo iterations (anchor sampling, text encoding,
    # discriminator warm-up, one generator step with the surgery, checkpoint and erased model).
    "erase --model $Root/tests/Engine.Tests/fixtures/tiny-sd --concept star --anchor circle --steps 2 --warmup 1 --batch 1 --anchors 2 --anchor-steps 1 --backend cuda --out $Root/artifacts/standin/erase"
)

# Seconds each command may run before it counts as failed.
$StandInTimeLimit = 600

# The kernel emulator's g++ flags: must stay equal to KernelEmulator.Flags (tests/Engine.Tests/Cuda/KernelEmulator.cs),
# so the stand-in launches the kernels exactly as the emulator tests do (StandInTests checks this).
$EmuFlags = @('-std=c++20', '-O1', '-ffp-contract=off', '-fPIC', '-shared', '-pthread', '-fvisibility=hidden', '-Wall', '-Wextra', '-Werror')

# Builds the stand-in into $Out: lib/libcuda.so.1, lib/libcublas.so.12 (its rpath finds libcuda.so.1 beside it),
# lib/kernels/<file>.so (every kernels/*.cu as KernelEmulator builds it, shared with its cache in $TMPDIR/doco-emu)
# and standin-selftest; then runs the self-test.
function Invoke-StandInBuild([string]$Out) {
    if (-not $IsLinux) { throw 'standin-check: the stand-in libraries are Linux shared objects' }
    if (-not (Get-Command g++ -ErrorAction SilentlyContinue)) { throw 'standin-check: g++ not found (build.ps1 setup installs it as root; docs/gpu.md)' }
    $src = Join-Path $Root 'tests/StandIn'
    $lib = Join-Path $Out 'lib'
    $kernels = Join-Path $lib 'kernels'
    Remove-Item -Recurse -Force $lib -ErrorAction SilentlyContinue
    New-Item -ItemType Directory -Force $kernels | Out-Null
    $flags = @('-std=c++20', '-O2', '-fPIC', '-shared', '-fvisibility=hidden', '-ffp-contract=off', '-pthread', '-Wall', '-Wextra', '-Werror')
    $clock = [Diagnostics.Stopwatch]::StartNew()
    Invoke-Native 'g++ libcuda stand-in' { g++ @flags '-Wl,-soname,libcuda.so.1' -o (Join-Path $lib 'libcuda.so.1') (Join-Path $src 'cuda_standin.cpp') -ldl }
    Invoke-Native 'g++ libcublas stand-in' {
        g++ @flags '-Wl,-soname,libcublas.so.12' -o (Join-Path $lib 'libcublas.so.12') (Join-Path $src 'cublas_standin.cpp') `
            "-L$lib" '-l:libcuda.so.1' '-Wl,-rpath,$ORIGIN'
    }
    $selftest = Join-Path $Out 'standin-selftest'
    Invoke-Native 'g++ stand-in self-test' {
        g++ -std=c++20 -O1 -Wall -Wextra -Werror -pthread -o $selftest (Join-Path $src 'standin_selftest.cpp') `
            "-L$lib" '-l:libcuda.so.1' '-l:libcublas.so.12' "-Wl,-rpath,$lib"
    }

    # The kernels, exactly as KernelEmulator.Build wraps and names them (same text, flags and hash), so a test run
    # before this one has usually compiled them already.
    $emuDir = Join-Path $Root 'kernels/emu'
    $header = [IO.File]::ReadAllText((Join-Path $emuDir 'cuda_emu.h'))
    $cache = Join-Path ([IO.Path]::GetTempPath()) 'doco-emu'
    New-Item -ItemType Directory -Force $cache | Out-Null
    $reused = 0
    foreach ($cu in Get-ChildItem (Join-Path $Root 'kernels') -Filter *.cu | Sort-Object Name) {
        $file = "kernels/$($cu.Name)"
        $text = [IO.File]::ReadAllText($cu.FullName)
        $entries = [regex]::Matches($text, '^extern "C" __global__ void (\w+)\s*\(', 'Multiline') | ForEach-Object { $_.Groups[1].Value }
        $wrapper = [Text.StringBuilder]::new()
        [void]$wrapper.Append("#include `"cuda_emu.h`"`n#line 1 `"$file`"`n").Append($text).Append("`n")
        foreach ($e in $entries) { [void]$wrapper.Append("EMU_EXPORT($e)`n") }
        $key = $header + "`0" + $wrapper.ToString() + "`0" + ($EmuFlags -join ' ')
        $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($key))).Substring(0, 16)
        $so = Join-Path $cache "$($cu.BaseName)-$hash.so"
        if (Test-Path $so) { $reused++ }
        else {
            $cpp = Join-Path $cache "$($cu.BaseName)-$hash.$PID.cpp"
            $tmp = "$so.$PID.tmp"
            [IO.File]::WriteAllText($cpp, $wrapper.ToString())
            try { Invoke-Native "g++ $file (kernel emulator)" { g++ @EmuFlags "-I$emuDir" -o $tmp $cpp } }
            finally { Remove-Item $cpp -ErrorAction SilentlyContinue }
            Move-Item -Force $tmp $so
        }
        Copy-Item $so (Join-Path $kernels "$($cu.BaseName).so")
    }
    Write-Host ("standin-check: built {0} in {1:N0} s (kernel libraries: {2} from the emulator cache {3})" -f $lib, $clock.Elapsed.TotalSeconds, $reused, $cache)
    Invoke-Native 'stand-in self-test' { & $selftest }
}

# gpu-check (publish + smoke test), the stand-in, then each of $StandInCommands with the trimmed doco against it.
# Fails when a command exits non-zero or the stand-in printed a complaint (a "doco stand-in:" line), even if
# the command went on.
function Invoke-StandInCheck {
    $out = Join-Path $Root 'artifacts/standin'
    Invoke-GpuCheck
    Invoke-StandInBuild $out
    $doco = Join-Path $Root 'artifacts/gpu-check/doco'
    $lib = Join-Path $out 'lib'
    $env:DOCO_CUDA_PATH = $lib
    $env:DOCO_KERNEL_CACHE = Join-Path $out 'kernel-cache'
    # Each run: what to print, the executable, its arguments. The doco commands, then the device tests (which skip
    # without a GPU) in-process against the stand-in, when the test project is built (build.ps1 test builds it).
    Remove-Item -Recurse -Force (Join-Path $out 'erase') -ErrorAction SilentlyContinue
    $runs = @(foreach ($line in $StandInCommands) { , @("doco $line", $doco, ($line -split ' +')) })
    $testProject = Join-Path $Root 'tests/Engine.Tests/Engine.Tests.csproj'
    if (Test-Path (Join-Path $Root "tests/Engine.Tests/bin/$Configuration/net10.0/Engine.Tests.dll")) {
        $runs += , @('DeviceTests', 'dotnet', @('test', $testProject, '-c', $Configuration, '--no-build', '--nologo',
                                                '--filter', 'FullyQualifiedName~Engine.Tests.Cuda.DeviceTests'))
    }
    else { Write-Warning 'standin-check: tests/Engine.Tests is not built (build.ps1 build): DeviceTests not run on the stand-in' }
    $failed = @()
    try {
        foreach ($run in $runs) {
            $label, $exe, $cmdArgs = $run
            $override = if ($env:DOCO_STANDIN_KERNELS) { "DOCO_STANDIN_KERNELS=$env:DOCO_STANDIN_KERNELS " } else { '' }
            Write-Host "`n== standin-check: ${override}DOCO_CUDA_PATH=$lib DOCO_KERNEL_CACHE=$env:DOCO_KERNEL_CACHE $exe $($cmdArgs -join ' ')"
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $complaints = 0
            # A time limit, so a hang (or an emulator too slow for the shapes) fails with its name instead of stalling CI.
            & timeout --kill-after=10 $StandInTimeLimit $exe @cmdArgs 2>&1 | ForEach-Object {
                $s = "$_"
                if ($s.StartsWith('doco stand-in:')) { $complaints++ }
                Write-Host $s
            }
            $code = $LASTEXITCODE
            $verdict = if ($code -eq 124 -or $code -eq 137) { "FAIL (over the $StandInTimeLimit s limit)" }
            elseif ($code -ne 0) { "FAIL (exit $code)" } elseif ($complaints -gt 0) { "FAIL ($complaints stand-in complaints)" } else { 'ok' }
            Write-Host ("== standin-check: {0}: {1}, {2:N1} s" -f $label, $verdict, $clock.Elapsed.TotalSeconds)
            if ($verdict -ne 'ok') { $failed += "$label ($verdict)" }
        }
    }
    finally {
        Remove-Item Env:DOCO_CUDA_PATH, Env:DOCO_KERNEL_CACHE -ErrorAction SilentlyContinue
    }
    if ($failed.Count -gt 0) { throw "standin-check failed: $($failed -join '; ')" }
    Write-Host "`nstandin-check: all $($runs.Count) runs passed on the stand-in driver and cuBLAS"
}

function Invoke-Demo {
    Invoke-Build
    $doco = Join-Path $Root "src/Engine.Cli/bin/$Configuration/net10.0/doco.dll"
    # The main job: erase "star" (anchor "circle") from the built-in model with DoCo, measure it before and after.
    # Extra arguments go to doco erase (e.g. --quick, or --concept striped --anchor plain --type style). A given --out
    # is the user's folder: passed on as it is, never cleared; only the default folder is made fresh.
    $i = [array]::IndexOf($Rest, '--out')
    if ($i -ge 0 -and $i + 1 -lt $Rest.Count) {
        $out = $Rest[$i + 1]
        $doArgs = $Rest
    }
    else {
        $out = Join-Path $Root 'artifacts/demo/erase-star'
        if (Test-Path $out) { Remove-Item -Recurse -Force $out }
        $doArgs = @('--out', $out) + $Rest
    }
    Push-Location $Root
    try { Invoke-Native 'doco erase' { dotnet $doco erase @doArgs } }
    finally { Pop-Location }
    Write-Host "`ndemo: the erased model, report (ruler.md, ruler.json), before/after grid (grid.png), training plots and manifest are in $out"
}

switch ($Task) {
    'setup' { Invoke-Setup }
    'build' { Invoke-Build }
    'test' { Invoke-Test }
    'format' { Invoke-Format }
    'bench' { Invoke-Bench }
    'publish' { Invoke-Publish }
    'gpu-check' { Invoke-GpuCheck }
    'standin-check' { Invoke-StandInCheck }
    'demo' { Invoke-Demo }
    default { throw "unknown task '$Task' (setup, build, test, format, bench, publish, gpu-check, standin-check, demo)" }
}
