//! The NVDEC calls the decoder makes, behind [`NvdecCalls`], so that its control logic
//! (sequence callback and reconfigure, display queue, errors, flush, teardown order) can run
//! against a double (`double.rs`, tests only) without a GPU. [`LibraryCalls`] is the real
//! implementation over `libnvcuvid`, opened once per process ([`library`]).

use super::ffi::*;
use crate::api::error::Result;
use crate::backend::nvidia::cuda::check;
use std::ffi::c_int;

/// Every raw cuvid call of the decoder. A handle is only used with the implementation that
/// made it. Calls that tear down return nothing: teardown cannot be refused.
pub(crate) trait NvdecCalls: Clone {
    /// `cuvidGetDecoderCaps` (the IN fields of `caps` set; a context current).
    fn decoder_caps(&self, caps: &mut CUVIDDECODECAPS) -> Result<()>;
    /// `cuvidCreateVideoParser`.
    ///
    /// # Safety
    /// `params.pUserData` must stay valid for the callbacks in `params` until the parser is
    /// destroyed, and the callbacks must accept it; they run inside [`NvdecCalls::parse`] on
    /// the calling thread.
    unsafe fn create_parser(&self, params: &mut CUVIDPARSERPARAMS) -> Result<CUvideoparser>;
    /// `cuvidParseVideoData` of one packet (`payload` `None`: no data, e.g. end of stream).
    /// The parser's callbacks run inside this call.
    fn parse(
        &self,
        parser: CUvideoparser,
        payload: Option<&[u8]>,
        flags: tcu_ulong,
        timestamp: i64,
    ) -> Result<()>;
    /// `cuvidDestroyVideoParser`.
    fn destroy_parser(&self, parser: CUvideoparser);
    /// `cuvidCreateDecoder` (a context current).
    fn create_decoder(&self, info: &mut CUVIDDECODECREATEINFO) -> Result<CUvideodecoder>;
    /// `cuvidReconfigureDecoder` (no surface mapped).
    fn reconfigure_decoder(
        &self,
        decoder: CUvideodecoder,
        info: &mut CUVIDRECONFIGUREDECODERINFO,
    ) -> Result<()>;
    /// `cuvidDecodePicture` of a picture the parser handed to the decode callback.
    fn decode_picture(&self, decoder: CUvideodecoder, pic: &mut CUVIDPICPARAMS) -> Result<()>;
    /// `cuvidGetDecodeStatus` of the picture on surface `index`.
    fn decode_status(&self, decoder: CUvideodecoder, index: c_int) -> Result<cuvidDecodeStatus>;
    /// `cuvidMapVideoFrame64`: the device address and pitch of surface `index`'s picture.
    fn map_frame(
        &self,
        decoder: CUvideodecoder,
        index: c_int,
        proc: &mut CUVIDPROCPARAMS,
    ) -> Result<(u64, u32)>;
    /// `cuvidUnmapVideoFrame64` (no read of the surface in flight).
    fn unmap_frame(&self, decoder: CUvideodecoder, ptr: u64);
    /// `cuvidDestroyDecoder` (no surface mapped).
    fn destroy_decoder(&self, decoder: CUvideodecoder);
}

/// The library, opened once per process.
pub(crate) fn library() -> std::result::Result<&'static Nvcuvid, String> {
    static LIB: std::sync::OnceLock<std::result::Result<Nvcuvid, String>> =
        std::sync::OnceLock::new();
    LIB.get_or_init(Nvcuvid::load)
        .as_ref()
        .map_err(Clone::clone)
}

/// The real calls, through the function table of `libnvcuvid`.
#[derive(Clone, Copy)]
pub(crate) struct LibraryCalls {
    lib: &'static Nvcuvid,
}

impl LibraryCalls {
    /// The calls of the loaded library.
    pub fn new(lib: &'static Nvcuvid) -> Self {
        Self { lib }
    }
}

impl NvdecCalls for LibraryCalls {
    fn decoder_caps(&self, caps: &mut CUVIDDECODECAPS) -> Result<()> {
        // SAFETY: `caps` is a valid CUVIDDECODECAPS with the IN fields set.
        let res = unsafe { (self.lib.get_decoder_caps)(caps) };
        check(res, "cuvidGetDecoderCaps")
    }

