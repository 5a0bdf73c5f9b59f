//! MPEG transport stream demuxing (ISO/IEC 13818-1): the first H.264 or HEVC video stream
//! of the first program, as its PES packets (Annex-B bytes with a 90 kHz presentation time).
//!
//! PAT/PMT parsing and PES reassembly are done by the `mpeg2ts-reader` crate. This module
//! feeds it whole packets: it finds the packet size (188, or 192 for M2TS), resynchronises
//! after damage, drops PES packets that lost data (continuity-counter gaps), unwraps the
//! 33-bit clock, and counts everything it skipped with the byte offset of the first damage.
//! Nothing it reads makes it fail: damage is skipped and counted; only I/O errors and a
//! stream without H.264/HEVC video are errors.

use super::demuxed::{DemuxedFrame, FrameLayout};
use super::sniff::ts_packet_size;
use crate::api::codec::{Codec, Timebase, Timestamp};
use crate::api::error::{Result, VideoError};
use mpeg2ts_reader::demultiplex::{
    self, DemuxContext, FilterChangeset, FilterRequest, NullPacketFilter, PatPacketFilter,
    PmtPacketFilter,
};
use mpeg2ts_reader::pes::{self, ElementaryStreamConsumer, PesContents, PtsDts};
use mpeg2ts_reader::{StreamType, packet_filter_switch, psi};
use std::collections::VecDeque;
use std::io::Read;

/// Bytes read from the file at a time.
const READ_CHUNK: usize = 64 * 1024;
/// How far into the file the PAT and PMT must have named a video stream.
pub const MAX_PROBE_BYTES: u64 = 8 << 20;
/// Largest PES packet kept (a PES that grows beyond it is damaged, and dropped).
pub const MAX_PES_BYTES: usize = 64 << 20;
/// The 33-bit PTS wraps at this value.
const PTS_WRAP: i64 = 1 << 33;

/// The video stream a [`TsDemuxer`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsStreamInfo {
    /// Its packet id.
    pub pid: u16,
    /// Its codec (from the PMT's `stream_type`).
    pub codec: Codec,
    /// Bytes per packet: 188, or 192 for M2TS (a 4-byte time code before each packet).
    pub packet_size: usize,
}

/// What the demuxer skipped, with the offset of the first damage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsSummary {
    /// Elementary streams skipped (audio, data, further video), as `stream_type` names.
    pub streams_skipped: Vec<String>,
    /// Transport packets read.
    pub packets: u64,
    /// Times the packet sync was lost and found again.
    pub resyncs: u64,
    /// Bytes skipped while resynchronising, and a cut packet at the end.
    pub bytes_skipped: u64,
    /// Video PES packets dropped because packets of them were missing (continuity gaps) or
    /// they grew past [`MAX_PES_BYTES`].
    pub pes_dropped: u64,
    /// Bytes of a last packet cut short (a truncated file).
    pub truncated_tail: u64,
    /// Byte offset of the first damage seen, if any.
    pub first_damage_at: Option<u64>,
    /// Video PES packets returned.
    pub frames_read: u64,
}

impl TsSummary {
    /// Whether anything was skipped for damage.
    pub fn damaged(&self) -> bool {
        self.first_damage_at.is_some()
    }

    fn damage_at(&mut self, offset: u64) {
        self.first_damage_at.get_or_insert(offset);
    }
}

packet_filter_switch! {
    TsFilter<TsContext> {
        Pes: pes::PesPacketFilter<TsContext, VideoConsumer>,
        Pat: PatPacketFilter<TsContext>,
        Pmt: PmtPacketFilter<TsContext>,
        Null: NullPacketFilter<TsContext>,
    }
}

/// One video PES packet being put together.
struct PesInProgress {
    pts: Option<u64>,
    data: Vec<u8>,
    offset: u64,
    damaged: bool,
}

