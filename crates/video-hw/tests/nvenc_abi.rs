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

mod abi_harness;

use abi_harness::{header_dir, mismatches, run_c, skip_or_fail};

#[test]
fn nvenc_struct_layouts_and_constants_match_the_sdk_header() {
    let dir = header_dir();
    if !dir.join("nvEncodeAPI.h").exists() {
        skip_or_fail("NVENC", &format!("headers not found in {}", dir.display()));
        return;
    }
    let ours = video_hw::diagnostics::nvenc_abi_layout();
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
    let Some(theirs) = run_c("NVENC", &dir, &c) else {
        return;
    };
    let mismatches = mismatches(&ours, &theirs);
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
