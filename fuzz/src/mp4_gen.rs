//! Valid-looking MP4 files: `ftyp`, `mdat`, then a `moov` box tree (one video track with an
//! `avc1`/`hvc1` entry and its sample table, optionally `mvex`) and `moof` fragments. Every
//! box is well formed; the counts, sizes, offsets and times inside are often out of range
//! (claimed counts beyond the entries written, huge sample counts, offsets past the end).

use crate::{claimed, field, nal_gen};
use arbitrary::{Result, Unstructured};

/// A box: 32-bit size, type, payload.
pub fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// A full box: version and flags in front of the payload.
pub fn full_box(kind: &[u8; 4], version: u8, flags: u32, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![version];
    body.extend_from_slice(&flags.to_be_bytes()[1..]);
    body.extend_from_slice(payload);
    mp4_box(kind, &body)
}

fn be32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// A time scale or duration: mostly ordinary, sometimes 0 or huge.
fn time(u: &mut Unstructured) -> Result<u32> {
    Ok(*u.choose(&[90_000u32, 1000, 12_800, 25, 0, 1, u32::MAX])?)
}

/// A table box with `actual` entries of `entry` bytes each but a claimed count.
fn table(
    u: &mut Unstructured,
    kind: &[u8; 4],
    prefix: &[u8],
    actual: u32,
    mut entry: impl FnMut(&mut Unstructured, u32, &mut Vec<u8>) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut body = prefix.to_vec();
    be32(&mut body, claimed(u, actual)?);
    for i in 0..actual {
        entry(u, i, &mut body)?;
    }
    Ok(full_box(kind, 0, 0, &body))
}

struct Track {
    hevc: bool,
    samples: u32,
    sample_size: u32,
    mdat_start: u32,
    mdat_len: u32,
}

fn sample_entry(u: &mut Unstructured, hevc: bool) -> Result<Vec<u8>> {
    let mut body = vec![0; 6];
    body.extend_from_slice(&1u16.to_be_bytes());
    body.extend_from_slice(&[0; 16]);
    let (w, h) = *u.choose(&[(64u16, 64u16), (320, 240), (0, 0), (65535, 65535)])?;
    body.extend_from_slice(&w.to_be_bytes());
    body.extend_from_slice(&h.to_be_bytes());
    body.extend_from_slice(&[0, 0x48, 0, 0, 0, 0x48, 0, 0, 0, 0, 0, 0, 0, 1]);
    body.extend_from_slice(&[0; 32]);
    body.extend_from_slice(&[0, 0x18, 0xFF, 0xFF]);
    if hevc {
        body.extend(mp4_box(b"hvcC", &nal_gen::hvcc(u)?));
        Ok(mp4_box(
            if u.arbitrary()? { b"hvc1" } else { b"hev1" },
            &body,
        ))
    } else {
        body.extend(mp4_box(b"avcC", &nal_gen::avcc(u)?));
        Ok(mp4_box(
            if u.arbitrary()? { b"avc1" } else { b"avc3" },
            &body,
        ))
    }
}

fn stbl(u: &mut Unstructured, t: &Track) -> Result<Vec<u8>> {
    let entries = u.int_in_range(1..=2)?;
    let mut stsd = Vec::new();
    be32(&mut stsd, claimed(u, entries)?);
    for _ in 0..entries {
        stsd.extend(sample_entry(u, t.hevc)?);
    }
    let mut out = full_box(b"stsd", 0, 0, &stsd);
    // stts: one or two runs covering the samples.
    let runs = u.int_in_range(1..=2u32)?;
    out.extend(table(u, b"stts", &[], runs, |u, i, b| {
        let count = if i == 0 {
            claimed(u, t.samples)?
        } else {
            field(u, 4)?
        };
        be32(b, count);
        be32(b, *u.choose(&[3000u32, 1, 0, u32::MAX])?);
        Ok(())
    })?);
    if u.arbitrary()? {
        out.extend(table(u, b"ctts", &[], 1, |u, _, b| {
            be32(b, claimed(u, t.samples)?);
            be32(b, *u.choose(&[0u32, 6000, u32::MAX, 1 << 31])?);
            Ok(())
        })?);
    }
    if u.arbitrary()? {
        out.extend(table(u, b"stss", &[], 1, |u, _, b| {
            be32(b, field(u, t.samples)?);
            Ok(())
        })?);
    }
    let chunks = u.int_in_range(1..=2u32)?;
    out.extend(table(u, b"stsc", &[], 1, |u, _, b| {
        be32(b, if u.ratio(7, 8)? { 1 } else { field(u, 4)? });
        be32(b, claimed(u, t.samples.div_ceil(chunks))?);
        be32(b, if u.ratio(7, 8)? { 1 } else { field(u, 2)? });
        Ok(())
    })?);
    if u.arbitrary()? {
        let mut body = Vec::new();
        be32(&mut body, claimed(u, t.sample_size)?);
        be32(&mut body, claimed(u, t.samples)?);
        out.extend(full_box(b"stsz", 0, 0, &body));
    } else {
        let mut prefix = Vec::new();
        be32(&mut prefix, 0);
        out.extend(table(u, b"stsz", &prefix, t.samples, |u, _, b| {
            be32(b, claimed(u, t.sample_size)?);
            Ok(())
        })?);
    }
    let per_chunk = t.samples.div_ceil(chunks).saturating_mul(t.sample_size);
    if u.ratio(7, 8)? {
        out.extend(table(u, b"stco", &[], chunks, |u, i, b| {
            let offset = t.mdat_start.saturating_add(i.saturating_mul(per_chunk));
            be32(
                b,
                if u.ratio(7, 8)? {
                    offset
                } else {
                    claimed(u, offset)?
                },
            );
            Ok(())
        })?);
    } else {
        out.extend(table(u, b"co64", &[], chunks, |u, i, b| {
            let offset = u64::from(t.mdat_start) + u64::from(i) * u64::from(per_chunk);
            let v = if u.ratio(3, 4)? {
                offset
            } else {
                u64::MAX - offset
            };
            b.extend_from_slice(&v.to_be_bytes());
            Ok(())
        })?);
    }
    Ok(mp4_box(b"stbl", &out))
}

