//! Conformance: the software decoder against the expected MD5 of every stream in
//! `../shared/conformance/manifest.tsv` (planar YUV, cropped, output order).
//!
//! Which streams must match depends on the implementation behind the software backend:
//! FFmpeg's decoder must match every row; OpenH264 must match every Baseline-profile H.264
//! row (it has no B-frame or interlace support, so other rows are reported, not required).

mod common;

use common::*;
use video_hw::{Backend, Codec};

fn required(implementation: &str, row: &ManifestRow) -> bool {
    if implementation.contains("ffmpeg") {
        return true;
    }
    row.codec == Codec::H264 && row.notes.contains("Baseline")
}

#[test]
fn software_decoder_matches_conformance_md5() {
    let Some(dir) = conformance_dir() else { return };
    let mut passed = 0;
    let mut tried = 0;
    let mut missing_required = Vec::new();
    for row in manifest(&dir) {
        if !video_hw::backend::probe_one(Backend::Software).decodes(row.codec) {
            eprintln!(
                "{:<45} skipped: no software {} decoder in this build",
                row.file, row.codec
            );
            continue;
        }
        let data = std::fs::read(dir.join(&row.file)).expect("stream readable");
        // The MD5 is over the layout of the manifest's pix_fmt (LSB-aligned above 8 bits).
        let out = decode_annexb_to(Backend::Software, row.codec, &data, 1 << 16, row.output());
        let implementation = out.implementation.as_str();
        let md5 = out.md5();
        let ok = md5 == row.md5 && out.errors.is_empty();
        tried += 1;
        passed += usize::from(ok);
        let must = required(implementation, &row);
        eprintln!(
            "{:<45} {:<8} {} frames (want {}), {} errors, {}{}",
            row.file,
            implementation,
            out.frames.len(),
            row.frames,
            out.errors.len(),
            if ok { "MD5 OK" } else { "MD5 differs" },
            if must { "" } else { " (not required)" }
        );
        if must && !ok {
            missing_required.push(format!(
                "{}: got {md5} over {} frames, want {} over {}; errors: {:?}",
                row.file,
                out.frames.len(),
                row.md5,
                row.frames,
                out.errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            ));
        }
    }
    eprintln!("software conformance: {passed}/{tried} streams match");
    assert!(
        missing_required.is_empty(),
        "required streams failed:\n{}",
        missing_required.join("\n")
    );
}
