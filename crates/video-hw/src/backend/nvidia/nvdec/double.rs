//! `NvdecDouble`: a test double of the NVDEC calls, with its parser, and [`DoubleOutput`], a
//! double of the decoder's output that needs no CUDA. Together they drive the decoder's real
//! control logic ([`super::decoder`], sequence callback, display queue, flush, teardown)
//! without a GPU. It checks OUR logic against the rules the NVDEC documentation states; it
//! is not NVDEC and proves nothing about the hardware or the driver.
//!
//! **The parser.** The "bitstream" is a small script: each packet (its Annex-B start codes
//! skipped) holds commands separated by `;`:
//! - `seq W H [reorder=R] [min=M]`: a sequence header, coded `W`x`H` 4:2:0 8-bit, with `R`
//!   pictures of reordering (B-pictures) and a minimum of `M` decode surfaces. A header
//!   that changes the format first displays every picture held (as an IDR would), then
//!   calls the sequence callback; an unchanged one is not reported again.
//! - `pic T POC [error|concealed]`: a picture of type `T` (`I`, `P`, `B`) with display order
//!   `POC`, timestamped with the packet's timestamp. It takes a free decode surface and goes to
//!   the decode callback; with `error`, the engine reports a decode error for it, with
//!   `concealed` an error it concealed (`cuvidGetDecodeStatus`).
//!
//! The parser holds decoded pictures and displays the one of lowest `POC` while it holds
//! more than reorder + `ulMaxDisplayDelay`; the end of stream displays all, in `POC` order.
//!
//! **Rules it enforces** (a violation is recorded; tests assert there is none):
//! - a surface is mapped only once decoded, at most once at a time, and unmapped before the
//!   decoder is reconfigured or destroyed;
//! - a surface is not decoded into again before its displayed picture was copied out;
//! - no parse call or callback once the parser is destroyed; one decoder alive at a time;
//! - a decoder is left idle to a later session ([`Output::keep_idle_decoder`]) only with no
//!   surface mapped or awaiting its copy-out.

use super::calls::NvdecCalls;
use super::ffi::*;
use super::output::{Output, Picture};
use super::shelf::{DecoderKey, Shelf};
use crate::api::codec::Dimensions;
use crate::api::error::{Result, VideoError};
use crate::api::frame::{DecodedFrame, FrameData, PixelFormat};
use cudarc::driver::sys::CUstream;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::ffi::c_int;
use std::rc::Rc;

/// One call, as the double saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    CreateParser,
    DestroyParser,
    /// The sequence callback was called (size), and what it returned.
    Sequence {
        width: u32,
        height: u32,
        returned: i32,
    },
    CreateDecoder {
        width: u32,
        height: u32,
        surfaces: u32,
    },
    Reconfigure {
        width: u32,
        height: u32,
    },
    Decode {
        index: i32,
    },
    Map {
        index: i32,
    },
    Unmap {
        index: i32,
    },
    DestroyDecoder,
    /// The output kept the idle decoder for a later session ([`Output::keep_idle_decoder`]).
    KeptDecoder,
    /// The output handed out a kept decoder ([`Output::take_idle_decoder`]).
    TookDecoder,
    /// [`Output::finish`]: the copies in flight waited for.
    OutputFinish,
    /// The output (buffers, streams, context) dropped.
    OutputDropped,
}

/// A surface of the decoder.
#[derive(Debug, Clone, Copy, Default)]
struct Surface {
    decoded: bool,
    error: bool,
    /// The engine concealed an error in it (`cuvidDecodeStatus_Error_Concealed`).
    concealed: bool,
    /// Displayed and not yet mapped: may not be decoded into again.
    awaiting_copy: bool,
    mapped: bool,
}

/// A decoded picture the parser holds for display.
#[derive(Debug, Clone, Copy)]
struct Held {
    poc: i32,
    index: c_int,
    timestamp: i64,
}

#[derive(Default)]
struct Model {
    log: Vec<Call>,
    violations: Vec<String>,
    parser: Option<CUVIDPARSERPARAMS>,
    next_handle: usize,
    /// The live decoder: handle and surface table.
    decoder: Option<(usize, Vec<Surface>)>,
    /// The parser's sequence: size, reorder depth, surfaces the callback asked for.
    sequence: Option<(u32, u32, usize, usize)>,
    held: Vec<Held>,
    /// The idle decoders the outputs keep (outputs made by [`NvdecDouble::output_keeping`]).
    shelf: Option<Shelf<usize>>,
}

/// The double of the NVDEC calls (see the module doc); clones share one model.
#[derive(Clone, Default)]
pub(crate) struct NvdecDouble(Rc<RefCell<Model>>);