fn trak(u: &mut Unstructured, t: &Track) -> Result<Vec<u8>> {
    let mut tkhd = vec![0; 8];
    be32(&mut tkhd, 1);
    tkhd.extend_from_slice(&[0; 4]);
    be32(&mut tkhd, time(u)?);
    tkhd.extend_from_slice(&[0; 16]);
    tkhd.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    tkhd.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    tkhd.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0]);
    be32(&mut tkhd, 64 << 16);
    be32(&mut tkhd, 64 << 16);
    let mut out = full_box(b"tkhd", 0, 3, &tkhd);
    if u.arbitrary()? {
        let n = u.int_in_range(1..=3)?;
        let elst = table(u, b"elst", &[], n, |u, _, b| {
            be32(b, time(u)?);
            be32(b, *u.choose(&[0u32, u32::MAX, 1024, 1 << 31])?);
            be32(b, 0x0001_0000);
            Ok(())
        })?;
        out.extend(mp4_box(b"edts", &elst));
    }
    let mut mdhd = vec![0; 8];
    be32(&mut mdhd, time(u)?);
    be32(&mut mdhd, time(u)?);
    mdhd.extend_from_slice(&[0x55, 0xC4, 0, 0]);
    let mut mdia = full_box(b"mdhd", 0, 0, &mdhd);
    let mut hdlr = vec![0; 4];
    hdlr.extend_from_slice(if u.ratio(15, 16)? { b"vide" } else { b"soun" });
    hdlr.extend_from_slice(&[0; 13]);
    mdia.extend(full_box(b"hdlr", 0, 0, &hdlr));
    let mut minf = full_box(b"vmhd", 0, 1, &[0; 8]);
    let dref = full_box(
        b"dref",
        0,
        0,
        &[[0, 0, 0, 1].as_slice(), &full_box(b"url ", 0, 1, &[])].concat(),
    );
    minf.extend(mp4_box(b"dinf", &dref));
    minf.extend(stbl(u, t)?);
    mdia.extend(mp4_box(b"minf", &minf));
    out.extend(mp4_box(b"mdia", &mdia));
    Ok(mp4_box(b"trak", &out))
}

fn moov(u: &mut Unstructured, t: &Track, fragmented: bool) -> Result<Vec<u8>> {
    let mut mvhd = vec![0; 8];
    be32(&mut mvhd, time(u)?);
    be32(&mut mvhd, time(u)?);
    mvhd.extend_from_slice(&[0, 1, 0, 0, 1, 0]);
    mvhd.extend_from_slice(&[0; 10]);
    mvhd.extend_from_slice(&[0; 36]);
    mvhd.extend_from_slice(&[0; 24]);
    be32(&mut mvhd, 2);
    let mut out = full_box(b"mvhd", 0, 0, &mvhd);
    out.extend(trak(u, t)?);
    if fragmented {
        let mut trex = Vec::new();
        be32(&mut trex, if u.ratio(7, 8)? { 1 } else { 2 });
        be32(&mut trex, 1);
        be32(&mut trex, *u.choose(&[3000u32, 0, u32::MAX])?);
        be32(&mut trex, claimed(u, t.sample_size)?);
        be32(&mut trex, *u.choose(&[0u32, 0x0101_0000, 0x0200_0000])?);
        out.extend(mp4_box(b"mvex", &full_box(b"trex", 0, 0, &trex)));
    }
    Ok(mp4_box(b"moov", &out))
}

