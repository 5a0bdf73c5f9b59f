//! Checks our NVENC declarations (sizes, field offsets, constants, GUIDs) against the official header, without a GPU: a small C
//! program that includes FFmpeg's copy of `nvEncodeAPI.h` (Debian `libffmpeg-nvenc-dev`,
//! /usr/include/ffnvcodec) prints `sizeof`/`offsetof` of every struct and field we declare and the value of every
//! constant (`=NAME` entries) and the position of every bit-field we set (`~` entries),
//! and the values must equal Rust's `size_of`/`offset_of!`.
//!
//! Without the headers or a C compiler the test says so and passes, unless
//! `VIDEO_HW_REQUIRE_ABI=1` (CI sets it), where it fails.
#![cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn header_dir() -> PathBuf {
    std::env::var_os("VIDEO_HW_FFNVCODEC_INCLUDE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/include/ffnvcodec"))
}

fn skip_or_fail(why: &str) {
    if std::env::var("VIDEO_HW_REQUIRE_ABI").as_deref() == Ok("1") {
        panic!("NVENC ABI check cannot run: {why} (VIDEO_HW_REQUIRE_ABI=1)");
    }
    eprintln!(
        "**** SKIPPED: NVENC ABI check cannot run: {why}. Install libffmpeg-nvenc-dev and a C compiler; set VIDEO_HW_REQUIRE_ABI=1 to make this a failure. ****"
    );
}

#[test]
fn nvenc_struct_layouts_and_constants_match_the_sdk_header() {
    let dir = header_dir();
    if !dir.join("nvEncodeAPI.h").exists() {
        skip_or_fail(&format!("headers not found in {}", dir.display()));
        return;
    }
    let ours = video_hw::backend::nvenc_abi_layout();
    assert!(
        ours.len() > 250,
        "the layout table covers every declared field"
    );
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\
         #include <nvEncodeAPI.h>\nint main(void) {\n",
    );
    for (name, _) in &ours {
        if let Some(bit) = name.strip_prefix('~') {
            let (field, offset) = bit.split_once('@').expect("~STRUCT.field@OFFSET");
            let (s, f) = field.split_once('.').expect("STRUCT.field");
            c.push_str(&format!(
                "  {{ {s} v; uint32_t w; memset(&v, 0, sizeof v); v.{f} = 1; \
                 memcpy(&w, (const char *)&v + {offset}, 4); printf(\"{name} %zu\\n\", (size_t)w); }}\n"
            ));
            continue;
        }
        if let Some(expr) = name.strip_prefix('=') {
            c.push_str(&format!(
                "  printf(\"{name} %zu\\n\", (size_t)(uint32_t)({expr}));\n"
            ));
            continue;
        }
        match name.split_once('.') {
            Some((s, f)) => c.push_str(&format!(
                "  printf(\"{name} %zu\\n\", (size_t)offsetof({s}, {f}));\n"
            )),
            None => c.push_str(&format!("  printf(\"{name} %zu\\n\", sizeof({name}));\n")),
        }
    }
    c.push_str("  return 0;\n}\n");
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("nvenc_abi");
    std::fs::create_dir_all(&work).expect("temp dir");
    let src = work.join("layout.c");
    let exe = work.join("layout");
    std::fs::write(&src, c).expect("write C source");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(&cc)
        .arg("-I")
        .arg(&dir)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output();
    let built = match built {
        Ok(o) => o,
        Err(e) => {
            skip_or_fail(&format!("no C compiler `{cc}`: {e}"));
            return;
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
    let theirs: BTreeMap<String, usize> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect();
    let mut mismatches = Vec::new();
    for (name, rust) in &ours {
        match theirs.get(name) {
            Some(c) if c == rust => {}
            Some(c) => mismatches.push(format!("{name}: Rust {rust}, C {c}")),
            None => mismatches.push(format!("{name}: missing from the C output")),
        }
    }
    assert!(
        mismatches.is_empty(),
        "NVENC ABI mismatches:\n{}",
        mismatches.join("\n")
    );
    eprintln!(
        "NVENC ABI: {} sizes, offsets and constants match the header",
        ours.len()
    );
}
