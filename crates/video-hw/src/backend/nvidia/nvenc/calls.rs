//! The NVENC calls the encoder makes, behind [`NvencCalls`], so that the ring, reap order and
//! switch mapping in [`super::encoder`] can be tested against a double without a GPU.
//! [`DriverCalls`] is the real implementation over one open NVENC session.

use super::ffi::*;
use super::library::Nvenc;
use crate::api::codec::Codec;
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use std::ffi::{CStr, c_void};
use std::sync::Arc;

/// An NVENC handle (input buffer, bitstream buffer, registered or mapped resource).
pub(crate) type Handle = usize;

/// Everything the encoder asks of a session at initialisation or reconfiguration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionParams {
    pub codec: Codec,
    pub width: u32,
    pub height: u32,
    pub max_width: u32,
    pub max_height: u32,
    pub fps_num: u32,
    pub fps_den: u32,
    pub tuning: NV_ENC_TUNING_INFO,
    pub rc_mode: NV_ENC_PARAMS_RC_MODE,
    pub average_bitrate: u32,
    pub max_bitrate: u32,
    pub const_qp: u32,
    pub gop_length: u32,
    pub idr_period: u32,
    /// `frameIntervalP`: B-frames + 1.
    pub frame_interval_p: i32,
}

/// Where a picture's pixels are for `nvEncEncodePicture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PicSubmit {
    /// Input buffer or mapped resource; 0 with `NV_ENC_PIC_FLAG_EOS`.
    pub input: Handle,
    /// Bitstream buffer; 0 with `NV_ENC_PIC_FLAG_EOS`.
    pub output: Handle,
    pub width: u32,
    pub height: u32,
    pub pitch: u32,
    pub format: NV_ENC_BUFFER_FORMAT,
    pub flags: u32,
    pub timestamp: u64,
}

/// What `nvEncEncodePicture` said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Submitted {
    /// `NV_ENC_SUCCESS`: every output submitted so far can be locked.
    Ready,
    /// `NV_ENC_ERR_NEED_MORE_INPUT`: the picture is held (B-frames); no output is ready.
    NeedMoreInput,
}

/// One locked (and already unlocked) bitstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Locked {
    pub data: Vec<u8>,
    pub picture_type: NV_ENC_PIC_TYPE,
    pub timestamp: u64,
}

/// The NVENC calls we make on one session.
pub(crate) trait NvencCalls {
    /// Applies the preset and our settings and initialises the encoder.
    fn initialize(&mut self, p: &SessionParams) -> Result<()>;
    /// `nvEncReconfigureEncoder`; `reset_idr` resets the encoder and forces an IDR.
    fn reconfigure(&mut self, p: &SessionParams, reset_idr: bool) -> Result<()>;
    /// A host-upload input buffer of `width`x`height` in `format`.
    fn create_input(
        &mut self,
        width: u32,
        height: u32,
        format: NV_ENC_BUFFER_FORMAT,
    ) -> Result<Handle>;
    fn destroy_input(&mut self, h: Handle);
    fn create_output(&mut self) -> Result<Handle>;
    fn destroy_output(&mut self, h: Handle);
    /// Locks `input`, copies the picture's planes into it, unlocks; returns the pitch.
    fn upload(&mut self, input: Handle, picture: &EncodeInput) -> Result<u32>;
    /// Registers a CUDA device pointer holding NV12 of `width`x`height` at `pitch`.
    fn register_cuda(&mut self, ptr: u64, pitch: u32, width: u32, height: u32) -> Result<Handle>;
    fn unregister(&mut self, registered: Handle);
    fn map(&mut self, registered: Handle) -> Result<Handle>;
    fn unmap(&mut self, mapped: Handle);
    fn encode(&mut self, pic: &PicSubmit) -> Result<Submitted>;
    /// Locks `output` (waiting for the hardware), copies the bytes out, unlocks.
    fn lock_output(&mut self, output: Handle) -> Result<Locked>;
}