impl NvdecDouble {
    /// Every call so far, in order.
    pub fn log(&self) -> Vec<Call> {
        self.0.borrow().log.clone()
    }

    /// Rule violations seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.0.borrow().violations.clone()
    }

    /// An output double that records into this double's log and keeps no idle decoder (as
    /// a context of a session's own).
    pub fn output(&self) -> DoubleOutput {
        DoubleOutput {
            model: self.clone(),
            pending: VecDeque::new(),
            keeps: false,
        }
    }

    /// An output double that keeps idle decoders on this double's shelf, shared by every
    /// output it makes (as the primary context's sessions share the process's).
    pub fn output_keeping(&self) -> DoubleOutput {
        self.0
            .borrow_mut()
            .shelf
            .get_or_insert_with(|| Shelf::new(4));
        let mut output = self.output();
        output.keeps = true;
        output
    }

    /// Idle decoders on the shelf.
    pub fn kept(&self) -> usize {
        self.0.borrow().shelf.as_ref().map_or(0, Shelf::len)
    }

    fn record(&self, call: Call) {
        self.0.borrow_mut().log.push(call);
    }

    fn violation(&self, what: String) {
        self.0.borrow_mut().violations.push(what);
    }

    fn params(&self) -> Result<CUVIDPARSERPARAMS> {
        self.0
            .borrow()
            .parser
            .ok_or_else(|| VideoError::backend("double: parse without a parser"))
    }

    /// Runs one script command of a packet stamped `timestamp`.
    fn command(&self, cmd: &str, timestamp: i64) -> Result<()> {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let bad = || VideoError::invalid_bitstream(format!("double: bad command {cmd:?}"));
        let num =
            |w: Option<&&str>| -> Result<u32> { w.and_then(|w| w.parse().ok()).ok_or_else(bad) };
        match words.first().copied() {
            None => Ok(()),
            Some("seq") => {
                let (w, h) = (num(words.get(1))?, num(words.get(2))?);
                let opt = |key: &str| {
                    words
                        .iter()
                        .find_map(|w| w.strip_prefix(key)?.parse::<usize>().ok())
                };
                let reorder = opt("reorder=").unwrap_or(0);
                let min = opt("min=").unwrap_or(1 + reorder);
                self.sequence(w, h, reorder, min)
            }
            Some("pic") => {
                let intra = match words.get(1).copied() {
                    Some("I") => true,
                    Some("P" | "B") => false,
                    _ => return Err(bad()),
                };
                let poc = words.get(2).and_then(|w| w.parse().ok()).ok_or_else(bad)?;
                let status = words.get(3).copied();
                self.picture(intra, poc, status, timestamp)
            }
            Some(_) => Err(bad()),
        }
    }

    fn sequence(&self, w: u32, h: u32, reorder: usize, min: usize) -> Result<()> {
        let current = self.0.borrow().sequence;
        if current.is_some_and(|(cw, ch, r, _)| (cw, ch, r) == (w, h, reorder)) {
            return Ok(());
        }
        // A new sequence starts with an IDR: every picture held is displayed first.
        self.display_while(|_| true)?;
        let params = self.params()?;
        let mut format = CUVIDEOFORMAT {
            codec: params.CodecType,
            coded_width: w,
            coded_height: h,
            min_num_decode_surfaces: min as u8,
            chroma_format: cudaVideoChromaFormat_420,
            progressive_sequence: 1,
            display_area: IntRect {
                left: 0,
                top: 0,
                right: w as c_int,
                bottom: h as c_int,
            },
            ..Default::default()
        };
        let callback = params.pfnSequenceCallback.expect("sequence callback");
        // SAFETY: the decoder registered this callback with this user data; the format is
        // valid for the call and no borrow of the model is held across it.
        let returned = unsafe { callback(params.pUserData, &mut format) };
        self.record(Call::Sequence {
            width: w,
            height: h,
            returned,
        });
        if returned == 0 {
            self.0.borrow_mut().sequence = None;
            return Err(VideoError::backend("double: the sequence callback failed"));
        }
        if (returned as usize) < min {
            self.violation(format!(
                "{returned} surfaces asked, below the minimum {min}"
            ));
        }
        self.0.borrow_mut().sequence = Some((w, h, reorder, returned as usize));
        Ok(())
    }

    fn picture(&self, intra: bool, poc: i32, status: Option<&str>, timestamp: i64) -> Result<()> {
        let Some((_, _, reorder, surfaces)) = self.0.borrow().sequence else {
            return Err(VideoError::invalid_bitstream(
                "double: a picture before any sequence",
            ));
        };
        // The parser's free surface: not held for display, not awaiting its copy.
        let index = {
            let m = self.0.borrow();
            let busy = |i: usize| {
                m.held.iter().any(|h| h.index as usize == i)
                    || m.decoder
                        .as_ref()
                        .and_then(|(_, s)| s.get(i))
                        .is_some_and(|s| s.awaiting_copy || s.mapped)
            };
            (0..surfaces).find(|&i| !busy(i))
        };
        let Some(index) = index else {
            self.violation(format!("no free surface of {surfaces} for picture {poc}"));
            return Err(VideoError::backend("double: no free decode surface"));
        };
        let params = self.params()?;
        // SAFETY: CUVIDPICPARAMS is plain data; all-zero is a valid value.
        let mut pic: Box<CUVIDPICPARAMS> = Box::new(unsafe { std::mem::zeroed() });
        pic.CurrPicIdx = index as c_int;
        pic.intra_pic_flag = c_int::from(intra);
        pic.ref_pic_flag = 1;
        let callback = params.pfnDecodePicture.expect("decode callback");
        // SAFETY: as in `sequence`.
        let ok = unsafe { callback(params.pUserData, &mut *pic) };
        if ok == 0 {
            return Ok(());
        }
        if let Some((_, table)) = self.0.borrow_mut().decoder.as_mut()
            && let Some(s) = table.get_mut(index)
        {
            s.error = status == Some("error");
            s.concealed = status == Some("concealed");
        }
        self.0.borrow_mut().held.push(Held {
            poc,
            index: index as c_int,
            timestamp,
        });
        let depth = reorder + params.ulMaxDisplayDelay as usize;
        self.display_while(|held| held > depth)
    }

    /// Displays the held picture of lowest POC while `more(held count)`.
    fn display_while(&self, more: impl Fn(usize) -> bool) -> Result<()> {
        loop {
            let next = {
                let mut m = self.0.borrow_mut();
                if m.held.is_empty() || !more(m.held.len()) {
                    return Ok(());
                }
                let at = (0..m.held.len())
                    .min_by_key(|&i| m.held[i].poc)
                    .expect("not empty");
                let h = m.held.remove(at);
                if let Some((_, table)) = m.decoder.as_mut()
                    && let Some(s) = table.get_mut(h.index as usize)
                {
                    s.awaiting_copy = true;
                }
                h
            };
            let params = self.params()?;
            let mut info = CUVIDPARSERDISPINFO {
                picture_index: next.index,
                progressive_frame: 1,
                top_field_first: 0,
                repeat_first_field: 0,
                timestamp: next.timestamp,
            };
            let callback = params.pfnDisplayPicture.expect("display callback");
            // SAFETY: as in `sequence`.
            unsafe { callback(params.pUserData, &mut info) };
        }
    }

    /// Checks `handle` is the live decoder and runs `f` on its surface table.
    fn with_surfaces<T>(
        &self,
        handle: CUvideodecoder,
        what: &str,
        f: impl FnOnce(&mut Vec<Surface>) -> Result<T>,
    ) -> Result<T> {
        let mut m = self.0.borrow_mut();
        match m.decoder.as_mut() {
            Some((h, table)) if *h == handle as usize => f(table),
            _ => {
                drop(m);
                self.violation(format!("{what} on a decoder that is not alive"));
                Err(VideoError::backend(format!(
                    "double: {what} without decoder"
                )))
            }
        }
    }
}

