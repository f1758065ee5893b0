#!/usr/bin/env bash
# Sets poglm-gpu up on a fresh Debian machine: npm dependencies (which build the package); only when Node finds
# no WebGPU adapter, a Vulkan driver on the CPU (Mesa lavapipe) from the bookworm-backports suite, because Dawn
# rejects bookworm's own Mesa 22.3 while Mesa 25 works (the suite is added to the machine's own Debian source, its
# URIs line reused; no host name is written here). What only the tests need comes with --tests: Chromium for the
# browser test and, when python3 cannot import torch, python3-torch and python3-numpy for the benchmark's PyTorch
# baseline (bench/torch), its equivalence test and the binning test (which holds `poglm bin` to numpy's histogram);
# and, when python3 cannot import them, python3-scipy and python3-h5py, which write the MATLAB, NWB and NumPy files
# of the format and paper tests (test/formats.test.ts, test/paper.test.ts) and compute the paper's preprocessing.
#   bash scripts/setup.sh              dependencies + GPU driver if needed (enough to use the library and the CLI)
#   bash scripts/setup.sh --tests      also Chromium, PyTorch, SciPy and h5py, for the whole test suite (CI does this)
#   bash scripts/setup.sh --browser    also Chromium only
set -euo pipefail
cd "$(dirname "$0")/.."

with_browser=0
with_torch=0
for arg in "$@"; do
  case "$arg" in
    --browser) with_browser=1 ;;
    --tests) with_browser=1; with_torch=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root for: $* (run as root or install sudo)" >&2; exit 1
  fi
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

say "installing npm dependencies (this also builds the package)"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

apt_updated=0
apt_update() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -q; apt_updated=1; fi
}

# Adds "<codename>-backports" next to the machine's Debian source, reusing its URIs (and Signed-By) lines.
add_backports() {
  local codename=$1 suite="$1-backports" uris="" signed=""
  if grep -rqs "^Suites:.*\b$suite\b\|^deb .* $suite " /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    say "$suite is already configured"
    return
  fi
  local sources=/etc/apt/sources.list.d/debian.sources
  # The stanza of the main archive: its Suites list the bare codename (not only -security or -updates).
  local stanza='BEGIN { RS = ""; FS = "\n" }
    { uris = ""; signed = ""; main = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^Suites:/) { n = split(substr($i, 8), s, /[ \t]+/); for (j = 1; j <= n; j++) if (s[j] == c) main = 1 }
        if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
        if ($i ~ /^Signed-By:/) signed = $i
      }
      if (main && uris != "") { print (want == "uris" ? uris : signed); exit } }'
  if [ -f "$sources" ]; then
    uris=$(awk -v c="$codename" -v want=uris "$stanza" "$sources")
    signed=$(awk -v c="$codename" -v want=signed "$stanza" "$sources")
  fi
  if [ -z "$uris" ] && [ -f /etc/apt/sources.list ]; then
    # One-line form, options such as [signed-by=...] dropped: deb URI SUITE COMPONENTS...
    uris=$(awk -v c="$codename" '$1 == "deb" { sub(/\[[^]]*\][ \t]*/, ""); if ($3 == c) { print $2; exit } }' /etc/apt/sources.list)
  fi
  if [ -z "$uris" ]; then
    echo "setup: found no Debian source to extend with $suite; add that suite to your apt sources and rerun" >&2
    exit 1
  fi
  say "adding $suite to the Debian source ($uris)"
  {
    echo "Types: deb"
    echo "URIs: $uris"
    echo "Suites: $suite"
    echo "Components: main"
    if [ -n "$signed" ]; then echo "$signed"; fi
  } | as_root tee /etc/apt/sources.list.d/poglm-backports.sources >/dev/null
  apt_updated=0
}

if node scripts/check-gpu.mjs; then
  say "a WebGPU adapter is available; no driver to install"
else
  if ! command -v apt-get >/dev/null || [ ! -f /etc/os-release ]; then
    echo "setup: no WebGPU adapter, and this is not a Debian machine: install a Vulkan driver (e.g. Mesa lavapipe >= 24) yourself" >&2
    exit 1
  fi
  . /etc/os-release
  if [ "${ID:-}" != "debian" ]; then
    echo "setup: no WebGPU adapter on ${PRETTY_NAME:-this system}: install libvulkan1 and Mesa's Vulkan drivers (lavapipe, Mesa >= 24)" >&2
    exit 1
  fi
  codename=${VERSION_CODENAME:-bookworm}
  if [ "$codename" = "bookworm" ]; then
    add_backports "$codename"
    apt_update
    say "installing libvulkan1 and mesa-vulkan-drivers from $codename-backports"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t "$codename-backports" libvulkan1 mesa-vulkan-drivers
  else
    apt_update
    say "installing libvulkan1 and mesa-vulkan-drivers"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libvulkan1 mesa-vulkan-drivers
  fi
  node scripts/check-gpu.mjs || { echo "setup: still no WebGPU adapter after installing the Vulkan driver" >&2; exit 1; }
fi

# Python modules the tests and the bench need, from Debian's packages when python3 cannot import them: the PyTorch
# baseline (python3-torch, CPU) and the writers of the format tests' files (scipy: savemat, loadmat, binned_statistic;
# h5py: NWB, MATLAB v7.3). /usr/bin/python3 is checked too, as the bench and the tests do, because a version
# manager's python3 first on the PATH does not see Debian's packages.
python_imports() {
  local python
  for python in python3 /usr/bin/python3; do
    if command -v "$python" >/dev/null && "$python" -c "import $1" 2>/dev/null; then return 0; fi
  done
  return 1
}
# ensure_python MODULES WHAT PACKAGE...: installs the packages unless python3 imports the modules already.
ensure_python() {
  local modules="$1" what="$2"
  shift 2
  if python_imports "$modules"; then
    say "python3 imports $modules; nothing to install for $what"
    return 0
  fi
  if ! command -v apt-get >/dev/null; then
    echo "setup: python3 with $modules is needed by $what: install them ($*)" >&2
    exit 1
  fi
  apt_update
  say "installing $* ($what)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
  python_imports "$modules" || { echo "setup: python3 still cannot import $modules after installing $*" >&2; exit 1; }
}
if [ "$with_torch" -eq 1 ]; then
  ensure_python "torch, numpy" "bench/torch and test/torch-equivalence.test.ts (PyTorch >= 1.13)" python3-torch python3-numpy
  ensure_python "scipy.io, scipy.stats, h5py, numpy" "test/formats.test.ts and test/paper.test.ts" python3-scipy python3-h5py python3-numpy
fi

if [ "$with_browser" -eq 1 ]; then
  if command -v chromium >/dev/null; then
    say "chromium is installed ($(chromium --version 2>/dev/null | head -1))"
  else
    apt_update
    say "installing chromium for the browser tests"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  fi
fi
if [ "$with_torch" -eq 1 ]; then
  say "done. Try: npx poglm demo    Tests: npm test"
else
  say "done. Try: npx poglm demo    Tests: npm test (it needs Chromium, PyTorch, SciPy and h5py: bash scripts/setup.sh --tests)"
fi
