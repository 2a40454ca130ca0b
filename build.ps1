#!/usr/bin/env pwsh
# Build entry point. Run as: dotnet tool restore; dotnet pwsh build.ps1 <task>
#   setup    install the native packages the tests use (Debian: NVRTC for the kernel compile test, OpenBLAS for benchmarks)
#   build    build the solution (Release)
#   test     setup + build + every test; prints one 'N passed, N failed, N skipped' line
#   format   check `dotnet format` (whitespace, style, analyzers)
#   bench    BenchmarkDotNet suites (pass a filter after the task, e.g. build.ps1 bench '*Sgemm*')
#   publish  self-contained linux-x64 `doco` under artifacts/publish
#   gpu-check  trimmed single-file linux-x64 `doco` + run-gpu-check.sh under artifacts/gpu-check (docs/gpu.md),
#            smoke-tested here (doco kernels, doco verify on the tiny-sd fixture)
#   demo     the main job on the embedded default (see README)
param(
    [Parameter(Position = 0)][string]$Task = 'test',
    [Parameter(Position = 1, ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
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

function Invoke-Demo {
    Invoke-Build
    $doco = Join-Path $Root "src/Engine.Cli/bin/$Configuration/net10.0/doco.dll"
    # The main job: erase "star" (anchor "circle") from the built-in model with DoCo, measure it before and after.
    # Extra arguments go to doco erase (e.g. --quick, or --concept striped --anchor plain --type style).
    $out = Join-Path $Root 'artifacts/demo/erase-star'
    if (Test-Path $out) { Remove-Item -Recurse -Force $out }
    Push-Location $Root
    try { Invoke-Native 'doco erase' { dotnet $doco erase --out $out @Rest } }
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
    'demo' { Invoke-Demo }
    default { throw "unknown task '$Task' (setup, build, test, format, bench, publish, gpu-check, demo)" }
}
