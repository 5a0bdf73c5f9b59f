//! Our own declarations of the NVENC API (`nvEncodeAPI.h`, SDK 11.1 as shipped by Debian's
//! `libffmpeg-nvenc-dev`), only what the encoder uses, and the function table that
//! `NvEncodeAPICreateInstance` fills.
//!
//! Layouts and constants follow the header; `tests/nvenc_abi.rs` compares every size, field
//! offset and constant listed by [`abi_layout`] with a C compiler's view of the header.
//! Bit-field words have no C name to take an offset of; their place is checked through the
//! offsets of the fields around them. Structs we only pass through (the codec-specific config
//! and per-picture unions) are declared opaque with the header's size and alignment.

#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_docs
)]
#![allow(clippy::upper_case_acronyms)]

use std::ffi::{c_char, c_int, c_void};

/// Header version we declare (`NVENCAPI_MAJOR_VERSION` / `NVENCAPI_MINOR_VERSION`).
pub const NVENCAPI_MAJOR_VERSION: u32 = 11;
pub const NVENCAPI_MINOR_VERSION: u32 = 1;
/// `NVENCAPI_VERSION`.
pub const NVENCAPI_VERSION: u32 = NVENCAPI_MAJOR_VERSION | (NVENCAPI_MINOR_VERSION << 24);

/// `NVENCAPI_STRUCT_VERSION(ver)`, computed as the header does.
pub const fn struct_version(ver: u32) -> u32 {
    NVENCAPI_VERSION | (ver << 16) | (0x7 << 28)
}

pub const NV_ENC_CAPS_PARAM_VER: u32 = struct_version(1);
pub const NV_ENC_CREATE_INPUT_BUFFER_VER: u32 = struct_version(1);
pub const NV_ENC_CREATE_BITSTREAM_BUFFER_VER: u32 = struct_version(1);
pub const NV_ENC_RC_PARAMS_VER: u32 = struct_version(1);
pub const NV_ENC_CONFIG_VER: u32 = struct_version(7) | (1 << 31);
pub const NV_ENC_INITIALIZE_PARAMS_VER: u32 = struct_version(5) | (1 << 31);
pub const NV_ENC_RECONFIGURE_PARAMS_VER: u32 = struct_version(1) | (1 << 31);
pub const NV_ENC_PRESET_CONFIG_VER: u32 = struct_version(4) | (1 << 31);
pub const NV_ENC_PIC_PARAMS_VER: u32 = struct_version(4) | (1 << 31);
pub const NV_ENC_LOCK_BITSTREAM_VER: u32 = struct_version(1);
pub const NV_ENC_LOCK_INPUT_BUFFER_VER: u32 = struct_version(1);
pub const NV_ENC_MAP_INPUT_RESOURCE_VER: u32 = struct_version(4);
pub const NV_ENC_REGISTER_RESOURCE_VER: u32 = struct_version(3);
pub const NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER: u32 = struct_version(1);
pub const NV_ENCODE_API_FUNCTION_LIST_VER: u32 = struct_version(2);

/// `NVENC_INFINITE_GOPLENGTH`.
pub const NVENC_INFINITE_GOPLENGTH: u32 = 0xffff_ffff;

pub type NVENCSTATUS = c_int;
pub const NV_ENC_SUCCESS: NVENCSTATUS = 0;
pub const NV_ENC_ERR_NO_ENCODE_DEVICE: NVENCSTATUS = 1;
pub const NV_ENC_ERR_UNSUPPORTED_DEVICE: NVENCSTATUS = 2;
pub const NV_ENC_ERR_INVALID_ENCODERDEVICE: NVENCSTATUS = 3;
pub const NV_ENC_ERR_INVALID_DEVICE: NVENCSTATUS = 4;
pub const NV_ENC_ERR_DEVICE_NOT_EXIST: NVENCSTATUS = 5;
pub const NV_ENC_ERR_INVALID_PTR: NVENCSTATUS = 6;
pub const NV_ENC_ERR_INVALID_EVENT: NVENCSTATUS = 7;
pub const NV_ENC_ERR_INVALID_PARAM: NVENCSTATUS = 8;
pub const NV_ENC_ERR_INVALID_CALL: NVENCSTATUS = 9;
pub const NV_ENC_ERR_OUT_OF_MEMORY: NVENCSTATUS = 10;
pub const NV_ENC_ERR_ENCODER_NOT_INITIALIZED: NVENCSTATUS = 11;
pub const NV_ENC_ERR_UNSUPPORTED_PARAM: NVENCSTATUS = 12;
pub const NV_ENC_ERR_LOCK_BUSY: NVENCSTATUS = 13;
pub const NV_ENC_ERR_NOT_ENOUGH_BUFFER: NVENCSTATUS = 14;
pub const NV_ENC_ERR_INVALID_VERSION: NVENCSTATUS = 15;
pub const NV_ENC_ERR_MAP_FAILED: NVENCSTATUS = 16;
pub const NV_ENC_ERR_NEED_MORE_INPUT: NVENCSTATUS = 17;
pub const NV_ENC_ERR_ENCODER_BUSY: NVENCSTATUS = 18;
pub const NV_ENC_ERR_EVENT_NOT_REGISTERD: NVENCSTATUS = 19;
pub const NV_ENC_ERR_GENERIC: NVENCSTATUS = 20;
pub const NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY: NVENCSTATUS = 21;
pub const NV_ENC_ERR_UNIMPLEMENTED: NVENCSTATUS = 22;
pub const NV_ENC_ERR_RESOURCE_REGISTER_FAILED: NVENCSTATUS = 23;
pub const NV_ENC_ERR_RESOURCE_NOT_REGISTERED: NVENCSTATUS = 24;
pub const NV_ENC_ERR_RESOURCE_NOT_MAPPED: NVENCSTATUS = 25;

