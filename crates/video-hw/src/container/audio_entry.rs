//! Audio sample descriptions: what codec a track holds, and the ISO sample entry that
//! carries it unchanged into another MP4.
//!
//! ISO entries (`mp4a` + `esds`, `Opus` + `dOps`, `fLaC` + `dfLa`) are decoded by
//! `shiguredo_mp4`. QuickTime files (`.mov`) describe sound with version 1 or 2 of the
//! QuickTime sound description, which has more fields before the child boxes and keeps
//! `esds` inside a `wave` box; those fields are read here and the entry rebuilt as ISO.

use shiguredo_mp4::boxes::{AudioSampleEntryFields, DopsBox, EsdsBox, Mp4aBox, SampleEntry};
use shiguredo_mp4::{BoxHeader, Decode, FixedPointNumber};

/// An audio codec found in an MP4/MOV track.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudioCodec {
    /// AAC (`mp4a`, MPEG-4 audio or MPEG-2 AAC).
    Aac,
    /// MP3 (`mp4a` with the MPEG-1/2 audio object type).
    Mp3,
    /// Opus (`Opus`).
    Opus,
    /// FLAC (`fLaC`).
    Flac,
    /// Anything else, by its sample-entry type (`lpcm`, `sowt`, `ac-3`, `alac`...).
    Other(String),
}

impl std::fmt::Display for AudioCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AudioCodec::Aac => f.write_str("aac"),
            AudioCodec::Mp3 => f.write_str("mp3"),
            AudioCodec::Opus => f.write_str("opus"),
            AudioCodec::Flac => f.write_str("flac"),
            AudioCodec::Other(fourcc) => write!(f, "`{fourcc}`"),
        }
    }
}

/// What an audio sample description says.
#[derive(Debug, Clone)]
pub(super) struct AudioEntry {
    pub(super) codec: AudioCodec,
    pub(super) fourcc: String,
    pub(super) channels: u16,
    pub(super) sample_rate: u32,
    /// The codec's own configuration (AAC AudioSpecificConfig); empty when there is none.
    pub(super) decoder_config: Vec<u8>,
    /// The ISO sample entry that carries this codec in MP4 (`None`: MP4 cannot carry it
    /// as written here).
    pub(super) iso_entry: Option<SampleEntry>,
}

/// Reads an audio sample description (the whole box, as in the file).
pub(super) fn read_audio_entry(raw: &[u8]) -> AudioEntry {
    let fourcc = raw
        .get(4..8)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default();
    let Ok((entry, _)) = SampleEntry::decode(raw) else {
        return read_quicktime_entry(raw, fourcc);
    };
    match &entry {
        SampleEntry::Mp4a(b) => mp4a_entry(&b.audio, &b.esds_box, entry.clone()),
        SampleEntry::Opus(b) => AudioEntry {
            codec: AudioCodec::Opus,
            fourcc,
            channels: b.audio.channelcount,
            sample_rate: 48_000,
            decoder_config: Vec::new(),
            iso_entry: Some(entry.clone()),
        },
        SampleEntry::Flac(b) => AudioEntry {
            codec: AudioCodec::Flac,
            fourcc,
            channels: b.audio.channelcount,
            sample_rate: u32::from(b.audio.samplerate.integer),
            decoder_config: Vec::new(),
            iso_entry: Some(entry.clone()),
        },
        _ => read_quicktime_entry(raw, fourcc),
    }
}

fn mp4a_entry(audio: &AudioSampleEntryFields, esds: &EsdsBox, iso: SampleEntry) -> AudioEntry {
    let config = &esds.es.dec_config_descr;
    let codec = match config.object_type_indication {
        // MPEG-4 audio, MPEG-2 AAC (main, LC, SSR).
        0x40 | 0x66..=0x68 => AudioCodec::Aac,
        0x69 | 0x6B => AudioCodec::Mp3,
        other => AudioCodec::Other(format!("mp4a/0x{other:02x}")),
    };
    let decoder_config = config
        .dec_specific_info
        .as_ref()
        .map(|d| d.payload.clone())
        .unwrap_or_default();
    let sample_rate = aac_sample_rate(&decoder_config)
        .filter(|_| codec == AudioCodec::Aac)
        .unwrap_or(u32::from(audio.samplerate.integer));
    AudioEntry {
        codec,
        fourcc: "mp4a".into(),
        channels: audio.channelcount,
        sample_rate,
        decoder_config,
        iso_entry: Some(iso),
    }
}

/// The sampling rate an AAC AudioSpecificConfig names (ISO/IEC 14496-3 1.6.2.1).
fn aac_sample_rate(asc: &[u8]) -> Option<u32> {
    const RATES: [u32; 13] = [
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    ];
    let b0 = *asc.first()?;
    let b1 = *asc.get(1)?;
    let index = ((b0 & 0x07) << 1) | (b1 >> 7);
    if index == 0x0f {
        let b2 = u32::from(*asc.get(2)?);
        let b3 = u32::from(*asc.get(3)?);
        let b4 = u32::from(*asc.get(4)?);
        return Some(((u32::from(b1) & 0x7f) << 17) | (b2 << 9) | (b3 << 1) | (b4 >> 7));
    }
    RATES.get(usize::from(index)).copied()
}