impl NvdecCalls for NvdecDouble {
    fn decoder_caps(&self, caps: &mut CUVIDDECODECAPS) -> Result<()> {
        caps.bIsSupported = 1;
        caps.nNumNVDECs = 1;
        caps.nOutputFormatMask = (1 << cudaVideoSurfaceFormat_NV12) as u16;
        caps.nMaxWidth = 4096;
        caps.nMaxHeight = 4096;
        caps.nMaxMBCount = 65536;
        caps.nMinWidth = 16;
        caps.nMinHeight = 16;
        Ok(())
    }

    unsafe fn create_parser(&self, params: &mut CUVIDPARSERPARAMS) -> Result<CUvideoparser> {
        self.record(Call::CreateParser);
        let mut m = self.0.borrow_mut();
        if m.parser.is_some() {
            m.violations
                .push("a second parser while one is alive".into());
        }
        m.parser = Some(*params);
        m.sequence = None;
        m.held.clear();
        m.next_handle += 1;
        Ok(m.next_handle as CUvideoparser)
    }

    fn parse(
        &self,
        _parser: CUvideoparser,
        payload: Option<&[u8]>,
        flags: tcu_ulong,
        timestamp: i64,
    ) -> Result<()> {
        self.params()?;
        let timestamp = if flags & CUVID_PKT_TIMESTAMP != 0 {
            timestamp
        } else {
            0
        };
        let text = payload.unwrap_or_default();
        let text = text.strip_prefix(&[0, 0, 0, 1]).unwrap_or(text);
        let text = std::str::from_utf8(text)
            .map_err(|_| VideoError::invalid_bitstream("double: script is not UTF-8"))?;
        for cmd in text.split(';') {
            self.command(cmd, timestamp)?;
        }
        if flags & CUVID_PKT_ENDOFSTREAM != 0 {
            self.display_while(|_| true)?;
        }
        Ok(())
    }

