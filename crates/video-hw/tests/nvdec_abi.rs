//! Checks our NVDEC declarations against the official headers, without a GPU: a small C
//! program that includes FFmpeg's copy of the SDK headers (Debian `libffmpeg-nvenc-dev`,
//! /usr/include/ffnvcodec) prints `sizeof`/`offsetof` of every struct and field we declare,
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
fn nvdec_struct_layouts_match_the_sdk_headers() {
    let dir = header_dir();
    if !dir.join("dynlink_cuviddec.h").exists() || !dir.join("dynlink_nvcuvid.h").exists() {
        skip_or_fail("NVDEC", &format!("headers not found in {}", dir.display()));
        return;
    }
    let ours = video_hw::diagnostics::nvdec_abi_layout();
    assert!(
        ours.len() > 60,
        "the layout table covers every declared field"
    );
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <dynlink_cuda.h>\n\
         #include <dynlink_cuviddec.h>\n#include <dynlink_nvcuvid.h>\nint main(void) {\n",
    );
    for (name, _) in &ours {
        match name.split_once('.') {
            Some((s, f)) => c.push_str(&format!(
                "  printf(\"{name} %zu\\n\", (size_t)offsetof({s}, {f}));\n"
            )),
            None => c.push_str(&format!("  printf(\"{name} %zu\\n\", sizeof({name}));\n")),
        }
    }
    c.push_str("  return 0;\n}\n");
    let Some(theirs) = run_c("NVDEC", &dir, &c) else {
        return;
    };
    let mismatches = mismatches(&ours, &theirs);
    assert!(
        mismatches.is_empty(),
        "NVDEC ABI mismatches:\n{}",
        mismatches.join("\n")
    );
    eprintln!(
        "NVDEC ABI: {} sizes and offsets match the headers",
        ours.len()
    );
}
