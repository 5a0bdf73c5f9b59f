#!/usr/bin/env bash
# Type-checks and lints the VideoToolbox backend for aarch64-apple-darwin (no Mac needed).
#
# 1. `cargo check` of the library and its test targets (the contract suite and the
#    VideoToolbox end-to-end tests included) with Debian's rustc-web (/usr/bin/rustc, rust-src)
#    building std for the target (-Zbuild-std).
# 2. `cargo clippy -D warnings` on the same targets. Debian's rustc-web ships no clippy, so this
#    step uses the rustup toolchain's clippy, which needs its `rust-src` component
#    (`rustup component add rust-src`). Without them the step fails, unless
#    VIDEO_HW_MACOS_CLIPPY=skip, which reports it as skipped.
#
# Each toolchain has its own target dir ($VIDEO_HW_APPLE_TARGET_DIR, default target/apple, and
# the same with -clippy): the first run builds std for the target and takes minutes; later runs
# are incremental. CI points it outside the clone so that runs on one machine share it.
# Exit status: non-zero when anything does not compile or clippy warns.
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-apple-darwin
args=(-p video-hw --no-default-features --features backend-vt
      -Zbuild-std=std,panic_abort --target "$target" --lib --tests)

dir=${VIDEO_HW_APPLE_TARGET_DIR:-target/apple}

echo "== cargo check ($target, Debian rustc-web)"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo check "${args[@]}" --target-dir "$dir"

echo "== cargo clippy ($target)"
if [[ "${VIDEO_HW_MACOS_CLIPPY:-}" == skip ]]; then
    echo "SKIPPED: clippy for $target (VIDEO_HW_MACOS_CLIPPY=skip)"
    exit 0
fi
if ! command -v rustup >/dev/null || ! cargo clippy --version >/dev/null 2>&1; then
    echo "clippy for $target needs rustup's toolchain with clippy (rustc-web has none)" >&2
    exit 1
fi
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
    echo "clippy for $target needs rustup's rust-src: rustup component add rust-src" >&2
    exit 1
fi
RUSTC_BOOTSTRAP=1 cargo clippy "${args[@]}" --target-dir "$dir-clippy" -- -D warnings
echo "macOS type-check and clippy passed"