    unsafe fn create_parser(&self, params: &mut CUVIDPARSERPARAMS) -> Result<CUvideoparser> {
        let mut parser = std::ptr::null_mut();
        // SAFETY: `params` is fully initialised; the caller guarantees `pUserData` outlives
        // the parser.
        let res = unsafe { (self.lib.create_video_parser)(&mut parser, params) };
        check(res, "cuvidCreateVideoParser")?;
        Ok(parser)
    }

    fn parse(
        &self,
        parser: CUvideoparser,
        payload: Option<&[u8]>,
        flags: tcu_ulong,
        timestamp: i64,
    ) -> Result<()> {
        let mut packet = CUVIDSOURCEDATAPACKET {
            flags,
            payload_size: payload.map_or(0, |p| p.len() as tcu_ulong),
            payload: payload.map_or(std::ptr::null(), <[u8]>::as_ptr),
            timestamp,
        };
        // SAFETY: the parser is alive; the packet points at `payload`, borrowed for the call.
        let res = unsafe { (self.lib.parse_video_data)(parser, &mut packet) };
        check(res, "cuvidParseVideoData")
    }

    fn destroy_parser(&self, parser: CUvideoparser) {
        // SAFETY: created by cuvidCreateVideoParser; the caller destroys it once.
        let _ = unsafe { (self.lib.destroy_video_parser)(parser) };
    }

    fn create_decoder(&self, info: &mut CUVIDDECODECREATEINFO) -> Result<CUvideodecoder> {
        let mut handle = std::ptr::null_mut();
        // SAFETY: `info` is fully initialised; the caller made the context current.
        let res = unsafe { (self.lib.create_decoder)(&mut handle, info) };
        check(res, "cuvidCreateDecoder")?;
        Ok(handle)
    }

    fn reconfigure_decoder(
        &self,
        decoder: CUvideodecoder,
        info: &mut CUVIDRECONFIGUREDECODERINFO,
    ) -> Result<()> {
        // SAFETY: the handle is alive and no surface is mapped (the caller's contract).
        let res = unsafe { (self.lib.reconfigure_decoder)(decoder, info) };
        check(res, "cuvidReconfigureDecoder")
    }

    fn decode_picture(&self, decoder: CUvideodecoder, pic: &mut CUVIDPICPARAMS) -> Result<()> {
        // SAFETY: the handle is alive and `pic` comes straight from the parser's callback.
        let res = unsafe { (self.lib.decode_picture)(decoder, pic) };
        check(res, "cuvidDecodePicture")
    }

    fn decode_status(&self, decoder: CUvideodecoder, index: c_int) -> Result<cuvidDecodeStatus> {
        // SAFETY: an all-zero status struct is valid plain data.
        let mut status: CUVIDGETDECODESTATUS = unsafe { std::mem::zeroed() };
        // SAFETY: the handle is alive; the index comes from the parser.
        let res = unsafe { (self.lib.get_decode_status)(decoder, index, &mut status) };
        check(res, "cuvidGetDecodeStatus")?;
        Ok(status.decodeStatus)
    }

    fn map_frame(
        &self,
        decoder: CUvideodecoder,
        index: c_int,
        proc: &mut CUVIDPROCPARAMS,
    ) -> Result<(u64, u32)> {
        let (mut ptr, mut pitch) = (0u64, 0u32);
        // SAFETY: the handle is alive; the outputs are written by the call.
        let res = unsafe { (self.lib.map_video_frame)(decoder, index, &mut ptr, &mut pitch, proc) };
        check(res, "cuvidMapVideoFrame")?;
        Ok((ptr, pitch))
    }

    fn unmap_frame(&self, decoder: CUvideodecoder, ptr: u64) {
        // SAFETY: `ptr` was returned by cuvidMapVideoFrame on this handle; the caller has
        // synchronised every read of it.
        let _ = unsafe { (self.lib.unmap_video_frame)(decoder, ptr) };
    }

    fn destroy_decoder(&self, decoder: CUvideodecoder) {
        // SAFETY: created by cuvidCreateDecoder and destroyed once, no frame mapped.
        let _ = unsafe { (self.lib.destroy_decoder)(decoder) };
    }
}
