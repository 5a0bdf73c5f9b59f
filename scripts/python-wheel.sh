#!/usr/bin/env bash
# Builds the `video_hw` wheel (crates/video-hw-py) with maturin from PyPI, installs it into a
# fresh venv with numpy and pytest, and runs the Python tests on the software backend.
#   scripts/python-wheel.sh            dev-profile wheel (CI: reuses the workspace's debug build)
#   scripts/python-wheel.sh --release  the wheel to ship or to stage for the GPU machine
# Venvs live under target/python/; the wheel lands in target/wheels/.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=dev; [ "${1:-}" = --release ] && profile=release
py=${PYTHON:-python3}
root=target/python
[ -x "$root/maturin/bin/maturin" ] || {
  "$py" -m venv "$root/maturin"
  "$root/maturin/bin/pip" install -q "maturin>=1.9.4,<2"
}
rm -f target/wheels/video_hw-*.whl
"$root/maturin/bin/maturin" build --profile "$profile" -m crates/video-hw-py/Cargo.toml
rm -rf "$root/test"
"$py" -m venv "$root/test"
"$root/test/bin/pip" install -q target/wheels/video_hw-*.whl numpy pytest
"$root/test/bin/python" -m pytest -q crates/video-hw-py/tests