/// What the crate's callbacks share: the chosen stream and the finished PES packets.
pub struct TsContext {
    changeset: FilterChangeset<TsFilter>,
    video: Option<(u16, Codec)>,
    summary: TsSummary,
    current: Option<PesInProgress>,
    ready: VecDeque<PesInProgress>,
    /// Offset of the packet being pushed.
    packet_offset: u64,
}

impl TsContext {
    fn finish_current(&mut self) {
        if let Some(pes) = self.current.take() {
            if pes.damaged {
                self.summary.pes_dropped = self.summary.pes_dropped.saturating_add(1);
                self.summary.damage_at(pes.offset);
            } else if !pes.data.is_empty() {
                self.ready.push_back(pes);
            }
        }
    }
}

impl DemuxContext for TsContext {
    type F = TsFilter;

    fn filter_changeset(&mut self) -> &mut FilterChangeset<TsFilter> {
        &mut self.changeset
    }

    fn construct(&mut self, req: FilterRequest<'_, '_>) -> TsFilter {
        match req {
            FilterRequest::ByPid(psi::pat::PAT_PID) => TsFilter::Pat(PatPacketFilter::default()),
            FilterRequest::ByPid(_) | FilterRequest::Nit { .. } => {
                TsFilter::Null(NullPacketFilter::default())
            }
            FilterRequest::Pmt {
                pid,
                program_number,
            } => TsFilter::Pmt(PmtPacketFilter::new(pid, program_number)),
            FilterRequest::ByStream {
                stream_type,
                stream_info,
                ..
            } => {
                let codec = if stream_type == StreamType::H264 {
                    Some(Codec::H264)
                } else if stream_type == StreamType::H265 {
                    Some(Codec::Hevc)
                } else {
                    None
                };
                let pid = u16::from(stream_info.elementary_pid());
                match (codec, self.video) {
                    (Some(codec), None) => {
                        self.video = Some((pid, codec));
                        TsFilter::Pes(pes::PesPacketFilter::new(VideoConsumer))
                    }
                    (Some(_), Some((chosen, _))) if chosen == pid => {
                        // The PMT again (a new version): keep reading the same stream.
                        TsFilter::Pes(pes::PesPacketFilter::new(VideoConsumer))
                    }
                    _ => {
                        let name = format!("{stream_type:?} (pid {pid})");
                        if !self.summary.streams_skipped.contains(&name) {
                            self.summary.streams_skipped.push(name);
                        }
                        TsFilter::Null(NullPacketFilter::default())
                    }
                }
            }
        }
    }
}

/// Collects the chosen video stream's PES packets into the context.
pub struct VideoConsumer;

impl ElementaryStreamConsumer<TsContext> for VideoConsumer {
    fn start_stream(&mut self, _ctx: &mut TsContext) {}

    fn begin_packet(&mut self, ctx: &mut TsContext, header: pes::PesHeader<'_>) {
        ctx.finish_current();
        let (pts, payload, damaged) = match header.contents() {
            PesContents::Parsed(Some(parsed)) => {
                let pts = match parsed.pts_dts() {
                    Ok(PtsDts::PtsOnly(Ok(pts))) | Ok(PtsDts::Both { pts: Ok(pts), .. }) => {
                        Some(pts.value())
                    }
                    _ => None,
                };
                (pts, parsed.payload(), false)
            }
            PesContents::Parsed(None) => (None, &[][..], true),
            PesContents::Payload(payload) => (None, payload, false),
        };
        ctx.current = Some(PesInProgress {
            pts,
            data: payload.to_vec(),
            offset: ctx.packet_offset,
            damaged,
        });
    }

    fn continue_packet(&mut self, ctx: &mut TsContext, data: &[u8]) {
        if let Some(pes) = &mut ctx.current {
            if pes.data.len().saturating_add(data.len()) > MAX_PES_BYTES {
                pes.damaged = true;
                pes.data = Vec::new();
            }
            if !pes.damaged {
                pes.data.extend_from_slice(data);
            }
        }
    }

    fn end_packet(&mut self, ctx: &mut TsContext) {
        ctx.finish_current();
    }