/// Maps a status other than success to a typed error naming the call and the status.
pub(crate) fn status_error(status: NVENCSTATUS, what: &str, detail: &str) -> VideoError {
    let name = status_name(status);
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    match status {
        NV_ENC_ERR_NO_ENCODE_DEVICE | NV_ENC_ERR_UNSUPPORTED_DEVICE => VideoError::unsupported(
            format!("{what}: {name}: this GPU has no NVENC encode engine{detail}"),
        ),
        NV_ENC_ERR_DEVICE_NOT_EXIST | NV_ENC_ERR_INVALID_DEVICE | NV_ENC_ERR_INVALID_VERSION => {
            VideoError::unsupported(format!(
                "{what}: {name}: NVENC cannot open a session on this device/driver{detail}"
            ))
        }
        NV_ENC_ERR_UNSUPPORTED_PARAM => VideoError::unsupported(format!("{what}: {name}{detail}")),
        NV_ENC_ERR_INVALID_PARAM => VideoError::invalid_input(format!("{what}: {name}{detail}")),
        NV_ENC_ERR_ENCODER_BUSY | NV_ENC_ERR_LOCK_BUSY => {
            VideoError::backpressure(format!("{what}: {name}{detail}"))
        }
        _ => VideoError::backend(format!("{what}: {name}{detail}")),
    }
}

/// Why `nvEncOpenEncodeSessionEx` failed: `Unsupported` naming the cause, except when the
/// device has NVENC but no room for another session (`Backend`).
pub(crate) fn open_error(status: NVENCSTATUS) -> VideoError {
    const WHAT: &str = "nvEncOpenEncodeSessionEx";
    match status {
        NV_ENC_ERR_OUT_OF_MEMORY | NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY => {
            status_error(status, WHAT, "NVENC is present but refused another session")
        }
        NV_ENC_ERR_NO_ENCODE_DEVICE | NV_ENC_ERR_UNSUPPORTED_DEVICE => {
            status_error(status, WHAT, "")
        }
        s => VideoError::unsupported(format!(
            "{WHAT}: {}: NVENC cannot open a session on this device",
            status_name(s)
        )),
    }
}

/// One open NVENC session on the CUDA primary context.
pub(crate) struct DriverCalls {
    lib: &'static Nvenc,
    encoder: *mut c_void,
    codec_guid: GUID,
    config: Box<NV_ENC_CONFIG>,
    init: Box<NV_ENC_INITIALIZE_PARAMS>,
    /// Keeps the CUDA context alive as long as the session.
    _ctx: Arc<crate::backend::nvidia::cuda::Context>,
}

impl DriverCalls {
    /// Opens a session (`nvEncOpenEncodeSessionEx` on device `gpu`'s primary context).
    pub fn open(lib: &'static Nvenc, codec: Codec, gpu: u32) -> Result<Self> {
        let (codec_guid, _) = codec_params(codec)?;
        let ctx = crate::backend::nvidia::cuda::Context::retain(gpu)?;
        let cu_ctx = cudarc::driver::result::ctx::get_current()
            .map_err(|e| crate::backend::nvidia::cuda::map_error(e, "cuCtxGetCurrent"))?
            .ok_or_else(|| VideoError::backend("no current CUDA context after retain"))?;
        let mut params = NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS::zeroed();
        params.version = NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER;
        params.deviceType = NV_ENC_DEVICE_TYPE_CUDA;
        params.device = cu_ctx.cast();
        params.apiVersion = NVENCAPI_VERSION;
        let mut encoder = std::ptr::null_mut();
        let open = lib.fns.nvEncOpenEncodeSessionEx.ok_or_else(missing)?;
        // SAFETY: `params` is a zeroed, versioned struct as the header requires; `encoder`
        // receives the session handle; the CUDA context is retained by `ctx`.
        let status = unsafe { open(&mut params, &mut encoder) };
        if status != NV_ENC_SUCCESS {
            if !encoder.is_null()
                && let Some(destroy) = lib.fns.nvEncDestroyEncoder
            {
                // SAFETY: the header asks the client to destroy a session whose opening failed.
                unsafe { destroy(encoder) };
            }
            return Err(open_error(status));
        }
        Ok(Self {
            lib,
            encoder,
            codec_guid,
            config: Box::new(NV_ENC_CONFIG::zeroed()),
            init: Box::new(NV_ENC_INITIALIZE_PARAMS::zeroed()),
            _ctx: ctx,
        })
    }

