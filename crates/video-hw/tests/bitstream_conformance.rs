//! The bitstream layer against the conformance streams of `manifest.tsv`: access-unit counts,
//! SPS sizes, and chunk-size invariance.

use std::path::{Path, PathBuf};
use video_hw::Codec;
use video_hw::bitstream::access_unit::AccessUnit;
use video_hw::bitstream::nal::{h264_type, hevc_type, nal_type};
use video_hw::bitstream::sps::{parse_h264_sps, parse_hevc_sps};
use video_hw::bitstream::{AccessUnitAssembler, AnnexBSplitter};

struct Entry {
    file: String,
    codec: Codec,
    frames: usize,
    width: u32,
    height: u32,
}

fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VIDEO_HW_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    if dir.join("manifest.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var("VIDEO_HW_REQUIRE_CONFORMANCE").as_deref() == Ok("1") {
        panic!(
            "conformance streams required but {} has no manifest.tsv",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: no conformance streams at {} (set VIDEO_HW_CONFORMANCE)",
        dir.display()
    );
    None
}

fn manifest(dir: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("manifest header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("manifest has no `{name}` column"))
    };
    let (f, c, n, w, h) = (
        col("file"),
        col("codec"),
        col("frames"),
        col("width"),
        col("height"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split('\t').collect();
            Entry {
                file: v[f].to_owned(),
                codec: v[c].parse().expect("codec"),
                frames: v[n].parse().expect("frames"),
                width: v[w].parse().expect("width"),
                height: v[h].parse().expect("height"),
            }
        })
        .collect()
}

fn assemble(codec: Codec, data: &[u8], chunk: usize) -> Vec<AccessUnit> {
    let mut splitter = AnnexBSplitter::new();
    let mut asm = AccessUnitAssembler::new(codec);
    let (mut nals, mut aus) = (Vec::new(), Vec::new());
    for piece in data.chunks(chunk.max(1)) {
        splitter.push(piece, &mut nals);
        for nal in nals.drain(..) {
            asm.push(nal, &mut aus);
        }
    }
    splitter.finish(&mut nals);
    for nal in nals.drain(..) {
        asm.push(nal, &mut aus);
    }
    asm.finish(&mut aus);
    aus
}

fn sps_nals(codec: Codec, aus: &[AccessUnit]) -> impl Iterator<Item = &[u8]> {
    let sps_type = match codec {
        Codec::Hevc => hevc_type::SPS,
        _ => h264_type::SPS,
    };
    aus.iter()
        .flat_map(|au| au.nals.iter())
        .filter(move |n| nal_type(codec, n) == Some(sps_type))
        .map(Vec::as_slice)
}

/// Streams whose access-unit count legitimately differs from the manifest's decoded frame
/// count: (file, access units, why).
const AU_COUNT_EXCEPTIONS: &[(&str, usize, &str)] = &[(
    "h264/FRExt4_Panasonic.avc",
    15,
    "PAFF: 5 of its 10 frames are coded as two field pictures, and each field picture is an \
     access unit of its own (ffprobe -count_packets also reads 15 packets)",
)];