    fn continuity_error(&mut self, ctx: &mut TsContext) {
        let at = ctx.packet_offset;
        ctx.summary.damage_at(at);
        if let Some(pes) = &mut ctx.current {
            pes.damaged = true;
            pes.data = Vec::new();
        }
    }
}

/// Reads the first H.264/HEVC video stream of an MPEG-TS (or M2TS) file from any `Read`.
pub struct TsDemuxer<R> {
    reader: R,
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    pos: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    eof: bool,
    info: TsStreamInfo,
    lead: usize,
    ctx: TsContext,
    demux: demultiplex::Demultiplex<TsContext>,
    /// Last PTS returned (unwrapped), to unwrap the next one.
    last_pts: Option<i64>,
    /// Whether the sync was lost and not yet found again.
    lost_sync: bool,
}

impl<R> std::fmt::Debug for TsDemuxer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsDemuxer")
            .field("stream", &self.info)
            .field("summary", &self.ctx.summary)
            .finish_non_exhaustive()
    }
}

impl<R: Read> TsDemuxer<R> {
    /// Reads packets until the PAT and PMT name an H.264 or HEVC stream (within
    /// [`MAX_PROBE_BYTES`]); `Unsupported` when they name none, `InvalidBitstream` when the
    /// bytes are not a transport stream.
    pub fn new(reader: R) -> Result<Self> {
        let mut ctx = TsContext {
            changeset: FilterChangeset::default(),
            video: None,
            summary: TsSummary::default(),
            current: None,
            ready: VecDeque::new(),
            packet_offset: 0,
        };
        let demux = demultiplex::Demultiplex::new(&mut ctx);
        let mut this = Self {
            reader,
            buf: Vec::new(),
            pos: 0,
            buf_offset: 0,
            eof: false,
            info: TsStreamInfo {
                pid: 0,
                codec: Codec::H264,
                packet_size: 188,
            },
            lead: 0,
            ctx,
            demux,
            last_pts: None,
            lost_sync: false,
        };
        this.fill(3 * 192 + 4)?;
        let packet_size = ts_packet_size(&this.buf).ok_or_else(|| {
            VideoError::invalid_bitstream(
                "MPEG-TS: no 0x47 sync byte every 188 or 192 bytes at the start of the file",
            )
        })?;
        this.info.packet_size = packet_size;
        this.lead = packet_size.saturating_sub(188);
        while this.ctx.video.is_none() {
            if this.offset() > MAX_PROBE_BYTES || !this.push_next_packet()? {
                let streams = &this.ctx.summary.streams_skipped;
                return Err(VideoError::unsupported(if streams.is_empty() {
                    format!(
                        "MPEG-TS: no program with a video stream in the first {} bytes \
                         (no PAT/PMT found)",
                        this.offset()
                    )
                } else {
                    format!(
                        "MPEG-TS: no H.264 or HEVC video stream (streams: {}); convert it \
                         first, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4",
                        streams.join(", ")
                    )
                }));
            }
        }
        if let Some((pid, codec)) = this.ctx.video {
            this.info.pid = pid;
            this.info.codec = codec;
        }
        Ok(this)
    }

    /// The video stream being read.
    pub fn stream(&self) -> &TsStreamInfo {
        &self.info
    }

    /// What was skipped so far.
    pub fn summary(&self) -> &TsSummary {
        &self.ctx.summary
    }

    /// The next PES packet of the video stream (Annex-B bytes, 90 kHz PTS), `None` at the
    /// end. Damaged packets are skipped and counted in [`summary`](Self::summary).
    pub fn next_frame(&mut self) -> Result<Option<DemuxedFrame>> {
        loop {
            if let Some(pes) = self.ctx.ready.pop_front() {
                self.ctx.summary.frames_read = self.ctx.summary.frames_read.saturating_add(1);
                let pts = pes.pts.map(|raw| self.unwrap_pts(raw));
                return Ok(Some(DemuxedFrame {
                    data: pes.data,
                    layout: FrameLayout::AnnexB,
                    pts: pts.map(|ticks| Timestamp {
                        ticks,
                        timebase: Timebase::MPEG_90K,
                    }),
                    keyframe: None,
                    offset: pes.offset,
                }));
            }
            if !self.push_next_packet()? {
                // The last PES has no end marker: the end of the file ends it.
                self.ctx.finish_current();
                if self.ctx.ready.is_empty() {
                    return Ok(None);
                }
            }
        }
    }

