//! Memory is bounded by the input, whatever the input claims (docs/memory-bounds.md): every
//! reader is fed claimed-huge counts and sizes, and a counting global allocator (this test
//! binary only) checks that the peak heap it used stays within
//! `BYTES_FACTOR x input bytes + CONSTANT`.

#[path = "support/mp4_edit.rs"]
mod mp4_edit;

use mp4_edit::{Mp4Box, parse, table, top, trun, write};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use video_hw::bitstream::avcc::AvcDecoderConfigurationRecord;
use video_hw::bitstream::hvcc::HevcDecoderConfigurationRecord;
use video_hw::bitstream::sps::{parse_h264_sps, parse_hevc_sps};
use video_hw::bitstream::{AccessUnitAssembler, AnnexBSplitter, ParameterSetCache};
use video_hw::container::Mp4Demuxer;
use video_hw::{Codec, ErrorKind};

/// The documented bound: peak heap of a reader <= BYTES_FACTOR x input + CONSTANT.
const BYTES_FACTOR: usize = 32;
const CONSTANT: usize = 1 << 20;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// One measurement at a time (tests run on several threads).
static MEASURING: Mutex<()> = Mutex::new(());

fn grew(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(new_size);
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result and the peak heap growth while it ran.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _one = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// Checks the bound for one reader on `input_len` bytes.
fn assert_bounded(what: &str, input_len: usize, peak: usize) {
    let limit = BYTES_FACTOR * input_len + CONSTANT;
    assert!(
        peak <= limit,
        "{what}: peak heap {peak} bytes for {input_len} input bytes (bound {limit})"
    );
    eprintln!("{what}: peak heap {peak} bytes for {input_len} input bytes");
}

/// An ffmpeg fragmented MP4 (ftyp, moov with mvex, one moof whose trun claims 16M samples).
const FRAGMENTED: &[u8] =
    include_bytes!("../../../fuzz/regressions/mp4_demux/trun-claims-16m-samples.bin");

fn demux_all(bytes: &[u8]) -> video_hw::Result<usize> {
    let mut demux = Mp4Demuxer::from_bytes(bytes)?;
    let mut n = 0;
    while demux.next_sample()?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// The fragmented file with its moof's traf holding `truns` truns of `count` samples.
fn with_truns(count: u32, truns: usize, padding: usize) -> Vec<u8> {
    let mut boxes = parse(FRAGMENTED);
    let traf = top(&mut boxes, b"moof").find_mut(&[b"traf"]).unwrap();
    traf.children.retain(|c| &c.kind != b"trun");
    for _ in 0..truns {
        traf.children.push(trun(count, 0));
    }
    top(&mut boxes, b"mdat").payload = vec![0; padding];
    write(&boxes)
}

#[test]
fn fragment_indexing_is_bounded_by_the_file_whatever_the_truns_claim() {
    for (count, truns, padding) in [
        (16_777_216, 1, 8),
        (16_777_216, 8, 8),
        (u32::MAX, 2, 8),
        // A claim the file can just hold: 64 KiB of media data, 4 bytes a sample.
        (16_000, 1, 64 << 10),
    ] {
        let file = with_truns(count, truns, padding);
        let (result, peak) = peak_during(|| demux_all(&file));
        let what = format!("{truns} trun(s) of {count} samples");
        if file.len() < 1000 {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidBitstream, "{what}: {err}");
        }
        assert_bounded(&what, file.len(), peak);
    }
}

/// The fragmented file made a regular one (no mvex) whose sample table claims `samples`
/// samples of `size` bytes in one chunk, with `padding` bytes of media data.
fn with_sample_table(samples: u32, size: u32, padding: usize) -> Vec<u8> {
    let mut boxes = parse(FRAGMENTED);
    boxes.retain(|b| &b.kind != b"moof");
    let moov = top(&mut boxes, b"moov");
    moov.children.retain(|c| &c.kind != b"mvex");
    let stbl = moov
        .find_mut(&[b"trak", b"mdia", b"minf", b"stbl"])
        .unwrap();
    let mdat_start = 36 + 8;
    for c in &mut stbl.children {
        *c = match &c.kind {
            b"stts" => table(b"stts", 1, &[samples, 512]),
            b"stsc" => table(b"stsc", 1, &[1, samples, 1]),
            b"stsz" => Mp4Box::full(
                b"stsz",
                0,
                &[size.to_be_bytes(), samples.to_be_bytes()].concat(),
            ),
            b"stco" => table(b"stco", 1, &[mdat_start]),
            _ => continue,
        };
    }
    let moov = boxes.remove(1);
    top(&mut boxes, b"mdat").payload = vec![0; padding];
    boxes.push(moov);
    write(&boxes)
}

#[test]
fn sample_table_indexing_is_bounded_by_the_file_whatever_the_tables_claim() {
    for (samples, size, padding) in [
        (u32::MAX, 0, 8),
        (1 << 30, 0, 8),
        (16_777_216, 1, 8),
        // The most samples a 64 KiB file can hold.
        (16 << 10, 4, 64 << 10),
    ] {
        let file = with_sample_table(samples, size, padding);
        let (result, peak) = peak_during(|| demux_all(&file));
        let what = format!("sample table of {samples} samples of {size} bytes");
        if file.len() < 1000 {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidBitstream, "{what}: {err}");
        }
        assert_bounded(&what, file.len(), peak);
    }
    // Tables whose entry counts claim far more entries than they hold.
    let mut boxes = parse(&with_sample_table(4, 4, 16));
    let stbl = top(&mut boxes, b"moov")
        .find_mut(&[b"trak", b"mdia", b"minf", b"stbl"])
        .unwrap();
    for c in &mut stbl.children {
        if matches!(&c.kind, b"stts" | b"stsc" | b"stco" | b"stsd") {
            c.payload[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        }
    }
    let file = write(&boxes);
    let (result, peak) = peak_during(|| demux_all(&file));
    assert!(result.is_err());
    assert_bounded("tables claiming 2^32-1 entries", file.len(), peak);
}

#[test]
fn configuration_records_are_bounded_whatever_their_counts_claim() {
    // avcC: 31 SPSs of 65535 bytes, 255 PPSs, with nothing behind the counts.
    let avcc = [1, 100, 0, 31, 0xFF, 0xFF, 0xFF, 0xFF, 0x67, 0x64];
    let (result, peak) = peak_during(|| AvcDecoderConfigurationRecord::parse(&avcc));
    assert!(result.is_err());
    assert_bounded("avcC claiming 31 SPSs of 65535 bytes", avcc.len(), peak);
    // hvcC: 255 arrays of 65535 NAL units of 65535 bytes.
    let mut hvcc = vec![1, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xF0, 0, 0xFC];
    hvcc.extend_from_slice(&[0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 0xFF]);
    for _ in 0..4 {
        hvcc.extend_from_slice(&[0xA1, 0xFF, 0xFF, 0xFF, 0xFF, 0x42, 0x01]);
    }
    let (result, peak) = peak_during(|| HevcDecoderConfigurationRecord::parse(&hvcc));
    assert!(result.is_err());
    assert_bounded(
        "hvcC claiming 255 arrays of 65535 NAL units",
        hvcc.len(),
        peak,
    );
}

/// ue(v) as a bit string.
fn ue(v: u64) -> String {
    let x = v + 1;
    let len = 64 - x.leading_zeros() as usize;
    format!("{}{x:b}", "0".repeat(len - 1))
}

/// A NAL unit payload from bit strings: trailing bits, then emulation prevention.
fn bits(fields: &[String]) -> Vec<u8> {
    let mut s: String = fields.concat();
    s.push('1');
    while !s.len().is_multiple_of(8) {
        s.push('0');
    }
    let rbsp = s
        .as_bytes()
        .chunks(8)
        .map(|b| u8::from_str_radix(std::str::from_utf8(b).unwrap(), 2).unwrap());
    // Emulation prevention: no `00 00 0x` (x <= 3) in the NAL unit.
    let mut out = Vec::new();
    let mut zeros = 0;
    for b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

#[test]
fn parameter_set_parsing_is_bounded_whatever_the_counts_claim() {
    let ue_max = ue(u64::from(u32::MAX) - 1);
    let b = |s: &str| s.to_string();
    // HEVC SPS (Main, 64x64) claiming 2^32-2 short-term reference picture sets.
    let hevc = [
        b("0000 000 1").replace(' ', ""), // vps id, max_sub_layers_minus1, nesting
        b("00000001"),                    // profile space, tier, profile 1
        format!("{:032b}", 0x6000_0000u32), // compatibility flags 1 and 2
        format!("{:048b}", 0x9000_0000_0000u64), // progressive, frame-only
        format!("{:08b}", 93u8),          // level 3.1
        ue(0),                            // sps id
        ue(1),                            // 4:2:0
        ue(64),
        ue(64),
        b("0"),         // no conformance window
        ue(0),          // bit depth luma
        ue(0),          // bit depth chroma
        ue(0),          // log2_max_pic_order_cnt_lsb_minus4
        b("1"),         // sub-layer ordering info present
        ue(1),          // max_dec_pic_buffering_minus1
        ue(0),          // max_num_reorder_pics
        ue(0),          // max_latency_increase_plus1
        ue(0),          // log2_min_luma_coding_block_size_minus3
        ue(1),          // log2_diff_max_min_luma_coding_block_size
        ue(0),          // log2_min_luma_transform_block_size_minus2
        ue(1),          // log2_diff_max_min_luma_transform_block_size
        ue(0),          // max_transform_hierarchy_depth_inter
        ue(0),          // max_transform_hierarchy_depth_intra
        b("0000"),      // scaling lists, amp, sao, pcm
        ue_max.clone(), // num_short_term_ref_pic_sets
    ];
    let mut sps = vec![0x42, 0x01];
    sps.extend(bits(&hevc));
    let (result, peak) = peak_during(|| parse_hevc_sps(&sps));
    let err = result.unwrap_err();
    assert!(
        err.to_string().contains("num_short_term_ref_pic_sets"),
        "{err}"
    );
    assert_bounded(
        "HEVC SPS claiming 2^32-2 reference picture sets",
        sps.len(),
        peak,
    );
    // H.264 SPS (Baseline, poc type 1) claiming 2^32-2 offsets in the POC cycle.
    let h264_fields = [ue(0), ue(0), ue(1), b("0"), ue(0), ue(0), ue_max];
    let mut h264 = vec![0x67, 66, 0, 30];
    h264.extend(bits(&h264_fields));
    let (result, peak) = peak_during(|| parse_h264_sps(&h264));
    assert!(result.is_err());
    assert_bounded(
        "H.264 SPS claiming 2^32-2 POC cycle offsets",
        h264.len(),
        peak,
    );
}

#[test]
fn annexb_splitting_and_assembly_are_bounded_by_the_stream() {
    // Many empty and tiny NAL units, a slice referring to a PPS that is not there, and one
    // long NAL unit without an end: nothing may grow beyond the bytes given.
    let mut stream = Vec::new();
    for i in 0..20_000u32 {
        stream.extend_from_slice(&[0, 0, 1]);
        stream.push(if i % 2 == 0 { 0x65 } else { 0x09 });
        stream.push(0x80);
    }
    stream.extend_from_slice(&[0, 0, 0, 1, 0x67]);
    stream.extend(std::iter::repeat_n(0xAB, 200_000));
    for codec in Codec::ALL {
        let (n, peak) = peak_during(|| {
            let mut splitter = AnnexBSplitter::new();
            let mut assembler = AccessUnitAssembler::new(codec);
            let mut cache = ParameterSetCache::new(codec);
            let (mut nals, mut aus) = (Vec::new(), Vec::new());
            for chunk in stream.chunks(4096) {
                splitter.push(chunk, &mut nals);
                for nal in nals.drain(..) {
                    let _ = cache.insert(&nal.data);
                    assembler.push(nal, &mut aus);
                }
            }
            splitter.finish(&mut nals);
            for nal in nals.drain(..) {
                assembler.push(nal, &mut aus);
            }
            assembler.finish(&mut aus);
            aus.len()
        });
        assert!(n > 0);
        assert_bounded(
            &format!("{codec} Annex-B splitter and assembler"),
            stream.len(),
            peak,
        );
    }
}