/// The header's name of a status code.
pub fn status_name(s: NVENCSTATUS) -> &'static str {
    const NAMES: [&str; 26] = [
        "NV_ENC_SUCCESS",
        "NV_ENC_ERR_NO_ENCODE_DEVICE",
        "NV_ENC_ERR_UNSUPPORTED_DEVICE",
        "NV_ENC_ERR_INVALID_ENCODERDEVICE",
        "NV_ENC_ERR_INVALID_DEVICE",
        "NV_ENC_ERR_DEVICE_NOT_EXIST",
        "NV_ENC_ERR_INVALID_PTR",
        "NV_ENC_ERR_INVALID_EVENT",
        "NV_ENC_ERR_INVALID_PARAM",
        "NV_ENC_ERR_INVALID_CALL",
        "NV_ENC_ERR_OUT_OF_MEMORY",
        "NV_ENC_ERR_ENCODER_NOT_INITIALIZED",
        "NV_ENC_ERR_UNSUPPORTED_PARAM",
        "NV_ENC_ERR_LOCK_BUSY",
        "NV_ENC_ERR_NOT_ENOUGH_BUFFER",
        "NV_ENC_ERR_INVALID_VERSION",
        "NV_ENC_ERR_MAP_FAILED",
        "NV_ENC_ERR_NEED_MORE_INPUT",
        "NV_ENC_ERR_ENCODER_BUSY",
        "NV_ENC_ERR_EVENT_NOT_REGISTERD",
        "NV_ENC_ERR_GENERIC",
        "NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY",
        "NV_ENC_ERR_UNIMPLEMENTED",
        "NV_ENC_ERR_RESOURCE_REGISTER_FAILED",
        "NV_ENC_ERR_RESOURCE_NOT_REGISTERED",
        "NV_ENC_ERR_RESOURCE_NOT_MAPPED",
    ];
    usize::try_from(s)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("unknown NVENCSTATUS")
}

// NV_ENC_BUFFER_FORMAT
pub type NV_ENC_BUFFER_FORMAT = c_int;
pub const NV_ENC_BUFFER_FORMAT_NV12: NV_ENC_BUFFER_FORMAT = 0x1;
pub const NV_ENC_BUFFER_FORMAT_IYUV: NV_ENC_BUFFER_FORMAT = 0x100;

// NV_ENC_PIC_FLAGS
pub const NV_ENC_PIC_FLAG_FORCEINTRA: u32 = 0x1;
pub const NV_ENC_PIC_FLAG_FORCEIDR: u32 = 0x2;
pub const NV_ENC_PIC_FLAG_OUTPUT_SPSPPS: u32 = 0x4;
pub const NV_ENC_PIC_FLAG_EOS: u32 = 0x8;

// NV_ENC_PIC_TYPE
pub type NV_ENC_PIC_TYPE = c_int;
pub const NV_ENC_PIC_TYPE_P: NV_ENC_PIC_TYPE = 0;
pub const NV_ENC_PIC_TYPE_B: NV_ENC_PIC_TYPE = 1;
pub const NV_ENC_PIC_TYPE_I: NV_ENC_PIC_TYPE = 2;
pub const NV_ENC_PIC_TYPE_IDR: NV_ENC_PIC_TYPE = 3;

// NV_ENC_PIC_STRUCT
pub type NV_ENC_PIC_STRUCT = c_int;
pub const NV_ENC_PIC_STRUCT_FRAME: NV_ENC_PIC_STRUCT = 1;

// NV_ENC_PARAMS_RC_MODE
pub type NV_ENC_PARAMS_RC_MODE = c_int;
pub const NV_ENC_PARAMS_RC_CONSTQP: NV_ENC_PARAMS_RC_MODE = 0;
pub const NV_ENC_PARAMS_RC_VBR: NV_ENC_PARAMS_RC_MODE = 1;
pub const NV_ENC_PARAMS_RC_CBR: NV_ENC_PARAMS_RC_MODE = 2;

// NV_ENC_TUNING_INFO
pub type NV_ENC_TUNING_INFO = c_int;
pub const NV_ENC_TUNING_INFO_HIGH_QUALITY: NV_ENC_TUNING_INFO = 1;
pub const NV_ENC_TUNING_INFO_LOW_LATENCY: NV_ENC_TUNING_INFO = 2;

// NV_ENC_DEVICE_TYPE, NV_ENC_INPUT_RESOURCE_TYPE, NV_ENC_BUFFER_USAGE, NV_ENC_MEMORY_HEAP
pub type NV_ENC_DEVICE_TYPE = c_int;
pub const NV_ENC_DEVICE_TYPE_CUDA: NV_ENC_DEVICE_TYPE = 1;
pub type NV_ENC_INPUT_RESOURCE_TYPE = c_int;
pub const NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR: NV_ENC_INPUT_RESOURCE_TYPE = 1;
pub type NV_ENC_BUFFER_USAGE = c_int;
pub const NV_ENC_INPUT_IMAGE: NV_ENC_BUFFER_USAGE = 0;
pub type NV_ENC_MEMORY_HEAP = c_int;

// NV_ENC_CAPS
pub type NV_ENC_CAPS = c_int;
pub const NV_ENC_CAPS_WIDTH_MAX: NV_ENC_CAPS = 16;
pub const NV_ENC_CAPS_HEIGHT_MAX: NV_ENC_CAPS = 17;

pub type NV_ENC_INPUT_PTR = *mut c_void;
pub type NV_ENC_OUTPUT_PTR = *mut c_void;
pub type NV_ENC_REGISTERED_PTR = *mut c_void;