    /// A 33-bit PTS made continuous with the last one (the clock wraps every 26.5 hours).
    fn unwrap_pts(&mut self, raw: u64) -> i64 {
        let raw = i64::try_from(raw & 0x1_FFFF_FFFF).unwrap_or(0);
        let ticks = match self.last_pts {
            None => raw,
            Some(last) => {
                let base = last.saturating_sub(last.rem_euclid(PTS_WRAP));
                // The candidate nearest the last PTS, over three wrap periods.
                [
                    base.saturating_sub(PTS_WRAP),
                    base,
                    base.saturating_add(PTS_WRAP),
                ]
                .into_iter()
                .map(|b| b.saturating_add(raw))
                .min_by_key(|t| t.abs_diff(last))
                .unwrap_or(raw)
            }
        };
        self.last_pts = Some(ticks);
        ticks
    }

    /// File offset of the next unread byte.
    fn offset(&self) -> u64 {
        self.buf_offset.saturating_add(self.pos as u64)
    }

    /// Reads until at least `want` unread bytes are buffered or the file ends.
    fn fill(&mut self, want: usize) -> Result<()> {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.buf_offset = self.buf_offset.saturating_add(self.pos as u64);
            self.pos = 0;
        }
        while !self.eof && self.buf.len().saturating_sub(self.pos) < want {
            let start = self.buf.len();
            self.buf.resize(start.saturating_add(READ_CHUNK), 0);
            let got = loop {
                match self.reader.read(&mut self.buf[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.buf.truncate(start);
                        return Err(super::read_error("reading MPEG-TS", e));
                    }
                }
            };
            self.buf.truncate(start.saturating_add(got));
            self.eof = got == 0;
        }
        Ok(())
    }

    /// Whether a sync byte sits at `at` (an index into `buf`, at the start of a packet).
    fn synced_at(&self, at: usize) -> bool {
        at.checked_add(self.lead)
            .and_then(|i| self.buf.get(i))
            .is_some_and(|&b| b == 0x47)
    }

    /// Hands the next whole packet to the demultiplexer; `false` at the end of the file.
    fn push_next_packet(&mut self) -> Result<bool> {
        let size = self.info.packet_size;
        loop {
            self.fill(size.saturating_mul(2))?;
            let available = self.buf.len().saturating_sub(self.pos);
            if available == 0 {
                return Ok(false);
            }
            if available < size && self.eof {
                // A packet cut short: the file is truncated.
                let at = self.offset();
                let summary = &mut self.ctx.summary;
                summary.truncated_tail = available as u64;
                summary.bytes_skipped = summary.bytes_skipped.saturating_add(available as u64);
                summary.damage_at(at);
                self.pos = self.buf.len();
                return Ok(false);
            }
            if self.synced_at(self.pos) {
                break;
            }
            self.resync(size);
        }
        self.lost_sync = false;
        self.ctx.packet_offset = self.offset();
        self.ctx.summary.packets = self.ctx.summary.packets.saturating_add(1);
        let start = self.pos.saturating_add(self.lead);
        let end = self.pos.saturating_add(size);
        self.demux.push(&mut self.ctx, &self.buf[start..end]);
        self.pos = end;
        Ok(true)
    }

    /// Skips to the next offset where a sync byte starts a packet and another one follows a
    /// packet later (or the buffered bytes end), counting what was skipped. Moves at least
    /// one byte.
    fn resync(&mut self, size: usize) {
        let from = self.offset();
        let mut at = self.pos.saturating_add(1);
        while at < self.buf.len() {
            let next = at.saturating_add(size);
            if self.synced_at(at) && (next >= self.buf.len() || self.synced_at(next)) {
                break;
            }
            at = at.saturating_add(1);
        }
        let at = at.min(self.buf.len());
        let summary = &mut self.ctx.summary;
        if !self.lost_sync {
            summary.resyncs = summary.resyncs.saturating_add(1);
            summary.damage_at(from);
            self.lost_sync = true;
        }
        summary.bytes_skipped = summary
            .bytes_skipped
            .saturating_add(at.saturating_sub(self.pos) as u64);
        self.pos = at;
    }
}