    fn last_error(&self) -> String {
        let Some(f) = self.lib.fns.nvEncGetLastErrorString else {
            return String::new();
        };
        // SAFETY: the session is open; the driver returns a NUL-terminated string it owns.
        let p = unsafe { f(self.encoder) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: non-null, NUL-terminated, valid until the next call on this session.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    fn check(&self, status: NVENCSTATUS, what: &str) -> Result<()> {
        if status == NV_ENC_SUCCESS {
            Ok(())
        } else {
            Err(status_error(status, what, &self.last_error()))
        }
    }

    /// Largest picture NVENC encodes for `codec` (`NV_ENC_CAPS_WIDTH_MAX/HEIGHT_MAX`).
    pub fn max_size(&self, codec: Codec) -> Result<(u32, u32)> {
        let caps = self.lib.fns.nvEncGetEncodeCaps.ok_or_else(missing)?;
        let (guid, _) = codec_params(codec)?;
        let mut out = [0u32; 2];
        for (i, cap) in [NV_ENC_CAPS_WIDTH_MAX, NV_ENC_CAPS_HEIGHT_MAX]
            .into_iter()
            .enumerate()
        {
            let mut p = NV_ENC_CAPS_PARAM {
                version: NV_ENC_CAPS_PARAM_VER,
                capsToQuery: cap,
                reserved: [0; 62],
            };
            let mut v = 0;
            // SAFETY: open session, versioned caps struct, `v` receives the value.
            let status = unsafe { caps(self.encoder, guid, &mut p, &mut v) };
            self.check(status, "nvEncGetEncodeCaps")?;
            out[i] = u32::try_from(v).unwrap_or(0);
        }
        Ok((out[0], out[1]))
    }

    fn fill_init(&mut self, p: &SessionParams) -> Result<()> {
        let preset = self
            .lib
            .fns
            .nvEncGetEncodePresetConfigEx
            .ok_or_else(missing)?;
        let mut pc = Box::new(NV_ENC_PRESET_CONFIG::zeroed());
        pc.version = NV_ENC_PRESET_CONFIG_VER;
        pc.presetCfg.version = NV_ENC_CONFIG_VER;
        // SAFETY: open session; `pc` is a zeroed, versioned struct the driver fills.
        let status = unsafe {
            preset(
                self.encoder,
                self.codec_guid,
                NV_ENC_PRESET_P4_GUID,
                p.tuning,
                &mut *pc,
            )
        };
        self.check(status, "nvEncGetEncodePresetConfigEx")?;
        let mut cfg = pc.presetCfg;
        cfg.version = NV_ENC_CONFIG_VER;
        cfg.profileGUID = NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID;
        cfg.gopLength = p.gop_length;
        cfg.frameIntervalP = p.frame_interval_p;
        cfg.rcParams.rateControlMode = p.rc_mode;
        // No lookahead: it would hold more pictures than the ring is sized for.
        cfg.rcParams.flags &= !RC_ENABLE_LOOKAHEAD;
        cfg.rcParams.lookaheadDepth = 0;
        cfg.rcParams.averageBitRate = p.average_bitrate;
        cfg.rcParams.maxBitRate = p.max_bitrate;
        cfg.rcParams.constQP = NV_ENC_QP {
            qpInterP: p.const_qp,
            qpInterB: p.const_qp,
            qpIntra: p.const_qp,
        };
        let (_, offset) = codec_params(p.codec)?;
        cfg.encodeCodecConfig.set_u32(offset, p.idr_period);
        *self.config = cfg;
        let init = &mut *self.init;
        *init = NV_ENC_INITIALIZE_PARAMS::zeroed();
        init.version = NV_ENC_INITIALIZE_PARAMS_VER;
        init.encodeGUID = self.codec_guid;
        init.presetGUID = NV_ENC_PRESET_P4_GUID;
        init.encodeWidth = p.width;
        init.encodeHeight = p.height;
        init.darWidth = p.width;
        init.darHeight = p.height;
        init.frameRateNum = p.fps_num;
        init.frameRateDen = p.fps_den;
        init.enablePTD = 1;
        init.encodeConfig = &mut *self.config;
        init.maxEncodeWidth = p.max_width;
        init.maxEncodeHeight = p.max_height;
        init.tuningInfo = p.tuning;
        Ok(())
    }
}

fn missing() -> VideoError {
    VideoError::unsupported("libnvidia-encode's function table lacks an entry we need")
}

/// The encode GUID and the offset of `idrPeriod` in the codec config: NVENC encodes H.264 and
/// HEVC here, anything else is `Unsupported`.
fn codec_params(codec: Codec) -> Result<(GUID, usize)> {
    match codec {
        Codec::H264 => Ok((NV_ENC_CODEC_H264_GUID, H264_IDR_PERIOD_OFFSET)),
        Codec::Hevc => Ok((NV_ENC_CODEC_HEVC_GUID, HEVC_IDR_PERIOD_OFFSET)),
        other => Err(VideoError::unsupported(format!(
            "NVENC encodes H.264 and HEVC here, not {other}"
        ))),
    }
}

fn ptr(h: Handle) -> *mut c_void {
    h as *mut c_void
}

impl NvencCalls for DriverCalls {
    fn initialize(&mut self, p: &SessionParams) -> Result<()> {
        self.fill_init(p)?;
        let f = self.lib.fns.nvEncInitializeEncoder.ok_or_else(missing)?;
        // SAFETY: open session; `init` points at `config`, both boxed and owned by `self`.
        let status = unsafe { f(self.encoder, &mut *self.init) };
        self.check(status, "nvEncInitializeEncoder")
    }

    fn reconfigure(&mut self, p: &SessionParams, reset_idr: bool) -> Result<()> {
        self.fill_init(p)?;
        let f = self.lib.fns.nvEncReconfigureEncoder.ok_or_else(missing)?;
        let mut r = Box::new(NV_ENC_RECONFIGURE_PARAMS::zeroed());
        r.version = NV_ENC_RECONFIGURE_PARAMS_VER;
        r.reInitEncodeParams = *self.init;
        if reset_idr {
            r.flags = RECONFIGURE_RESET_ENCODER | RECONFIGURE_FORCE_IDR;
        }
        // SAFETY: open, initialised session; `r` embeds init params pointing at our config.
        let status = unsafe { f(self.encoder, &mut *r) };
        self.check(status, "nvEncReconfigureEncoder")
    }

    fn create_input(
        &mut self,
        width: u32,
        height: u32,
        format: NV_ENC_BUFFER_FORMAT,
    ) -> Result<Handle> {
        let f = self.lib.fns.nvEncCreateInputBuffer.ok_or_else(missing)?;
        let mut p = Box::new(NV_ENC_CREATE_INPUT_BUFFER::zeroed());
        p.version = NV_ENC_CREATE_INPUT_BUFFER_VER;
        p.width = width;
        p.height = height;
        p.bufferFmt = format;
        // SAFETY: open session; versioned zeroed struct; the driver writes `inputBuffer`.
        let status = unsafe { f(self.encoder, &mut *p) };
        self.check(status, "nvEncCreateInputBuffer")?;
        Ok(p.inputBuffer as Handle)
    }

    fn destroy_input(&mut self, h: Handle) {
        if let Some(f) = self.lib.fns.nvEncDestroyInputBuffer {
            // SAFETY: `h` came from nvEncCreateInputBuffer on this session and is not in use.
            unsafe { f(self.encoder, ptr(h)) };
        }
    }

    fn create_output(&mut self) -> Result<Handle> {
        let f = self
            .lib
            .fns
            .nvEncCreateBitstreamBuffer
            .ok_or_else(missing)?;
        let mut p = Box::new(NV_ENC_CREATE_BITSTREAM_BUFFER::zeroed());
        p.version = NV_ENC_CREATE_BITSTREAM_BUFFER_VER;
        // SAFETY: open session; versioned zeroed struct; the driver writes `bitstreamBuffer`.
        let status = unsafe { f(self.encoder, &mut *p) };
        self.check(status, "nvEncCreateBitstreamBuffer")?;
        Ok(p.bitstreamBuffer as Handle)
    }

    fn destroy_output(&mut self, h: Handle) {
        if let Some(f) = self.lib.fns.nvEncDestroyBitstreamBuffer {
            // SAFETY: `h` came from nvEncCreateBitstreamBuffer on this session, not locked.
            unsafe { f(self.encoder, ptr(h)) };
        }
    }

    fn upload(&mut self, input: Handle, picture: &EncodeInput) -> Result<u32> {
        let lock = self.lib.fns.nvEncLockInputBuffer.ok_or_else(missing)?;
        let unlock = self.lib.fns.nvEncUnlockInputBuffer.ok_or_else(missing)?;
        let mut p = Box::new(NV_ENC_LOCK_INPUT_BUFFER::zeroed());
        p.version = NV_ENC_LOCK_INPUT_BUFFER_VER;
        p.inputBuffer = ptr(input);
        // SAFETY: `input` is an input buffer of this session, not in use by the hardware
        // (the ring only reuses it after its output was locked).
        let status = unsafe { lock(self.encoder, &mut *p) };
        self.check(status, "nvEncLockInputBuffer")?;
        let pitch = p.pitch as usize;
        let base = p.bufferDataPtr.cast::<u8>();
        let dims = picture.dimensions();
        let (w, h) = (dims.width() as usize, dims.height() as usize);
        let copy = |dst_off: usize, plane: usize, row: usize, rows: usize, dst_pitch: usize| {
            let src = &picture.planes()[plane];
            let bytes = src.data.as_slice();
            for r in 0..rows {
                let s = &bytes[r * src.stride..r * src.stride + row];
                // SAFETY: the locked NV12 buffer holds `pitch` bytes per row for the luma
                // height plus half of it for chroma, at the current encode size, which is
                // this picture's size (the encoder checks it before uploading).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        s.as_ptr(),
                        base.add(dst_off + r * dst_pitch),
                        row,
                    )
                };
            }
        };
        // Input buffers are created at the current encode size (recreated after a resize).
        let buffer_height = self.init.encodeHeight as usize;
        match picture.format() {
            PixelFormat::Nv12 => {
                copy(0, 0, w, h, pitch);
                copy(
                    pitch * buffer_height,
                    1,
                    w.div_ceil(2) * 2,
                    h.div_ceil(2),
                    pitch,
                );
            }
            PixelFormat::I420 => {
                copy(0, 0, w, h, pitch);
                // Interleave U and V into the NV12 chroma plane.
                let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
                let (u, v) = (&picture.planes()[1], &picture.planes()[2]);
                let mut row = vec![0u8; cw * 2];
                for r in 0..ch {
                    let us = &u.data.as_slice()[r * u.stride..r * u.stride + cw];
                    let vs = &v.data.as_slice()[r * v.stride..r * v.stride + cw];
                    for (i, (a, b)) in us.iter().zip(vs).enumerate() {
                        row[2 * i] = *a;
                        row[2 * i + 1] = *b;
                    }
                    // SAFETY: as for `copy`: the chroma plane starts at `pitch * height`
                    // and holds `height / 2` rows of `pitch` bytes.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            row.as_ptr(),
                            base.add(pitch * buffer_height + r * pitch),
                            cw * 2,
                        )
                    };
                }
            }
            other => {
                // SAFETY: unlock what we locked above.
                unsafe { unlock(self.encoder, ptr(input)) };
                return Err(VideoError::unsupported(format!(
                    "NVENC input must be NV12 or I420, got {other}"
                )));
            }
        }
        // SAFETY: unlock what we locked above.
        let status = unsafe { unlock(self.encoder, ptr(input)) };
        self.check(status, "nvEncUnlockInputBuffer")?;
        u32::try_from(pitch).map_err(|_| VideoError::backend("input pitch overflows u32"))
    }

    fn register_cuda(&mut self, dptr: u64, pitch: u32, width: u32, height: u32) -> Result<Handle> {
        let f = self.lib.fns.nvEncRegisterResource.ok_or_else(missing)?;
        let mut p = Box::new(NV_ENC_REGISTER_RESOURCE::zeroed());
        p.version = NV_ENC_REGISTER_RESOURCE_VER;
        p.resourceType = NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR;
        p.width = width;
        p.height = height;
        p.pitch = pitch;
        p.resourceToRegister = dptr as *mut c_void;
        p.bufferFormat = NV_ENC_BUFFER_FORMAT_NV12;
        p.bufferUsage = NV_ENC_INPUT_IMAGE;
        // SAFETY: open session; `dptr` is a live CUDA allocation of this context holding
        // NV12 at `pitch` (the caller keeps it alive until unregistered).
        let status = unsafe { f(self.encoder, &mut *p) };
        self.check(status, "nvEncRegisterResource")?;
        Ok(p.registeredResource as Handle)
    }

    fn unregister(&mut self, registered: Handle) {
        if let Some(f) = self.lib.fns.nvEncUnregisterResource {
            // SAFETY: `registered` came from nvEncRegisterResource and is unmapped.
            unsafe { f(self.encoder, ptr(registered)) };
        }
    }

    fn map(&mut self, registered: Handle) -> Result<Handle> {
        let f = self.lib.fns.nvEncMapInputResource.ok_or_else(missing)?;
        let mut p = Box::new(NV_ENC_MAP_INPUT_RESOURCE::zeroed());
        p.version = NV_ENC_MAP_INPUT_RESOURCE_VER;
        p.registeredResource = ptr(registered);
        // SAFETY: open session; `registered` is a registered resource of it.
        let status = unsafe { f(self.encoder, &mut *p) };
        self.check(status, "nvEncMapInputResource")?;
        Ok(p.mappedResource as Handle)
    }

    fn unmap(&mut self, mapped: Handle) {
        if let Some(f) = self.lib.fns.nvEncUnmapInputResource {
            // SAFETY: `mapped` came from nvEncMapInputResource; its picture was encoded.
            unsafe { f(self.encoder, ptr(mapped)) };
        }
    }

    fn encode(&mut self, pic: &PicSubmit) -> Result<Submitted> {
        let f = self.lib.fns.nvEncEncodePicture.ok_or_else(missing)?;
        let mut p = Box::new(NV_ENC_PIC_PARAMS::zeroed());
        p.version = NV_ENC_PIC_PARAMS_VER;
        p.inputWidth = pic.width;
        p.inputHeight = pic.height;
        p.inputPitch = pic.pitch;
        p.encodePicFlags = pic.flags;
        p.inputTimeStamp = pic.timestamp;
        p.inputBuffer = ptr(pic.input);
        p.outputBitstream = ptr(pic.output);
        p.bufferFmt = pic.format;
        p.pictureStruct = NV_ENC_PIC_STRUCT_FRAME;
        // SAFETY: open, initialised session; input/output handles belong to it (or are
        // null with the EOS flag).
        let status = unsafe { f(self.encoder, &mut *p) };
        match status {
            NV_ENC_SUCCESS => Ok(Submitted::Ready),
            NV_ENC_ERR_NEED_MORE_INPUT => Ok(Submitted::NeedMoreInput),
            s => Err(status_error(s, "nvEncEncodePicture", &self.last_error())),
        }
    }

    fn lock_output(&mut self, output: Handle) -> Result<Locked> {
        let lock = self.lib.fns.nvEncLockBitstream.ok_or_else(missing)?;
        let unlock = self.lib.fns.nvEncUnlockBitstream.ok_or_else(missing)?;
        let mut p = Box::new(NV_ENC_LOCK_BITSTREAM::zeroed());
        p.version = NV_ENC_LOCK_BITSTREAM_VER;
        p.outputBitstream = ptr(output);
        // SAFETY: `output` is a bitstream buffer of this session whose picture was submitted
        // and reported ready; the call waits for the hardware.
        let status = unsafe { lock(self.encoder, &mut *p) };
        self.check(status, "nvEncLockBitstream")?;
        let data = if p.bitstreamBufferPtr.is_null() {
            Vec::new()
        } else {
            // SAFETY: while locked, the driver's pointer holds `bitstreamSizeInBytes` bytes.
            unsafe {
                std::slice::from_raw_parts(
                    p.bitstreamBufferPtr.cast::<u8>(),
                    p.bitstreamSizeInBytes as usize,
                )
            }
            .to_vec()
        };
        // SAFETY: unlock what we locked above; the bytes were copied out.
        let status = unsafe { unlock(self.encoder, ptr(output)) };
        self.check(status, "nvEncUnlockBitstream")?;
        Ok(Locked {
            data,
            picture_type: p.pictureType,
            timestamp: p.outputTimeStamp,
        })
    }
}

impl Drop for DriverCalls {
    fn drop(&mut self) {
        if let Some(f) = self.lib.fns.nvEncDestroyEncoder {
            // SAFETY: the encoder's buffers were destroyed by the encoder adapter first
            // (it owns this value and drops it last); destroys the session once.
            unsafe { f(self.encoder) };
        }
    }
}