    fn destroy_parser(&self, _parser: CUvideoparser) {
        self.record(Call::DestroyParser);
        let mut m = self.0.borrow_mut();
        if m.parser.take().is_none() {
            m.violations.push("parser destroyed twice".into());
        }
    }

    fn create_decoder(&self, info: &mut CUVIDDECODECREATEINFO) -> Result<CUvideodecoder> {
        let (width, height) = (info.ulWidth as u32, info.ulHeight as u32);
        let surfaces = info.ulNumDecodeSurfaces as u32;
        self.record(Call::CreateDecoder {
            width,
            height,
            surfaces,
        });
        let mut m = self.0.borrow_mut();
        if m.decoder.is_some() {
            m.violations
                .push("a second decoder while one is alive".into());
        }
        m.next_handle += 1;
        let handle = m.next_handle;
        m.decoder = Some((handle, vec![Surface::default(); surfaces as usize]));
        Ok(handle as CUvideodecoder)
    }

    fn reconfigure_decoder(
        &self,
        decoder: CUvideodecoder,
        info: &mut CUVIDRECONFIGUREDECODERINFO,
    ) -> Result<()> {
        self.record(Call::Reconfigure {
            width: info.ulWidth,
            height: info.ulHeight,
        });
        let mapped =
            self.with_surfaces(decoder, "reconfigure", |t| Ok(t.iter().any(|s| s.mapped)))?;
        if mapped {
            self.violation("reconfigured with a surface mapped".into());
        }
        Ok(())
    }

    fn decode_picture(&self, decoder: CUvideodecoder, pic: &mut CUVIDPICPARAMS) -> Result<()> {
        let index = pic.CurrPicIdx;
        self.record(Call::Decode { index });
        let reused = self.with_surfaces(decoder, "decode", |t| {
            let s = t
                .get_mut(index as usize)
                .ok_or_else(|| VideoError::backend("double: surface index out of range"))?;
            let reused = s.awaiting_copy || s.mapped;
            *s = Surface {
                decoded: true,
                ..Surface::default()
            };
            Ok(reused)
        })?;
        if reused {
            self.violation(format!("surface {index} decoded into before its copy-out"));
        }
        Ok(())
    }

    fn decode_status(&self, decoder: CUvideodecoder, index: c_int) -> Result<cuvidDecodeStatus> {
        self.with_surfaces(decoder, "status", |t| {
            Ok(match t.get_mut(index as usize) {
                Some(s) if s.error => {
                    // A picture in error is not copied out: its surface is free again.
                    s.awaiting_copy = false;
                    cuvidDecodeStatus_Error
                }
                Some(s) if s.concealed => cuvidDecodeStatus_Error_Concealed,
                // cuvidDecodeStatus_Success
                _ => 1,
            })
        })
    }

    fn map_frame(
        &self,
        decoder: CUvideodecoder,
        index: c_int,
        _proc: &mut CUVIDPROCPARAMS,
    ) -> Result<(u64, u32)> {
        self.record(Call::Map { index });
        let problem = self.with_surfaces(decoder, "map", |t| {
            let s = t
                .get_mut(index as usize)
                .ok_or_else(|| VideoError::backend("double: surface index out of range"))?;
            let problem = if !s.decoded {
                Some("mapped before it was decoded")
            } else if s.mapped {
                Some("mapped twice")
            } else {
                None
            };
            s.mapped = true;
            s.awaiting_copy = false;
            Ok(problem)
        })?;
        if let Some(p) = problem {
            self.violation(format!("surface {index} {p}"));
        }
        Ok((surface_ptr(index), 256))
    }