/// One `moof` (a `traf` with `tfhd`, `tfdt` and one or more `trun`s) and its `mdat`, for a
/// `moof` that starts at byte `at` of the file.
fn fragment(u: &mut Unstructured, t: &Track, sequence: u32, at: u64) -> Result<Vec<u8>> {
    let mut mfhd = Vec::new();
    be32(&mut mfhd, sequence);
    let mfhd = full_box(b"mfhd", 0, 0, &mfhd);
    // tfhd: the data base is the moof, said three ways (default-base-is-moof, an absolute
    // base data offset as ffmpeg's `frag_keyframe` writes, or implied for the first traf),
    // with some optional defaults.
    let base_mode = u.int_in_range(0..=2u8)?;
    let base_flags = match base_mode {
        0 => 0x02_0000,
        1 => 0x01,
        _ => 0,
    };
    let tfhd_flags = base_flags | (u.int_in_range(0..=0x3Fu32)? & 0x3A);
    let mut tfhd = Vec::new();
    be32(&mut tfhd, if u.ratio(7, 8)? { 1 } else { field(u, 2)? });
    if base_mode == 1 {
        let base = if u.ratio(7, 8)? { at } else { u.arbitrary()? };
        tfhd.extend_from_slice(&base.to_be_bytes());
    }
    if tfhd_flags & 0x02 != 0 {
        be32(&mut tfhd, 1);
    }
    if tfhd_flags & 0x08 != 0 {
        be32(&mut tfhd, *u.choose(&[3000u32, 0, u32::MAX])?);
    }
    if tfhd_flags & 0x10 != 0 {
        be32(&mut tfhd, claimed(u, t.sample_size)?);
    }
    if tfhd_flags & 0x20 != 0 {
        be32(&mut tfhd, *u.choose(&[0u32, 0x0101_0000, 0x0200_0000])?);
    }
    let tfhd = full_box(b"tfhd", 0, tfhd_flags, &tfhd);
    let tfdt = full_box(b"tfdt", 1, 0, &u.arbitrary::<u64>()?.to_be_bytes());
    // trun flags: data offset, first-sample flags, per-sample duration/size/flags/cto.
    let runs = u.int_in_range(1..=3)?;
    let mut truns = Vec::new();
    for _ in 0..runs {
        let flags = 0x1 | (u.int_in_range(0..=0xF05u32)? & 0xF04);
        let actual = t.samples.min(16);
        let version = u.int_in_range(0..=1)?;
        let mut body = Vec::new();
        be32(&mut body, claimed(u, actual)?);
        be32(&mut body, 0); // data_offset, patched below
        if flags & 0x4 != 0 {
            be32(&mut body, 0x0200_0000);
        }
        for _ in 0..actual {
            if flags & 0x100 != 0 {
                be32(&mut body, *u.choose(&[3000u32, 0, u32::MAX])?);
            }
            if flags & 0x200 != 0 {
                be32(&mut body, claimed(u, t.sample_size)?);
            }
            if flags & 0x400 != 0 {
                be32(&mut body, *u.choose(&[0u32, 0x0101_0000, 0x0200_0000])?);
            }
            if flags & 0x800 != 0 {
                be32(&mut body, *u.choose(&[0u32, 6000, u32::MAX])?);
            }
        }
        truns.push((version, flags, body));
    }
    let build = |data_offset: u32, truns: &[(u8, u32, Vec<u8>)]| {
        let mut traf = [tfhd.clone(), tfdt.clone()].concat();
        for (version, flags, body) in truns {
            let mut body = body.clone();
            body[4..8].copy_from_slice(&data_offset.to_be_bytes());
            traf.extend(full_box(b"trun", *version, *flags, &body));
        }
        mp4_box(b"moof", &[mfhd.clone(), mp4_box(b"traf", &traf)].concat())
    };
    let len = build(0, &truns).len() as u32;
    let offset = if u.ratio(7, 8)? {
        len + 8
    } else {
        u.arbitrary()?
    };
    let mut out = build(offset, &truns);
    let n = (t.mdat_len as usize).min(u.len());
    out.extend(mp4_box(b"mdat", u.bytes(n)?));
    Ok(out)
}

/// A whole file. Samples in the `mdat` are length-prefixed generated NAL units.
pub fn file(u: &mut Unstructured) -> Result<Vec<u8>> {
    let hevc = u.arbitrary()?;
    let fragmented = u.arbitrary()?;
    let ftyp = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
    let mut mdat = Vec::new();
    let samples = u.int_in_range(0..=12u32)?;
    let mut sample_size = 0u32;
    for _ in 0..samples {
        let nal = nal_gen::nal(u, hevc)?;
        let mut sample = (nal.len() as u32).to_be_bytes().to_vec();
        sample.extend(nal);
        sample_size = sample_size.max(sample.len() as u32);
        sample.resize(sample_size as usize, 0);
        mdat.extend(sample);
    }
    let t = Track {
        hevc,
        samples,
        sample_size,
        mdat_start: ftyp.len() as u32 + 8,
        mdat_len: mdat.len() as u32,
    };
    let mut out = ftyp;
    out.extend(mp4_box(b"mdat", &mdat));
    out.extend(moov(u, &t, fragmented)?);
    if fragmented {
        for sequence in 1..=u.int_in_range(1..=3)? {
            let at = out.len() as u64;
            out.extend(fragment(u, &t, sequence, at)?);
        }
    }
    Ok(out)
}