/// Marks plain C structs for which all-zero bytes are a valid value (integers, raw
/// pointers, `Option` of function pointers), as the SDK expects them to be cleared.
///
/// # Safety
/// Implement only for `#[repr(C)]` types whose every field is valid when zeroed.
pub unsafe trait ZeroInit: Sized {
    /// An all-zero value.
    fn zeroed() -> Self {
        // SAFETY: the implementer promises all-zero bytes are a valid `Self`.
        unsafe { std::mem::zeroed() }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GUID {
    pub Data1: u32,
    pub Data2: u16,
    pub Data3: u16,
    pub Data4: [u8; 8],
}

const fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> GUID {
    GUID {
        Data1: d1,
        Data2: d2,
        Data3: d3,
        Data4: d4,
    }
}

pub const NV_ENC_CODEC_H264_GUID: GUID = guid(
    0x6bc82762,
    0x4e63,
    0x4ca4,
    [0xaa, 0x85, 0x1e, 0x50, 0xf3, 0x21, 0xf6, 0xbf],
);
pub const NV_ENC_CODEC_HEVC_GUID: GUID = guid(
    0x790cdc88,
    0x4522,
    0x4d7b,
    [0x94, 0x25, 0xbd, 0xa9, 0x97, 0x5f, 0x76, 0x03],
);
pub const NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID: GUID = guid(
    0xbfd6f8e7,
    0x233c,
    0x4341,
    [0x8b, 0x3e, 0x48, 0x18, 0x52, 0x38, 0x03, 0xf4],
);
pub const NV_ENC_PRESET_P4_GUID: GUID = guid(
    0x90a7b826,
    0xdf06,
    0x4862,
    [0xb9, 0xd2, 0xcd, 0x6d, 0x73, 0xa0, 0x86, 0x81],
);

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_CAPS_PARAM {
    pub version: u32,
    pub capsToQuery: NV_ENC_CAPS,
    pub reserved: [u32; 62],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_CREATE_INPUT_BUFFER {
    pub version: u32,
    pub width: u32,
    pub height: u32,
    pub memoryHeap: NV_ENC_MEMORY_HEAP,
    pub bufferFmt: NV_ENC_BUFFER_FORMAT,
    pub reserved: u32,
    pub inputBuffer: NV_ENC_INPUT_PTR,
    pub pSysMemBuffer: *mut c_void,
    pub reserved1: [u32; 57],
    pub reserved2: [*mut c_void; 63],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_CREATE_BITSTREAM_BUFFER {
    pub version: u32,
    pub size: u32,
    pub memoryHeap: NV_ENC_MEMORY_HEAP,
    pub reserved: u32,
    pub bitstreamBuffer: NV_ENC_OUTPUT_PTR,
    pub bitstreamBufferPtr: *mut c_void,
    pub reserved1: [u32; 58],
    pub reserved2: [*mut c_void; 64],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NV_ENC_QP {
    pub qpInterP: u32,
    pub qpInterB: u32,
    pub qpIntra: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_RC_PARAMS {
    pub version: u32,
    pub rateControlMode: NV_ENC_PARAMS_RC_MODE,
    pub constQP: NV_ENC_QP,
    pub averageBitRate: u32,
    pub maxBitRate: u32,
    pub vbvBufferSize: u32,
    pub vbvInitialDelay: u32,
    /// Bit-fields `enableMinQP` .. `reservedBitFields`.
    pub flags: u32,
    pub minQP: NV_ENC_QP,
    pub maxQP: NV_ENC_QP,
    pub initialRCQP: NV_ENC_QP,
    pub temporallayerIdxMask: u32,
    pub temporalLayerQP: [u8; 8],
    pub targetQuality: u8,
    pub targetQualityLSB: u8,
    pub lookaheadDepth: u16,
    pub lowDelayKeyFrameScale: u8,
    pub reserved1: [u8; 3],
    pub qpMapMode: c_int,
    pub multiPass: c_int,
    pub alphaLayerBitrateRatio: u32,
    pub cbQPIndexOffset: i8,
    pub crQPIndexOffset: i8,
    pub reserved2: u16,
    pub reserved: [u32; 4],
}

/// `enableLookahead` bit of [`NV_ENC_RC_PARAMS::flags`] (the sixth bit-field: after
/// `enableMinQP`, `enableMaxQP`, `enableInitialRCQP`, `enableAQ`, `reservedBitField1`).
pub const RC_ENABLE_LOOKAHEAD: u32 = 1 << 5;

/// `NV_ENC_CODEC_CONFIG`: the H.264/HEVC union, opaque here apart from `idrPeriod`
/// (at [`H264_IDR_PERIOD_OFFSET`] / [`HEVC_IDR_PERIOD_OFFSET`]; the ABI test checks both).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_CODEC_CONFIG {
    pub raw: [u64; 224],
}

/// `offsetof(NV_ENC_CONFIG_H264, idrPeriod)`.
pub const H264_IDR_PERIOD_OFFSET: usize = 8;
/// `offsetof(NV_ENC_CONFIG_HEVC, idrPeriod)`.
pub const HEVC_IDR_PERIOD_OFFSET: usize = 20;

impl NV_ENC_CODEC_CONFIG {
    /// Writes the `u32` at byte `offset` of the union.
    pub fn set_u32(&mut self, offset: usize, value: u32) {
        let mut bytes = [0u8; 8];
        let word = offset / 8;
        bytes.copy_from_slice(&self.raw[word].to_ne_bytes());
        let at = offset % 8;
        bytes[at..at + 4].copy_from_slice(&value.to_ne_bytes());
        self.raw[word] = u64::from_ne_bytes(bytes);
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_CONFIG {
    pub version: u32,
    pub profileGUID: GUID,
    pub gopLength: u32,
    pub frameIntervalP: i32,
    pub monoChromeEncoding: u32,
    pub frameFieldMode: c_int,
    pub mvPrecision: c_int,
    pub rcParams: NV_ENC_RC_PARAMS,
    pub encodeCodecConfig: NV_ENC_CODEC_CONFIG,
    pub reserved: [u32; 278],
    pub reserved2: [*mut c_void; 64],
}

/// `NVENC_EXTERNAL_ME_HINT_COUNTS_PER_BLOCKTYPE` (bit-fields and reserved words).
pub type NVENC_EXTERNAL_ME_HINT_COUNTS_PER_BLOCKTYPE = [u32; 4];

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_INITIALIZE_PARAMS {
    pub version: u32,
    pub encodeGUID: GUID,
    pub presetGUID: GUID,
    pub encodeWidth: u32,
    pub encodeHeight: u32,
    pub darWidth: u32,
    pub darHeight: u32,
    pub frameRateNum: u32,
    pub frameRateDen: u32,
    pub enableEncodeAsync: u32,
    pub enablePTD: u32,
    /// Bit-fields `reportSliceOffsets` .. `reservedBitFields`.
    pub flags: u32,
    pub privDataSize: u32,
    pub privData: *mut c_void,
    pub encodeConfig: *mut NV_ENC_CONFIG,
    pub maxEncodeWidth: u32,
    pub maxEncodeHeight: u32,
    pub maxMEHintCountsPerBlock: [NVENC_EXTERNAL_ME_HINT_COUNTS_PER_BLOCKTYPE; 2],
    pub tuningInfo: NV_ENC_TUNING_INFO,
    pub bufferFormat: NV_ENC_BUFFER_FORMAT,
    pub reserved: [u32; 287],
    pub reserved2: [*mut c_void; 64],
}

/// `resetEncoder` bit of [`NV_ENC_RECONFIGURE_PARAMS::flags`].
pub const RECONFIGURE_RESET_ENCODER: u32 = 0x1;
/// `forceIDR` bit of [`NV_ENC_RECONFIGURE_PARAMS::flags`].
pub const RECONFIGURE_FORCE_IDR: u32 = 0x2;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_RECONFIGURE_PARAMS {
    pub version: u32,
    pub reInitEncodeParams: NV_ENC_INITIALIZE_PARAMS,
    /// Bit-fields `resetEncoder`, `forceIDR`, `reserved`.
    pub flags: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_PRESET_CONFIG {
    pub version: u32,
    pub presetCfg: NV_ENC_CONFIG,
    pub reserved1: [u32; 255],
    pub reserved2: [*mut c_void; 64],
}

/// `NV_ENC_CODEC_PIC_PARAMS`: the per-picture codec union, left zeroed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_CODEC_PIC_PARAMS {
    pub raw: [u64; 192],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_PIC_PARAMS {
    pub version: u32,
    pub inputWidth: u32,
    pub inputHeight: u32,
    pub inputPitch: u32,
    pub encodePicFlags: u32,
    pub frameIdx: u32,
    pub inputTimeStamp: u64,
    pub inputDuration: u64,
    pub inputBuffer: NV_ENC_INPUT_PTR,
    pub outputBitstream: NV_ENC_OUTPUT_PTR,
    pub completionEvent: *mut c_void,
    pub bufferFmt: NV_ENC_BUFFER_FORMAT,
    pub pictureStruct: NV_ENC_PIC_STRUCT,
    pub pictureType: NV_ENC_PIC_TYPE,
    pub codecPicParams: NV_ENC_CODEC_PIC_PARAMS,
    pub meHintCountsPerBlock: [NVENC_EXTERNAL_ME_HINT_COUNTS_PER_BLOCKTYPE; 2],
    pub meExternalHints: *mut c_void,
    pub reserved1: [u32; 6],
    pub reserved2: [*mut c_void; 2],
    pub qpDeltaMap: *mut i8,
    pub qpDeltaMapSize: u32,
    pub reservedBitFields: u32,
    pub meHintRefPicDist: [u16; 2],
    pub alphaBuffer: NV_ENC_INPUT_PTR,
    pub reserved3: [u32; 286],
    pub reserved4: [*mut c_void; 59],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_LOCK_BITSTREAM {
    pub version: u32,
    /// Bit-fields `doNotWait`, `ltrFrame`, `getRCStats`, `reservedBitFields`.
    pub flags: u32,
    pub outputBitstream: *mut c_void,
    pub sliceOffsets: *mut u32,
    pub frameIdx: u32,
    pub hwEncodeStatus: u32,
    pub numSlices: u32,
    pub bitstreamSizeInBytes: u32,
    pub outputTimeStamp: u64,
    pub outputDuration: u64,
    pub bitstreamBufferPtr: *mut c_void,
    pub pictureType: NV_ENC_PIC_TYPE,
    pub pictureStruct: NV_ENC_PIC_STRUCT,
    pub frameAvgQP: u32,
    pub frameSatd: u32,
    pub ltrFrameIdx: u32,
    pub ltrFrameBitmap: u32,
    pub temporalId: u32,
    pub reserved: [u32; 12],
    pub intraMBCount: u32,
    pub interMBCount: u32,
    pub averageMVX: i32,
    pub averageMVY: i32,
    pub alphaLayerSizeInBytes: u32,
    pub reserved1: [u32; 218],
    pub reserved2: [*mut c_void; 64],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_LOCK_INPUT_BUFFER {
    pub version: u32,
    /// Bit-fields `doNotWait`, `reservedBitFields`.
    pub flags: u32,
    pub inputBuffer: NV_ENC_INPUT_PTR,
    pub bufferDataPtr: *mut c_void,
    pub pitch: u32,
    pub reserved1: [u32; 251],
    pub reserved2: [*mut c_void; 64],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_MAP_INPUT_RESOURCE {
    pub version: u32,
    pub subResourceIndex: u32,
    pub inputResource: *mut c_void,
    pub registeredResource: NV_ENC_REGISTERED_PTR,
    pub mappedResource: NV_ENC_INPUT_PTR,
    pub mappedBufferFmt: NV_ENC_BUFFER_FORMAT,
    pub reserved1: [u32; 251],
    pub reserved2: [*mut c_void; 63],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_REGISTER_RESOURCE {
    pub version: u32,
    pub resourceType: NV_ENC_INPUT_RESOURCE_TYPE,
    pub width: u32,
    pub height: u32,
    pub pitch: u32,
    pub subResourceIndex: u32,
    pub resourceToRegister: *mut c_void,
    pub registeredResource: NV_ENC_REGISTERED_PTR,
    pub bufferFormat: NV_ENC_BUFFER_FORMAT,
    pub bufferUsage: NV_ENC_BUFFER_USAGE,
    pub pInputFencePoint: *mut c_void,
    pub pOutputFencePoint: *mut c_void,
    pub reserved1: [u32; 247],
    pub reserved2: [*mut c_void; 60],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS {
    pub version: u32,
    pub deviceType: NV_ENC_DEVICE_TYPE,
    pub device: *mut c_void,
    pub reserved: *mut c_void,
    pub apiVersion: u32,
    pub reserved1: [u32; 253],
    pub reserved2: [*mut c_void; 64],
}

type Enc = *mut c_void;
pub type PNVENCOPENENCODESESSIONEX = Option<
    unsafe extern "system" fn(*mut NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS, *mut Enc) -> NVENCSTATUS,
>;
pub type PNVENCGETENCODECAPS =
    Option<unsafe extern "system" fn(Enc, GUID, *mut NV_ENC_CAPS_PARAM, *mut c_int) -> NVENCSTATUS>;
pub type PNVENCGETENCODEPRESETCONFIGEX = Option<
    unsafe extern "system" fn(
        Enc,
        GUID,
        GUID,
        NV_ENC_TUNING_INFO,
        *mut NV_ENC_PRESET_CONFIG,
    ) -> NVENCSTATUS,
>;
pub type PNVENCINITIALIZEENCODER =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_INITIALIZE_PARAMS) -> NVENCSTATUS>;
pub type PNVENCCREATEINPUTBUFFER =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_CREATE_INPUT_BUFFER) -> NVENCSTATUS>;
pub type PNVENCDESTROYINPUTBUFFER =
    Option<unsafe extern "system" fn(Enc, NV_ENC_INPUT_PTR) -> NVENCSTATUS>;
pub type PNVENCCREATEBITSTREAMBUFFER =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_CREATE_BITSTREAM_BUFFER) -> NVENCSTATUS>;
pub type PNVENCDESTROYBITSTREAMBUFFER =
    Option<unsafe extern "system" fn(Enc, NV_ENC_OUTPUT_PTR) -> NVENCSTATUS>;
pub type PNVENCENCODEPICTURE =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_PIC_PARAMS) -> NVENCSTATUS>;
pub type PNVENCLOCKBITSTREAM =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_LOCK_BITSTREAM) -> NVENCSTATUS>;
pub type PNVENCUNLOCKBITSTREAM =
    Option<unsafe extern "system" fn(Enc, NV_ENC_OUTPUT_PTR) -> NVENCSTATUS>;
pub type PNVENCLOCKINPUTBUFFER =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_LOCK_INPUT_BUFFER) -> NVENCSTATUS>;
pub type PNVENCUNLOCKINPUTBUFFER =
    Option<unsafe extern "system" fn(Enc, NV_ENC_INPUT_PTR) -> NVENCSTATUS>;
pub type PNVENCMAPINPUTRESOURCE =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_MAP_INPUT_RESOURCE) -> NVENCSTATUS>;
pub type PNVENCUNMAPINPUTRESOURCE =
    Option<unsafe extern "system" fn(Enc, NV_ENC_INPUT_PTR) -> NVENCSTATUS>;
pub type PNVENCDESTROYENCODER = Option<unsafe extern "system" fn(Enc) -> NVENCSTATUS>;
pub type PNVENCREGISTERRESOURCE =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_REGISTER_RESOURCE) -> NVENCSTATUS>;
pub type PNVENCUNREGISTERRESOURCE =
    Option<unsafe extern "system" fn(Enc, NV_ENC_REGISTERED_PTR) -> NVENCSTATUS>;
pub type PNVENCRECONFIGUREENCODER =
    Option<unsafe extern "system" fn(Enc, *mut NV_ENC_RECONFIGURE_PARAMS) -> NVENCSTATUS>;
pub type PNVENCGETLASTERROR = Option<unsafe extern "system" fn(Enc) -> *const c_char>;
/// An entry we never call, kept for its place in the table.
pub type PUNUSED = *mut c_void;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NV_ENCODE_API_FUNCTION_LIST {
    pub version: u32,
    pub reserved: u32,
    pub nvEncOpenEncodeSession: PUNUSED,
    pub nvEncGetEncodeGUIDCount: PUNUSED,
    pub nvEncGetEncodeProfileGUIDCount: PUNUSED,
    pub nvEncGetEncodeProfileGUIDs: PUNUSED,
    pub nvEncGetEncodeGUIDs: PUNUSED,
    pub nvEncGetInputFormatCount: PUNUSED,
    pub nvEncGetInputFormats: PUNUSED,
    pub nvEncGetEncodeCaps: PNVENCGETENCODECAPS,
    pub nvEncGetEncodePresetCount: PUNUSED,
    pub nvEncGetEncodePresetGUIDs: PUNUSED,
    pub nvEncGetEncodePresetConfig: PUNUSED,
    pub nvEncInitializeEncoder: PNVENCINITIALIZEENCODER,
    pub nvEncCreateInputBuffer: PNVENCCREATEINPUTBUFFER,
    pub nvEncDestroyInputBuffer: PNVENCDESTROYINPUTBUFFER,
    pub nvEncCreateBitstreamBuffer: PNVENCCREATEBITSTREAMBUFFER,
    pub nvEncDestroyBitstreamBuffer: PNVENCDESTROYBITSTREAMBUFFER,
    pub nvEncEncodePicture: PNVENCENCODEPICTURE,
    pub nvEncLockBitstream: PNVENCLOCKBITSTREAM,
    pub nvEncUnlockBitstream: PNVENCUNLOCKBITSTREAM,
    pub nvEncLockInputBuffer: PNVENCLOCKINPUTBUFFER,
    pub nvEncUnlockInputBuffer: PNVENCUNLOCKINPUTBUFFER,
    pub nvEncGetEncodeStats: PUNUSED,
    pub nvEncGetSequenceParams: PUNUSED,
    pub nvEncRegisterAsyncEvent: PUNUSED,
    pub nvEncUnregisterAsyncEvent: PUNUSED,
    pub nvEncMapInputResource: PNVENCMAPINPUTRESOURCE,
    pub nvEncUnmapInputResource: PNVENCUNMAPINPUTRESOURCE,
    pub nvEncDestroyEncoder: PNVENCDESTROYENCODER,
    pub nvEncInvalidateRefFrames: PUNUSED,
    pub nvEncOpenEncodeSessionEx: PNVENCOPENENCODESESSIONEX,
    pub nvEncRegisterResource: PNVENCREGISTERRESOURCE,
    pub nvEncUnregisterResource: PNVENCUNREGISTERRESOURCE,
    pub nvEncReconfigureEncoder: PNVENCRECONFIGUREENCODER,
    pub reserved1: PUNUSED,
    pub nvEncCreateMVBuffer: PUNUSED,
    pub nvEncDestroyMVBuffer: PUNUSED,
    pub nvEncRunMotionEstimationOnly: PUNUSED,
    pub nvEncGetLastErrorString: PNVENCGETLASTERROR,
    pub nvEncSetIOCudaStreams: PUNUSED,
    pub nvEncGetEncodePresetConfigEx: PNVENCGETENCODEPRESETCONFIGEX,
    pub nvEncGetSequenceParamEx: PUNUSED,
    pub reserved2: [PUNUSED; 277],
}

// SAFETY: every type below is `#[repr(C)]` made of integers, arrays of integers, raw
// pointers and `Option`s of function pointers: all valid when zeroed.
unsafe impl ZeroInit for NV_ENC_CAPS_PARAM {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_CREATE_INPUT_BUFFER {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_CREATE_BITSTREAM_BUFFER {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_CONFIG {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_INITIALIZE_PARAMS {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_RECONFIGURE_PARAMS {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_PRESET_CONFIG {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_PIC_PARAMS {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_LOCK_BITSTREAM {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_LOCK_INPUT_BUFFER {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_MAP_INPUT_RESOURCE {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_REGISTER_RESOURCE {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS {}
// SAFETY: as above.
unsafe impl ZeroInit for NV_ENCODE_API_FUNCTION_LIST {}

/// `NvEncodeAPICreateInstance`.
pub type FnCreateInstance =
    unsafe extern "system" fn(*mut NV_ENCODE_API_FUNCTION_LIST) -> NVENCSTATUS;
/// `NvEncodeAPIGetMaxSupportedVersion`.
pub type FnGetMaxSupportedVersion = unsafe extern "system" fn(*mut u32) -> NVENCSTATUS;

/// Sizes (`STRUCT`), field offsets (`STRUCT.field`), constants (`=NAME`) and bit-field
/// positions (`~STRUCT.field@OFFSET`) of everything
/// declared here, named as in the C header, for `tests/nvenc_abi.rs`.
pub fn abi_layout() -> Vec<(String, usize)> {
    use std::mem::{offset_of, size_of};
    macro_rules! layout {
        ($out:ident, $t:ident { $($f:ident),* $(,)? }) => {
            $out.push((stringify!($t), size_of::<$t>()));
            $( $out.push((concat!(stringify!($t), ".", stringify!($f)), offset_of!($t, $f))); )*
        };
    }
    macro_rules! consts {
        ($out:ident, $($c:ident),* $(,)?) => {
            $( $out.push((concat!("=", stringify!($c)), $c as u32 as usize)); )*
        };
    }
    let mut v = Vec::new();
    layout!(
        v,
        GUID {
            Data1,
            Data2,
            Data3,
            Data4
        }
    );
    layout!(
        v,
        NV_ENC_CAPS_PARAM {
            version,
            capsToQuery,
            reserved
        }
    );
    layout!(
        v,
        NV_ENC_CREATE_INPUT_BUFFER {
            version,
            width,
            height,
            memoryHeap,
            bufferFmt,
            reserved,
            inputBuffer,
            pSysMemBuffer,
            reserved1,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENC_CREATE_BITSTREAM_BUFFER {
            version,
            size,
            memoryHeap,
            reserved,
            bitstreamBuffer,
            bitstreamBufferPtr,
            reserved1,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENC_QP {
            qpInterP,
            qpInterB,
            qpIntra
        }
    );
    layout!(
        v,
        NV_ENC_RC_PARAMS {
            version,
            rateControlMode,
            constQP,
            averageBitRate,
            maxBitRate,
            vbvBufferSize,
            vbvInitialDelay,
            minQP,
            maxQP,
            initialRCQP,
            temporallayerIdxMask,
            temporalLayerQP,
            targetQuality,
            targetQualityLSB,
            lookaheadDepth,
            lowDelayKeyFrameScale,
            reserved1,
            qpMapMode,
            multiPass,
            alphaLayerBitrateRatio,
            cbQPIndexOffset,
            crQPIndexOffset,
            reserved2,
            reserved
        }
    );
    v.push(("NV_ENC_CODEC_CONFIG", size_of::<NV_ENC_CODEC_CONFIG>()));
    v.push(("NV_ENC_CONFIG_H264.idrPeriod", H264_IDR_PERIOD_OFFSET));
    v.push(("NV_ENC_CONFIG_HEVC.idrPeriod", HEVC_IDR_PERIOD_OFFSET));
    v.push(("NV_ENC_CODEC_CONFIG.h264Config", 0));
    v.push(("NV_ENC_CODEC_CONFIG.hevcConfig", 0));
    layout!(
        v,
        NV_ENC_CONFIG {
            version,
            profileGUID,
            gopLength,
            frameIntervalP,
            monoChromeEncoding,
            frameFieldMode,
            mvPrecision,
            rcParams,
            encodeCodecConfig,
            reserved,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENC_INITIALIZE_PARAMS {
            version,
            encodeGUID,
            presetGUID,
            encodeWidth,
            encodeHeight,
            darWidth,
            darHeight,
            frameRateNum,
            frameRateDen,
            enableEncodeAsync,
            enablePTD,
            privDataSize,
            privData,
            encodeConfig,
            maxEncodeWidth,
            maxEncodeHeight,
            maxMEHintCountsPerBlock,
            tuningInfo,
            bufferFormat,
            reserved,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENC_RECONFIGURE_PARAMS {
            version,
            reInitEncodeParams
        }
    );
    layout!(
        v,
        NV_ENC_PRESET_CONFIG {
            version,
            presetCfg,
            reserved1,
            reserved2
        }
    );
    v.push((
        "NV_ENC_CODEC_PIC_PARAMS",
        size_of::<NV_ENC_CODEC_PIC_PARAMS>(),
    ));
    layout!(
        v,
        NV_ENC_PIC_PARAMS {
            version,
            inputWidth,
            inputHeight,
            inputPitch,
            encodePicFlags,
            frameIdx,
            inputTimeStamp,
            inputDuration,
            inputBuffer,
            outputBitstream,
            completionEvent,
            bufferFmt,
            pictureStruct,
            pictureType,
            codecPicParams,
            meHintCountsPerBlock,
            meExternalHints,
            reserved1,
            reserved2,
            qpDeltaMap,
            qpDeltaMapSize,
            reservedBitFields,
            meHintRefPicDist,
            alphaBuffer,
            reserved3,
            reserved4
        }
    );
    layout!(
        v,
        NV_ENC_LOCK_BITSTREAM {
            version,
            outputBitstream,
            sliceOffsets,
            frameIdx,
            hwEncodeStatus,
            numSlices,
            bitstreamSizeInBytes,
            outputTimeStamp,
            outputDuration,
            bitstreamBufferPtr,
            pictureType,
            pictureStruct,
            frameAvgQP,
            frameSatd,
            ltrFrameIdx,
            ltrFrameBitmap,
            temporalId,
            reserved,
            intraMBCount,
            interMBCount,
            averageMVX,
            averageMVY,
            alphaLayerSizeInBytes,
            reserved1,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENC_LOCK_INPUT_BUFFER {
            version,
            inputBuffer,
            bufferDataPtr,
            pitch,
            reserved1,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENC_MAP_INPUT_RESOURCE {
            version,
            subResourceIndex,
            inputResource,
            registeredResource,
            mappedResource,
            mappedBufferFmt,
            reserved1,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENC_REGISTER_RESOURCE {
            version,
            resourceType,
            width,
            height,
            pitch,
            subResourceIndex,
            resourceToRegister,
            registeredResource,
            bufferFormat,
            bufferUsage,
            pInputFencePoint,
            pOutputFencePoint,
            reserved1,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS {
            version,
            deviceType,
            device,
            reserved,
            apiVersion,
            reserved1,
            reserved2
        }
    );
    layout!(
        v,
        NV_ENCODE_API_FUNCTION_LIST {
            version,
            reserved,
            nvEncOpenEncodeSession,
            nvEncGetEncodeGUIDCount,
            nvEncGetEncodeProfileGUIDCount,
            nvEncGetEncodeProfileGUIDs,
            nvEncGetEncodeGUIDs,
            nvEncGetInputFormatCount,
            nvEncGetInputFormats,
            nvEncGetEncodeCaps,
            nvEncGetEncodePresetCount,
            nvEncGetEncodePresetGUIDs,
            nvEncGetEncodePresetConfig,
            nvEncInitializeEncoder,
            nvEncCreateInputBuffer,
            nvEncDestroyInputBuffer,
            nvEncCreateBitstreamBuffer,
            nvEncDestroyBitstreamBuffer,
            nvEncEncodePicture,
            nvEncLockBitstream,
            nvEncUnlockBitstream,
            nvEncLockInputBuffer,
            nvEncUnlockInputBuffer,
            nvEncGetEncodeStats,
            nvEncGetSequenceParams,
            nvEncRegisterAsyncEvent,
            nvEncUnregisterAsyncEvent,
            nvEncMapInputResource,
            nvEncUnmapInputResource,
            nvEncDestroyEncoder,
            nvEncInvalidateRefFrames,
            nvEncOpenEncodeSessionEx,
            nvEncRegisterResource,
            nvEncUnregisterResource,
            nvEncReconfigureEncoder,
            reserved1,
            nvEncCreateMVBuffer,
            nvEncDestroyMVBuffer,
            nvEncRunMotionEstimationOnly,
            nvEncGetLastErrorString,
            nvEncSetIOCudaStreams,
            nvEncGetEncodePresetConfigEx,
            nvEncGetSequenceParamEx,
            reserved2
        }
    );
    consts!(
        v,
        NVENCAPI_VERSION,
        NV_ENC_CAPS_PARAM_VER,
        NV_ENC_CREATE_INPUT_BUFFER_VER,
        NV_ENC_CREATE_BITSTREAM_BUFFER_VER,
        NV_ENC_RC_PARAMS_VER,
        NV_ENC_CONFIG_VER,
        NV_ENC_INITIALIZE_PARAMS_VER,
        NV_ENC_RECONFIGURE_PARAMS_VER,
        NV_ENC_PRESET_CONFIG_VER,
        NV_ENC_PIC_PARAMS_VER,
        NV_ENC_LOCK_BITSTREAM_VER,
        NV_ENC_LOCK_INPUT_BUFFER_VER,
        NV_ENC_MAP_INPUT_RESOURCE_VER,
        NV_ENC_REGISTER_RESOURCE_VER,
        NV_ENC_OPEN_ENCODE_SESSION_EX_PARAMS_VER,
        NV_ENCODE_API_FUNCTION_LIST_VER,
        NVENC_INFINITE_GOPLENGTH,
        NV_ENC_SUCCESS,
        NV_ENC_ERR_NO_ENCODE_DEVICE,
        NV_ENC_ERR_UNSUPPORTED_DEVICE,
        NV_ENC_ERR_INVALID_ENCODERDEVICE,
        NV_ENC_ERR_INVALID_DEVICE,
        NV_ENC_ERR_DEVICE_NOT_EXIST,
        NV_ENC_ERR_INVALID_PTR,
        NV_ENC_ERR_INVALID_EVENT,
        NV_ENC_ERR_INVALID_PARAM,
        NV_ENC_ERR_INVALID_CALL,
        NV_ENC_ERR_OUT_OF_MEMORY,
        NV_ENC_ERR_ENCODER_NOT_INITIALIZED,
        NV_ENC_ERR_UNSUPPORTED_PARAM,
        NV_ENC_ERR_LOCK_BUSY,
        NV_ENC_ERR_NOT_ENOUGH_BUFFER,
        NV_ENC_ERR_INVALID_VERSION,
        NV_ENC_ERR_MAP_FAILED,
        NV_ENC_ERR_NEED_MORE_INPUT,
        NV_ENC_ERR_ENCODER_BUSY,
        NV_ENC_ERR_EVENT_NOT_REGISTERD,
        NV_ENC_ERR_GENERIC,
        NV_ENC_ERR_INCOMPATIBLE_CLIENT_KEY,
        NV_ENC_ERR_UNIMPLEMENTED,
        NV_ENC_ERR_RESOURCE_REGISTER_FAILED,
        NV_ENC_ERR_RESOURCE_NOT_REGISTERED,
        NV_ENC_ERR_RESOURCE_NOT_MAPPED,
        NV_ENC_BUFFER_FORMAT_NV12,
        NV_ENC_BUFFER_FORMAT_IYUV,
        NV_ENC_PIC_FLAG_FORCEINTRA,
        NV_ENC_PIC_FLAG_FORCEIDR,
        NV_ENC_PIC_FLAG_OUTPUT_SPSPPS,
        NV_ENC_PIC_FLAG_EOS,
        NV_ENC_PIC_TYPE_P,
        NV_ENC_PIC_TYPE_B,
        NV_ENC_PIC_TYPE_I,
        NV_ENC_PIC_TYPE_IDR,
        NV_ENC_PIC_STRUCT_FRAME,
        NV_ENC_PARAMS_RC_CONSTQP,
        NV_ENC_PARAMS_RC_VBR,
        NV_ENC_PARAMS_RC_CBR,
        NV_ENC_TUNING_INFO_HIGH_QUALITY,
        NV_ENC_TUNING_INFO_LOW_LATENCY,
        NV_ENC_DEVICE_TYPE_CUDA,
        NV_ENC_INPUT_RESOURCE_TYPE_CUDADEVICEPTR,
        NV_ENC_INPUT_IMAGE,
        NV_ENC_CAPS_WIDTH_MAX,
        NV_ENC_CAPS_HEIGHT_MAX,
    );
    let mut out: Vec<(String, usize)> = v.into_iter().map(|(k, x)| (k.to_string(), x)).collect();
    // Bit-fields we set: `~STRUCT.field@OFFSET` is the 32-bit word at byte OFFSET when only
    // that field is 1.
    for (name, offset, value) in [
        (
            "NV_ENC_RC_PARAMS.enableLookahead",
            offset_of!(NV_ENC_RC_PARAMS, flags),
            RC_ENABLE_LOOKAHEAD,
        ),
        (
            "NV_ENC_RECONFIGURE_PARAMS.resetEncoder",
            offset_of!(NV_ENC_RECONFIGURE_PARAMS, flags),
            RECONFIGURE_RESET_ENCODER,
        ),
        (
            "NV_ENC_RECONFIGURE_PARAMS.forceIDR",
            offset_of!(NV_ENC_RECONFIGURE_PARAMS, flags),
            RECONFIGURE_FORCE_IDR,
        ),
    ] {
        out.push((format!("~{name}@{offset}"), value as usize));
    }
    for (name, g) in [
        ("NV_ENC_CODEC_H264_GUID", NV_ENC_CODEC_H264_GUID),
        ("NV_ENC_CODEC_HEVC_GUID", NV_ENC_CODEC_HEVC_GUID),
        (
            "NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID",
            NV_ENC_CODEC_PROFILE_AUTOSELECT_GUID,
        ),
        ("NV_ENC_PRESET_P4_GUID", NV_ENC_PRESET_P4_GUID),
    ] {
        out.push((format!("={name}.Data1"), g.Data1 as usize));
        out.push((format!("={name}.Data2"), usize::from(g.Data2)));
        out.push((format!("={name}.Data3"), usize::from(g.Data3)));
        for (i, b) in g.Data4.iter().enumerate() {
            out.push((format!("={name}.Data4[{i}]"), usize::from(*b)));
        }
    }
    out
}