    fn unmap_frame(&self, decoder: CUvideodecoder, ptr: u64) {
        let index = surface_index(ptr);
        self.record(Call::Unmap { index });
        let was = self.with_surfaces(decoder, "unmap", |t| {
            Ok(t.get_mut(index as usize)
                .map(|s| std::mem::replace(&mut s.mapped, false)))
        });
        if !matches!(was, Ok(Some(true))) {
            self.violation(format!("surface {index} unmapped but not mapped"));
        }
    }

    fn destroy_decoder(&self, decoder: CUvideodecoder) {
        self.record(Call::DestroyDecoder);
        let mapped = self.with_surfaces(decoder, "destroy", |t| Ok(t.iter().any(|s| s.mapped)));
        if !matches!(mapped, Ok(false)) {
            self.violation("decoder destroyed with a surface mapped (or twice)".into());
        }
        self.0.borrow_mut().decoder = None;
    }
}

/// The fake device address of surface `index`'s mapped picture.
fn surface_ptr(index: c_int) -> u64 {
    0x1000_0000 + ((index as u64) << 20)
}

fn surface_index(ptr: u64) -> c_int {
    (ptr.wrapping_sub(0x1000_0000) >> 20) as c_int
}

/// The output double: each mapped picture becomes a metadata-only frame (size, crop, pts,
/// keyframe), handed out at once; it checks that the surface is mapped while it reads it.
pub(crate) struct DoubleOutput {
    model: NvdecDouble,
    pending: VecDeque<DecodedFrame>,
    /// Idle decoders go to the model's shelf.
    keeps: bool,
}

impl Output for DoubleOutput {
    fn make_current(&self) -> Result<()> {
        Ok(())
    }

    fn map_stream(&self) -> CUstream {
        std::ptr::null_mut()
    }

    fn copy_out(&mut self, picture: &Picture) -> Result<()> {
        let index = surface_index(picture.ptr);
        let mapped = {
            let m = self.model.0.borrow();
            m.decoder
                .as_ref()
                .and_then(|(_, t)| t.get(index as usize))
                .is_some_and(|s| s.mapped)
        };
        if !mapped {
            self.model
                .violation(format!("surface {index} read while not mapped"));
        }
        let coded = Dimensions::new(picture.coded_width, picture.coded_height)?;
        self.pending.push_back(DecodedFrame {
            format: PixelFormat::Nv12,
            coded,
            crop: picture.display,
            color: picture.color,
            pts: picture.pts,
            keyframe: picture.keyframe,
            data: FrameData::MetadataOnly,
        });
        Ok(())
    }

    fn pending(&self) -> usize {
        self.pending.len()
    }

    fn release(
        &mut self,
        out: &mut Vec<DecodedFrame>,
        _due: usize,
        _all: bool,
        _errors: &mut Vec<VideoError>,
    ) {
        out.extend(self.pending.drain(..));
    }

    fn finish(&mut self) {
        self.model.record(Call::OutputFinish);
    }

    fn conversion_fallbacks(&self) -> u64 {
        0
    }

    fn take_idle_decoder(&mut self, key: &DecoderKey) -> Option<CUvideodecoder> {
        if !self.keeps {
            return None;
        }
        let taken = self.model.0.borrow_mut().shelf.as_mut()?.take(key)?;
        self.model.record(Call::TookDecoder);
        Some(taken as CUvideodecoder)
    }

    fn keep_idle_decoder(
        &mut self,
        key: DecoderKey,
        handle: CUvideodecoder,
    ) -> Option<CUvideodecoder> {
        if !self.keeps {
            return Some(handle);
        }
        let mapped = self.model.with_surfaces(handle, "keep", |t| {
            Ok(t.iter().any(|s| s.mapped || s.awaiting_copy))
        });
        if !matches!(mapped, Ok(false)) {
            self.model
                .violation("decoder kept with a surface mapped or awaiting copy-out".into());
        }
        let pushed_out = match self.model.0.borrow_mut().shelf.as_mut() {
            Some(shelf) => shelf.put(key, handle as usize, std::time::Instant::now()),
            None => return Some(handle),
        };
        self.model.record(Call::KeptDecoder);
        pushed_out.map(|h| h as CUvideodecoder)
    }
}

impl Drop for DoubleOutput {
    fn drop(&mut self) {
        self.model.record(Call::OutputDropped);
    }
}

/// Maps and unmaps per surface in `log`.
pub(crate) fn maps_per_surface(log: &[Call]) -> BTreeMap<i32, (usize, usize)> {
    let mut per = BTreeMap::new();
    for call in log {
        match *call {
            Call::Map { index } => per.entry(index).or_insert((0, 0)).0 += 1,
            Call::Unmap { index } => per.entry(index).or_insert((0, 0)).1 += 1,
            _ => {}
        }
    }
    per
}