#[test]
fn access_unit_count_and_first_sps_size_match_the_manifest() {
    let Some(dir) = conformance_dir() else { return };
    let mut failures = Vec::new();
    for e in manifest(&dir) {
        let data = std::fs::read(dir.join(&e.file)).expect("stream readable");
        let aus = assemble(e.codec, &data, data.len());
        eprintln!(
            "{}: {} access units, manifest frames {}",
            e.file,
            aus.len(),
            e.frames
        );
        let expected = AU_COUNT_EXCEPTIONS
            .iter()
            .find(|(file, _, _)| *file == e.file)
            .map_or(e.frames, |&(_, n, why)| {
                eprintln!("  {} expects {n} access units: {why}", e.file);
                n
            });
        if aus.len() != expected {
            failures.push(format!(
                "{}: {} access units, expected {expected}",
                e.file,
                aus.len(),
            ));
        }
        assert!(
            aus.iter().all(AccessUnit::has_picture),
            "{}: every access unit holds a picture",
            e.file
        );
        assert!(
            aus.windows(2).all(|w| w[0].offset < w[1].offset),
            "{}: offsets increase",
            e.file
        );
        assert!(
            aus[0].keyframe,
            "{}: first access unit is a keyframe",
            e.file
        );
        let sps = sps_nals(e.codec, &aus)
            .next()
            .unwrap_or_else(|| panic!("{}: no SPS", e.file));
        let info = match e.codec {
            Codec::Hevc => parse_hevc_sps(sps),
            _ => parse_h264_sps(sps),
        }
        .unwrap_or_else(|err| panic!("{}: SPS does not parse: {err}", e.file));
        if (info.display.width(), info.display.height()) != (e.width, e.height) {
            failures.push(format!(
                "{}: SPS display {} but manifest {}x{}",
                e.file, info.display, e.width, e.height
            ));
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn one_byte_chunks_give_the_same_access_units_as_whole_files() {
    let Some(dir) = conformance_dir() else { return };
    let picks = [
        "h264/BA_MW_D.264",
        "h264/CI1_FT_B.264",
        "h264/64x64-I-P-B-P-high.h264",
        "hevc/hevc-itu-slist-a.h265",
    ];
    let mut checked = 0;
    for e in manifest(&dir)
        .into_iter()
        .filter(|e| picks.contains(&e.file.as_str()))
    {
        let data = std::fs::read(dir.join(&e.file)).expect("stream readable");
        let whole = assemble(e.codec, &data, data.len());
        assert_eq!(assemble(e.codec, &data, 1), whole, "{}", e.file);
        assert_eq!(assemble(e.codec, &data, 7), whole, "{}", e.file);
        checked += 1;
    }
    assert!(checked > 0, "none of {picks:?} is in the manifest");
}

#[test]
fn resolution_change_stream_reports_both_sizes() {
    let Some(dir) = conformance_dir() else { return };
    let Ok(data) = std::fs::read(dir.join("h264/clip-c.h264")) else {
        eprintln!("SKIPPED: clip-c.h264 not in the conformance folder");
        return;
    };
    let aus = assemble(Codec::H264, &data, data.len());
    let sizes: Vec<String> = sps_nals(Codec::H264, &aus)
        .map(|n| parse_h264_sps(n).expect("SPS parses").display.to_string())
        .collect();
    assert_eq!(sizes.first().map(String::as_str), Some("352x288"));
    assert!(
        sizes.iter().any(|s| s == "176x144"),
        "sizes seen: {sizes:?}"
    );
}

fn assemble_chunked(codec: Codec, data: &[u8], sizes: &[usize]) -> Vec<AccessUnit> {
    let mut splitter = AnnexBSplitter::new();
    let mut asm = AccessUnitAssembler::new(codec);
    let (mut nals, mut aus) = (Vec::new(), Vec::new());
    let mut rest = data;
    for &n in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(n.clamp(1, rest.len()));
        rest = tail;
        splitter.push(piece, &mut nals);
        for nal in nals.drain(..) {
            asm.push(nal, &mut aus);
        }
    }
    splitter.finish(&mut nals);
    for nal in nals.drain(..) {
        asm.push(nal, &mut aus);
    }
    asm.finish(&mut aus);
    aus
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]
    #[test]
    fn random_chunkings_of_conformance_files_give_the_same_access_units(
        pick in 0usize..64,
        sizes in proptest::collection::vec(1usize..5000, 1..12),
    ) {
        let Some(dir) = conformance_dir() else { return Ok(()) };
        // Small files only, to keep the run short.
        let entries: Vec<Entry> = manifest(&dir)
            .into_iter()
            .filter(|e| std::fs::metadata(dir.join(&e.file)).is_ok_and(|m| m.len() < 400_000))
            .collect();
        let e = &entries[pick % entries.len()];
        let data = std::fs::read(dir.join(&e.file)).expect("stream readable");
        let whole = assemble(e.codec, &data, data.len());
        proptest::prop_assert_eq!(assemble_chunked(e.codec, &data, &sizes), whole, "{}", &e.file);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    #[test]
    fn corrupted_conformance_files_never_panic_the_parsers(
        pick in 0usize..64,
        edits in proptest::collection::vec((0usize..400_000, proptest::prelude::any::<u8>()), 1..40),
    ) {
        let Some(dir) = conformance_dir() else { return Ok(()) };
        let entries: Vec<Entry> = manifest(&dir)
            .into_iter()
            .filter(|e| std::fs::metadata(dir.join(&e.file)).is_ok_and(|m| m.len() < 400_000))
            .collect();
        let e = &entries[pick % entries.len()];
        let mut data = std::fs::read(dir.join(&e.file)).expect("stream readable");
        for &(i, b) in &edits {
            let n = data.len();
            data[i % n] = b;
        }
        for au in assemble(e.codec, &data, 4096) {
            for nal in &au.nals {
                let _ = parse_h264_sps(nal);
                let _ = parse_hevc_sps(nal);
            }
        }
    }
}

#[test]
fn avcc_and_hvcc_built_from_stream_parameter_sets_match_their_sps() {
    use video_hw::bitstream::avcc::AvcDecoderConfigurationRecord;
    use video_hw::bitstream::hvcc::HevcDecoderConfigurationRecord;
    let Some(dir) = conformance_dir() else { return };
    for e in manifest(&dir) {
        let data = std::fs::read(dir.join(&e.file)).expect("stream readable");
        let mut splitter = AnnexBSplitter::new();
        let mut asm = AccessUnitAssembler::new(e.codec);
        let (mut nals, mut aus) = (Vec::new(), Vec::new());
        // The parameter sets of the first access unit are enough.
        splitter.push(&data[..data.len().min(200_000)], &mut nals);
        for nal in nals.drain(..) {
            asm.push(nal, &mut aus);
            if !aus.is_empty() {
                break;
            }
        }
        let ps = asm.parameter_sets();
        let info = ps
            .active_stream_info()
            .unwrap_or_else(|| panic!("{}: no SPS in the cache", e.file))
            .clone();
        let sps: Vec<&[u8]> = ps.sps().collect();
        let pps: Vec<&[u8]> = ps.pps().collect();
        match e.codec {
            Codec::Hevc => {
                let vps: Vec<&[u8]> = ps.vps().collect();
                let rec = HevcDecoderConfigurationRecord::from_parameter_sets(&vps, &sps, &pps, 4)
                    .unwrap_or_else(|err| panic!("{}: {err}", e.file));
                assert_eq!(rec.ptl.profile_idc, info.profile_idc, "{}", e.file);
                assert_eq!(rec.ptl.level_idc, info.level_idc, "{}", e.file);
                let bytes = rec.to_bytes().expect("serialises");
                assert_eq!(HevcDecoderConfigurationRecord::parse(&bytes).unwrap(), rec);
            }
            _ => {
                let rec = AvcDecoderConfigurationRecord::from_parameter_sets(&sps, &pps, 4)
                    .unwrap_or_else(|err| panic!("{}: {err}", e.file));
                assert_eq!(rec.profile_idc(), info.profile_idc, "{}", e.file);
                assert_eq!(rec.level_idc(), info.level_idc, "{}", e.file);
                let bytes = rec.to_bytes().expect("serialises");
                assert_eq!(AvcDecoderConfigurationRecord::parse(&bytes).unwrap(), rec);
            }
        }
    }
}
