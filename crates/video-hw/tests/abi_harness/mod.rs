//! Shared by the NVDEC and NVENC ABI tests: find FFmpeg's copy of the NVIDIA SDK headers
//! (Debian `libffmpeg-nvenc-dev`, /usr/include/ffnvcodec), compile and run a C program that
//! prints `NAME VALUE` lines, and compare those values with the Rust side.
//!
//! Without the headers or a C compiler a check says so and passes, unless
//! `VIDEO_HW_REQUIRE_ABI=1` (CI sets it), where it fails.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the headers are: `$VIDEO_HW_FFNVCODEC_INCLUDE`, else /usr/include/ffnvcodec.
pub fn header_dir() -> PathBuf {
    std::env::var_os("VIDEO_HW_FFNVCODEC_INCLUDE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/include/ffnvcodec"))
}

/// Reports that the `what` check cannot run; a panic under `VIDEO_HW_REQUIRE_ABI=1`.
pub fn skip_or_fail(what: &str, why: &str) {
    if std::env::var("VIDEO_HW_REQUIRE_ABI").as_deref() == Ok("1") {
        panic!("{what} ABI check cannot run: {why} (VIDEO_HW_REQUIRE_ABI=1)");
    }
    eprintln!(
        "**** SKIPPED: {what} ABI check cannot run: {why}. Install libffmpeg-nvenc-dev and a C compiler; set VIDEO_HW_REQUIRE_ABI=1 to make this a failure. ****"
    );
}

/// Compiles `c_source` against the headers in `dir` and runs it; the `NAME VALUE` lines it
/// prints, or `None` when no C compiler is found (reported through [`skip_or_fail`]).
pub fn run_c(what: &str, dir: &Path, c_source: &str) -> Option<BTreeMap<String, usize>> {
    let work =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}_abi", what.to_lowercase()));
    std::fs::create_dir_all(&work).expect("temp dir");
    let src = work.join("layout.c");
    let exe = work.join("layout");
    std::fs::write(&src, c_source).expect("write C source");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = match Command::new(&cc)
        .arg("-I")
        .arg(dir)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            skip_or_fail(what, &format!("no C compiler `{cc}`: {e}"));
            return None;
        }
    };
    assert!(
        built.status.success(),
        "the C layout program does not compile (a field we declare is missing from the headers?):\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(&exe)
        .output()
        .expect("run the C layout program");
    assert!(run.status.success());
    Some(
        String::from_utf8_lossy(&run.stdout)
            .lines()
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect(),
    )
}

/// Every entry of `ours` whose value differs from, or is missing in, `theirs`.
pub fn mismatches<N: AsRef<str>>(
    ours: &[(N, usize)],
    theirs: &BTreeMap<String, usize>,
) -> Vec<String> {
    ours.iter()
        .filter_map(|(name, rust)| {
            let name = name.as_ref();
            match theirs.get(name) {
                Some(c) if c == rust => None,
                Some(c) => Some(format!("{name}: Rust {rust}, C {c}")),
                None => Some(format!("{name}: missing from the C output")),
            }
        })
        .collect()
}