impl<R: Read> Iterator for TsDemuxer<R> {
    type Item = Result<DemuxedFrame>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32/MPEG-2 of a PSI section.
    fn crc32_mpeg2(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b) << 24;
            for _ in 0..8 {
                crc = if crc & 0x8000_0000 != 0 {
                    (crc << 1) ^ 0x04C1_1DB7
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    /// One 188-byte packet: header, then `payload` padded with an adaptation field.
    fn packet(pid: u16, start: bool, cc: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() <= 184);
        let mut p = vec![
            0x47,
            (u8::from(start) << 6) | (pid >> 8) as u8,
            pid as u8,
            0x10 | (cc & 0x0F),
        ];
        let pad = 184 - payload.len();
        if pad > 0 {
            p[3] |= 0x20;
            p.push((pad - 1) as u8);
            if pad > 1 {
                p.push(0);
                p.extend(std::iter::repeat_n(0xFF, pad - 2));
            }
        }
        p.extend_from_slice(payload);
        assert_eq!(p.len(), 188);
        p
    }

    /// A PSI section (pointer field first) with its CRC.
    fn section(table_id: u8, id: u16, body: &[u8]) -> Vec<u8> {
        let len = 5 + body.len() + 4;
        let mut s = vec![
            table_id,
            0xB0 | (len >> 8) as u8,
            len as u8,
            (id >> 8) as u8,
            id as u8,
            0xC1,
            0,
            0,
        ];
        s.extend_from_slice(body);
        let crc = crc32_mpeg2(&s);
        s.extend_from_slice(&crc.to_be_bytes());
        let mut with_pointer = vec![0];
        with_pointer.extend(s);
        with_pointer
    }

    fn pat() -> Vec<u8> {
        // Program 1 on PMT pid 0x1000.
        packet(0, true, 0, &section(0x00, 1, &[0, 1, 0xF0, 0x00]))
    }

    fn pmt(video_type: u8) -> Vec<u8> {
        let body = [
            0xE1, 0x00, // PCR pid 0x100
            0xF0, 0x00, // no program info
            video_type, 0xE1, 0x00, 0xF0, 0x00, // video on 0x100
            0x0F, 0xE1, 0x01, 0xF0, 0x00, // ADTS audio on 0x101
        ];
        packet(0x1000, true, 0, &section(0x02, 1, &body))
    }

    /// A PES packet (unbounded length) with a PTS, in one TS packet.
    fn pes(pid: u16, cc: u8, pts: u64, es: &[u8]) -> Vec<u8> {
        let mut p = vec![0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 5];
        p.push(0x21 | (((pts >> 30) & 0x07) << 1) as u8);
        p.push((pts >> 22) as u8);
        p.push(0x01 | (((pts >> 15) & 0x7F) << 1) as u8);
        p.push((pts >> 7) as u8);
        p.push(0x01 | ((pts & 0x7F) << 1) as u8);
        p.extend_from_slice(es);
        packet(pid, true, cc, &p)
    }

    const AU: &[u8] = &[0, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x65, 0x88];

    fn stream(video_type: u8) -> Vec<u8> {
        let mut ts = [pat(), pmt(video_type)].concat();
        for (i, pts) in [900u64, 4500, 8100].into_iter().enumerate() {
            ts.extend(pes(0x100, i as u8, pts, AU));
            ts.extend(packet(0x101, true, i as u8, &[0xFF, 0xF1]));
        }
        ts
    }

    fn frames(ts: &[u8]) -> (Vec<DemuxedFrame>, TsSummary) {
        let mut demux = TsDemuxer::new(ts).unwrap();
        let frames = demux.by_ref().collect::<Result<Vec<_>>>().unwrap();
        (frames, demux.summary().clone())
    }

    #[test]
    fn video_pes_packets_come_out_with_their_pts_and_the_audio_is_skipped() {
        let ts = stream(0x1B);
        let demux = TsDemuxer::new(&ts[..]).unwrap();
        assert_eq!(demux.stream().codec, Codec::H264);
        assert_eq!(demux.stream().pid, 0x100);
        let (frames, summary) = frames(&ts);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].data, AU);
        assert_eq!(frames[0].layout, FrameLayout::AnnexB);
        let pts: Vec<i64> = frames.iter().map(|f| f.pts.unwrap().ticks).collect();
        assert_eq!(pts, [900, 4500, 8100]);
        assert_eq!(frames[1].offset, 4 * 188);
        assert_eq!(summary.streams_skipped.len(), 1, "{summary:?}");
        assert!(!summary.damaged());
        assert_eq!(
            TsDemuxer::new(&stream(0x24)[..]).unwrap().stream().codec,
            Codec::Hevc
        );
    }

    #[test]
    fn garbage_between_packets_is_skipped_and_counted_with_its_offset() {
        let mut ts = stream(0x1B);
        let at = 4 * 188;
        ts.splice(at..at, [0x11u8; 57]);
        let (frames, summary) = frames(&ts);
        assert_eq!(frames.len(), 3);
        assert_eq!(summary.resyncs, 1);
        assert_eq!(summary.bytes_skipped, 57);
        assert_eq!(summary.first_damage_at, Some(at as u64));
    }

    #[test]
    fn a_continuity_gap_drops_the_pes_it_hits_and_a_cut_tail_is_counted() {
        let mut ts = stream(0x1B);
        // Drop the second video packet: the third arrives with a counter gap.
        ts.drain(4 * 188..5 * 188);
        ts.truncate(ts.len() - 100);
        let (frames, summary) = frames(&ts);
        assert_eq!(summary.truncated_tail, 88, "{summary:?}");
        assert!(summary.pes_dropped >= 1, "{summary:?}");
        assert!(frames.len() < 3);
        assert!(summary.damaged());
    }

    #[test]
    fn streams_without_video_or_without_sync_are_refused() {
        let audio_only = [pat(), pmt(0x0F)].concat();
        let err = TsDemuxer::new(&audio_only[..]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
        assert!(err.to_string().contains("no H.264 or HEVC"), "{err}");
        let err = TsDemuxer::new(&[0u8; 400][..]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidBitstream);
    }

    #[test]
    fn pts_that_wraps_at_33_bits_stays_continuous() {
        let mut ts = [pat(), pmt(0x1B)].concat();
        ts.extend(pes(0x100, 0, PTS_WRAP as u64 - 1800, AU));
        ts.extend(pes(0x100, 1, 1800, AU));
        let (frames, _) = frames(&ts);
        assert_eq!(frames[1].pts.unwrap().ticks, PTS_WRAP + 1800);
    }

    proptest::proptest! {
        #[test]
        fn damaged_streams_never_panic_and_return_no_more_than_they_hold(
            cuts in proptest::collection::vec((0usize..1400, proptest::num::u8::ANY), 0..24)
        ) {
            let mut ts = stream(0x1B);
            for (at, b) in cuts {
                let at = at % ts.len();
                ts[at] = b;
            }
            if let Ok(demux) = TsDemuxer::new(&ts[..]) {
                let total: usize = demux.take(64).filter_map(|f| f.ok()).map(|f| f.data.len()).sum();
                proptest::prop_assert!(total <= ts.len());
            }
        }
    }
}