/// A QuickTime sound description (version 0, 1 or 2) as ISO: the fields, then `esds` or
/// `dOps` directly among the children or inside `wave`.
fn read_quicktime_entry(raw: &[u8], fourcc: String) -> AudioEntry {
    let other = |fourcc: String| AudioEntry {
        codec: AudioCodec::Other(fourcc.clone()),
        fourcc,
        channels: 0,
        sample_rate: 0,
        decoder_config: Vec::new(),
        iso_entry: None,
    };
    let Ok((_, header_len)) = BoxHeader::decode(raw) else {
        return other(fourcc);
    };
    let payload = raw.get(header_len..).unwrap_or_default();
    let be16 = |at: usize| {
        payload
            .get(at..at.saturating_add(2))
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
    };
    let (Some(version), Some(channels16), Some(rate16)) = (be16(8), be16(16), be16(24)) else {
        return other(fourcc);
    };
    let (children_at, channels, sample_rate) = match version {
        0 => (28usize, channels16, u32::from(rate16)),
        1 => (44, channels16, u32::from(rate16)),
        2 => {
            let rate = payload
                .get(32..40)
                .and_then(|b| b.try_into().ok())
                .map(f64::from_be_bytes)
                .filter(|r| r.is_finite() && *r >= 0.0 && *r <= f64::from(u32::MAX))
                .map_or(0, |r| r as u32);
            let channels = payload
                .get(40..44)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(0);
            (64, channels, rate)
        }
        _ => return other(fourcc),
    };
    let children = payload.get(children_at..).unwrap_or_default();
    let fields = AudioSampleEntryFields {
        data_reference_index: AudioSampleEntryFields::DEFAULT_DATA_REFERENCE_INDEX,
        channelcount: channels,
        samplesize: AudioSampleEntryFields::DEFAULT_SAMPLESIZE,
        samplerate: FixedPointNumber::new(u16::try_from(sample_rate).unwrap_or(0), 0),
    };
    if fourcc == "mp4a"
        && let Some(esds) = find_box(children, b"esds")
            .or_else(|| find_box(children, b"wave").and_then(|w| find_box(payload_of(w), b"esds")))
            .and_then(|b| EsdsBox::decode(b).ok().map(|(e, _)| e))
    {
        let iso = SampleEntry::Mp4a(Mp4aBox {
            audio: fields.clone(),
            esds_box: esds.clone(),
            unknown_boxes: Vec::new(),
        });
        let mut entry = mp4a_entry(&fields, &esds, iso);
        if entry.sample_rate == 0 {
            entry.sample_rate = sample_rate;
        }
        return entry;
    }
    if fourcc == "Opus"
        && let Some(dops) = find_box(children, b"dOps").and_then(|b| DopsBox::decode(b).ok())
    {
        let iso = SampleEntry::Opus(shiguredo_mp4::boxes::OpusBox {
            audio: fields,
            dops_box: dops.0,
            unknown_boxes: Vec::new(),
        });
        return AudioEntry {
            codec: AudioCodec::Opus,
            fourcc,
            channels,
            sample_rate: 48_000,
            decoder_config: Vec::new(),
            iso_entry: Some(iso),
        };
    }
    AudioEntry {
        channels,
        sample_rate,
        ..other(fourcc)
    }
}

/// The first box of type `kind` among boxes laid end to end (whole box bytes).
fn find_box<'a>(mut bytes: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    while bytes.len() >= 8 {
        let size = usize::try_from(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?)).ok()?;
        if size < 8 || size > bytes.len() {
            return None;
        }
        let (this, rest) = bytes.split_at(size);
        if this.get(4..8) == Some(kind.as_slice()) {
            return Some(this);
        }
        bytes = rest;
    }
    None
}

/// The payload of a whole box with a 32-bit size.
fn payload_of(b: &[u8]) -> &[u8] {
    b.get(8..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aac_sample_rate_comes_from_the_audio_specific_config() {
        // AAC-LC, 44.1 kHz (index 4), stereo.
        assert_eq!(aac_sample_rate(&[0x12, 0x10]), Some(44100));
        // AAC-LC, 48 kHz (index 3).
        assert_eq!(aac_sample_rate(&[0x11, 0x90]), Some(48000));
        assert_eq!(aac_sample_rate(&[0x12]), None);
    }

    #[test]
    fn garbage_entries_are_other_codecs_not_panics() {
        for raw in [
            &b""[..],
            b"\0\0\0\x08mp4a",
            b"\0\0\0\x10sowt\0\0\0\0\0\0\0\x01",
            b"\0\0\0\x0cmp4a\xff\xff\xff\xff",
        ] {
            let entry = read_audio_entry(raw);
            assert!(entry.iso_entry.is_none(), "{raw:?}");
            assert!(matches!(entry.codec, AudioCodec::Other(_)));
        }
    }
}
