//! Our own declarations of the NVDEC API (`cuviddec.h` / `nvcuvid.h`), only what the decoder
//! uses, and the library of function pointers opened from `libnvcuvid` at run time.
//!
//! Layouts follow the Video Codec SDK headers; `tests/nvdec_abi.rs` compares every size and
//! field offset declared here with a C compiler's view of the headers.

#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_docs
)]
#![allow(clippy::upper_case_acronyms)]

use cudarc::driver::sys::{CUcontext, CUresult, CUstream};
use std::ffi::{c_int, c_short, c_uint, c_ulong, c_ulonglong, c_void};

/// `tcu_ulong`: `unsigned long` (64-bit on Linux, 32-bit on Windows).
pub type tcu_ulong = c_ulong;
pub type CUvideodecoder = *mut c_void;
pub type CUvideoparser = *mut c_void;
pub type CUvideoctxlock = *mut c_void;
pub type CUvideotimestamp = i64;

// cudaVideoCodec
pub type cudaVideoCodec = c_int;
pub const cudaVideoCodec_H264: cudaVideoCodec = 4;
pub const cudaVideoCodec_HEVC: cudaVideoCodec = 8;
pub const cudaVideoCodec_VP9: cudaVideoCodec = 10;

// cudaVideoSurfaceFormat
pub type cudaVideoSurfaceFormat = c_int;
pub const cudaVideoSurfaceFormat_NV12: cudaVideoSurfaceFormat = 0;
pub const cudaVideoSurfaceFormat_P016: cudaVideoSurfaceFormat = 1;

// cudaVideoDeinterlaceMode
pub type cudaVideoDeinterlaceMode = c_int;
pub const cudaVideoDeinterlaceMode_Weave: cudaVideoDeinterlaceMode = 0;

// cudaVideoChromaFormat
pub type cudaVideoChromaFormat = c_int;
pub const cudaVideoChromaFormat_Monochrome: cudaVideoChromaFormat = 0;
pub const cudaVideoChromaFormat_420: cudaVideoChromaFormat = 1;

// cudaVideoCreateFlags
pub const cudaVideoCreate_PreferCUVID: tcu_ulong = 0x04;

// cuvidDecodeStatus
pub type cuvidDecodeStatus = c_int;
pub const cuvidDecodeStatus_Error: cuvidDecodeStatus = 8;
pub const cuvidDecodeStatus_Error_Concealed: cuvidDecodeStatus = 9;

// CUvideopacketflags
pub const CUVID_PKT_ENDOFSTREAM: tcu_ulong = 0x01;
pub const CUVID_PKT_TIMESTAMP: tcu_ulong = 0x02;
pub const CUVID_PKT_ENDOFPICTURE: tcu_ulong = 0x08;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct CUVIDDECODECAPS {
    pub eCodecType: cudaVideoCodec,
    pub eChromaFormat: cudaVideoChromaFormat,
    pub nBitDepthMinus8: c_uint,
    pub reserved1: [c_uint; 3],
    pub bIsSupported: u8,
    pub nNumNVDECs: u8,
    pub nOutputFormatMask: u16,
    pub nMaxWidth: c_uint,
    pub nMaxHeight: c_uint,
    pub nMaxMBCount: c_uint,
    pub nMinWidth: u16,
    pub nMinHeight: u16,
    pub bIsHistogramSupported: u8,
    pub nCounterBitDepth: u8,
    pub nMaxHistogramBins: u16,
    pub reserved3: [c_uint; 10],
}

/// A rectangle of `short`s (display area, target rectangle).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ShortRect {
    pub left: c_short,
    pub top: c_short,
    pub right: c_short,
    pub bottom: c_short,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CUVIDDECODECREATEINFO {
    pub ulWidth: tcu_ulong,
    pub ulHeight: tcu_ulong,
    pub ulNumDecodeSurfaces: tcu_ulong,
    pub CodecType: cudaVideoCodec,
    pub ChromaFormat: cudaVideoChromaFormat,
    pub ulCreationFlags: tcu_ulong,
    pub bitDepthMinus8: tcu_ulong,
    pub ulIntraDecodeOnly: tcu_ulong,
    pub ulMaxWidth: tcu_ulong,
    pub ulMaxHeight: tcu_ulong,
    pub Reserved1: tcu_ulong,
    pub display_area: ShortRect,
    pub OutputFormat: cudaVideoSurfaceFormat,
    pub DeinterlaceMode: cudaVideoDeinterlaceMode,
    pub ulTargetWidth: tcu_ulong,
    pub ulTargetHeight: tcu_ulong,
    pub ulNumOutputSurfaces: tcu_ulong,
    pub vidLock: CUvideoctxlock,
    pub target_rect: ShortRect,
    pub enableHistogram: tcu_ulong,
    pub Reserved2: [tcu_ulong; 4],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct CUVIDRECONFIGUREDECODERINFO {
    pub ulWidth: c_uint,
    pub ulHeight: c_uint,
    pub ulTargetWidth: c_uint,
    pub ulTargetHeight: c_uint,
    pub ulNumDecodeSurfaces: c_uint,
    pub reserved1: [c_uint; 12],
    pub display_area: ShortRect,
    pub target_rect: ShortRect,
    pub reserved2: [c_uint; 11],
}

/// Picture parameters: the common head, and the codec-specific union kept opaque (the parser
/// fills it and we only pass it back to `cuvidDecodePicture`).
#[repr(C)]
pub struct CUVIDPICPARAMS {
    pub PicWidthInMbs: c_int,
    pub FrameHeightInMbs: c_int,
    pub CurrPicIdx: c_int,
    pub field_pic_flag: c_int,
    pub bottom_field_flag: c_int,
    pub second_field: c_int,
    pub nBitstreamDataLen: c_uint,
    pub pBitstreamData: *const u8,
    pub nNumSlices: c_uint,
    pub pSliceDataOffsets: *const c_uint,
    pub ref_pic_flag: c_int,
    pub intra_pic_flag: c_int,
    pub Reserved: [c_uint; 30],
    /// `union { ...; unsigned int CodecReserved[1024]; }` (8-byte aligned: it holds pointers).
    pub CodecSpecific: [u64; 512],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CUVIDPROCPARAMS {
    pub progressive_frame: c_int,
    pub second_field: c_int,
    pub top_field_first: c_int,
    pub unpaired_field: c_int,
    pub reserved_flags: c_uint,
    pub reserved_zero: c_uint,
    pub raw_input_dptr: c_ulonglong,
    pub raw_input_pitch: c_uint,
    pub raw_input_format: c_uint,
    pub raw_output_dptr: c_ulonglong,
    pub raw_output_pitch: c_uint,
    pub Reserved1: c_uint,
    pub output_stream: CUstream,
    pub Reserved: [c_uint; 46],
    pub histogram_dptr: *mut c_ulonglong,
    pub Reserved2: [*mut c_void; 1],
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CUVIDGETDECODESTATUS {
    pub decodeStatus: cuvidDecodeStatus,
    pub reserved: [c_uint; 31],
    pub pReserved: [*mut c_void; 8],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameRate {
    pub numerator: c_uint,
    pub denominator: c_uint,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct IntRect {
    pub left: c_int,
    pub top: c_int,
    pub right: c_int,
    pub bottom: c_int,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AspectRatio {
    pub x: c_int,
    pub y: c_int,
}

/// `video_signal_description`: the first byte packs `video_format:3`,
/// `video_full_range_flag:1`, `reserved_zero_bits:4` (LSB first).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct VideoSignalDescription {
    pub bits: u8,
    pub color_primaries: u8,
    pub transfer_characteristics: u8,
    pub matrix_coefficients: u8,
}

impl VideoSignalDescription {
    /// `video_full_range_flag`.
    pub fn full_range(&self) -> bool {
        self.bits & 0x08 != 0
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct CUVIDEOFORMAT {
    pub codec: cudaVideoCodec,
    pub frame_rate: FrameRate,
    pub progressive_sequence: u8,
    pub bit_depth_luma_minus8: u8,
    pub bit_depth_chroma_minus8: u8,
    pub min_num_decode_surfaces: u8,
    pub coded_width: c_uint,
    pub coded_height: c_uint,
    pub display_area: IntRect,
    pub chroma_format: cudaVideoChromaFormat,
    pub bitrate: c_uint,
    pub display_aspect_ratio: AspectRatio,
    pub video_signal_description: VideoSignalDescription,
    pub seqhdr_data_length: c_uint,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CUVIDSOURCEDATAPACKET {
    pub flags: tcu_ulong,
    pub payload_size: tcu_ulong,
    pub payload: *const u8,
    pub timestamp: CUvideotimestamp,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CUVIDPARSERDISPINFO {
    pub picture_index: c_int,
    pub progressive_frame: c_int,
    pub top_field_first: c_int,
    pub repeat_first_field: c_int,
    pub timestamp: CUvideotimestamp,
}

pub type PFNVIDSEQUENCECALLBACK =
    Option<unsafe extern "system" fn(*mut c_void, *mut CUVIDEOFORMAT) -> c_int>;
pub type PFNVIDDECODECALLBACK =
    Option<unsafe extern "system" fn(*mut c_void, *mut CUVIDPICPARAMS) -> c_int>;
pub type PFNVIDDISPLAYCALLBACK =
    Option<unsafe extern "system" fn(*mut c_void, *mut CUVIDPARSERDISPINFO) -> c_int>;
pub type PFNVIDOPPOINTCALLBACK =
    Option<unsafe extern "system" fn(*mut c_void, *mut c_void) -> c_int>;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CUVIDPARSERPARAMS {
    pub CodecType: cudaVideoCodec,
    pub ulMaxNumDecodeSurfaces: c_uint,
    pub ulClockRate: c_uint,
    pub ulErrorThreshold: c_uint,
    pub ulMaxDisplayDelay: c_uint,
    /// `bAnnexb:1, uReserved:31`.
    pub bitfields: c_uint,
    pub uReserved1: [c_uint; 4],
    pub pUserData: *mut c_void,
    pub pfnSequenceCallback: PFNVIDSEQUENCECALLBACK,
    pub pfnDecodePicture: PFNVIDDECODECALLBACK,
    pub pfnDisplayPicture: PFNVIDDISPLAYCALLBACK,
    pub pfnGetOperatingPoint: PFNVIDOPPOINTCALLBACK,
    pub pvReserved2: [*mut c_void; 6],
    pub pExtVideoInfo: *mut c_void,
}

type FnGetDecoderCaps = unsafe extern "system" fn(*mut CUVIDDECODECAPS) -> CUresult;
type FnCreateDecoder =
    unsafe extern "system" fn(*mut CUvideodecoder, *mut CUVIDDECODECREATEINFO) -> CUresult;
type FnDestroyDecoder = unsafe extern "system" fn(CUvideodecoder) -> CUresult;
type FnDecodePicture = unsafe extern "system" fn(CUvideodecoder, *mut CUVIDPICPARAMS) -> CUresult;
type FnGetDecodeStatus =
    unsafe extern "system" fn(CUvideodecoder, c_int, *mut CUVIDGETDECODESTATUS) -> CUresult;
type FnReconfigureDecoder =
    unsafe extern "system" fn(CUvideodecoder, *mut CUVIDRECONFIGUREDECODERINFO) -> CUresult;
type FnMapVideoFrame64 = unsafe extern "system" fn(
    CUvideodecoder,
    c_int,
    *mut c_ulonglong,
    *mut c_uint,
    *mut CUVIDPROCPARAMS,
) -> CUresult;
type FnUnmapVideoFrame64 = unsafe extern "system" fn(CUvideodecoder, c_ulonglong) -> CUresult;
type FnCreateVideoParser =
    unsafe extern "system" fn(*mut CUvideoparser, *mut CUVIDPARSERPARAMS) -> CUresult;
type FnParseVideoData =
    unsafe extern "system" fn(CUvideoparser, *mut CUVIDSOURCEDATAPACKET) -> CUresult;
type FnDestroyVideoParser = unsafe extern "system" fn(CUvideoparser) -> CUresult;
type FnCtxLockCreate = unsafe extern "system" fn(*mut CUvideoctxlock, CUcontext) -> CUresult;

/// The NVDEC entry points, resolved once from `libnvcuvid`.
pub struct Nvcuvid {
    pub get_decoder_caps: FnGetDecoderCaps,
    pub create_decoder: FnCreateDecoder,
    pub destroy_decoder: FnDestroyDecoder,
    pub decode_picture: FnDecodePicture,
    pub get_decode_status: FnGetDecodeStatus,
    pub reconfigure_decoder: FnReconfigureDecoder,
    pub map_video_frame: FnMapVideoFrame64,
    pub unmap_video_frame: FnUnmapVideoFrame64,
    pub create_video_parser: FnCreateVideoParser,
    pub parse_video_data: FnParseVideoData,
    pub destroy_video_parser: FnDestroyVideoParser,
    /// Resolved to check the library is complete; the decoder does not need a context lock.
    _ctx_lock_create: FnCtxLockCreate,
    /// Keeps the library mapped for as long as the pointers above live (forever: see `load`).
    _lib: libloading::Library,
}

/// The file name of the NVDEC library on this platform.
pub const NVCUVID_LIBRARY: &str = if cfg!(windows) {
    "nvcuvid.dll"
} else {
    "libnvcuvid.so.1"
};

impl Nvcuvid {
    /// Opens `libnvcuvid` and resolves every entry point, or says what is missing.
    pub fn load() -> Result<Self, String> {
        // SAFETY: loading the NVIDIA driver's NVDEC library runs its initialisers, which have
        // no preconditions on our side.
        let lib = unsafe { libloading::Library::new(NVCUVID_LIBRARY) }.map_err(|e| {
            format!("cannot open {NVCUVID_LIBRARY} (NVIDIA driver with NVDEC): {e}")
        })?;
        macro_rules! sym {
            ($name:literal) => {
                // SAFETY: the symbol's type is the prototype declared in nvcuvid.h/cuviddec.h.
                *unsafe { lib.get(concat!($name, "\0").as_bytes()) }
                    .map_err(|e| format!("{NVCUVID_LIBRARY} lacks {}: {e}", $name))?
            };
        }
        Ok(Self {
            get_decoder_caps: sym!("cuvidGetDecoderCaps"),
            create_decoder: sym!("cuvidCreateDecoder"),
            destroy_decoder: sym!("cuvidDestroyDecoder"),
            decode_picture: sym!("cuvidDecodePicture"),
            get_decode_status: sym!("cuvidGetDecodeStatus"),
            reconfigure_decoder: sym!("cuvidReconfigureDecoder"),
            map_video_frame: sym!("cuvidMapVideoFrame64"),
            unmap_video_frame: sym!("cuvidUnmapVideoFrame64"),
            create_video_parser: sym!("cuvidCreateVideoParser"),
            parse_video_data: sym!("cuvidParseVideoData"),
            destroy_video_parser: sym!("cuvidDestroyVideoParser"),
            _ctx_lock_create: sym!("cuvidCtxLockCreate"),
            _lib: lib,
        })
    }
}

/// Size and field offsets of every struct declared here, named as in the C headers
/// (`STRUCT` for the size, `STRUCT.field` for an offset).
pub fn abi_layout() -> Vec<(&'static str, usize)> {
    use std::mem::{offset_of, size_of};
    macro_rules! layout {
        ($out:ident, $t:ident { $($f:ident),* $(,)? }) => {
            $out.push((stringify!($t), size_of::<$t>()));
            $( $out.push((concat!(stringify!($t), ".", stringify!($f)), offset_of!($t, $f))); )*
        };
    }
    let mut v = Vec::new();
    layout!(
        v,
        CUVIDDECODECAPS {
            eCodecType,
            eChromaFormat,
            nBitDepthMinus8,
            reserved1,
            bIsSupported,
            nNumNVDECs,
            nOutputFormatMask,
            nMaxWidth,
            nMaxHeight,
            nMaxMBCount,
            nMinWidth,
            nMinHeight,
            bIsHistogramSupported,
            nCounterBitDepth,
            nMaxHistogramBins,
            reserved3
        }
    );
    layout!(
        v,
        CUVIDDECODECREATEINFO {
            ulWidth,
            ulHeight,
            ulNumDecodeSurfaces,
            CodecType,
            ChromaFormat,
            ulCreationFlags,
            bitDepthMinus8,
            ulIntraDecodeOnly,
            ulMaxWidth,
            ulMaxHeight,
            Reserved1,
            display_area,
            OutputFormat,
            DeinterlaceMode,
            ulTargetWidth,
            ulTargetHeight,
            ulNumOutputSurfaces,
            vidLock,
            target_rect,
            enableHistogram,
            Reserved2
        }
    );
    layout!(
        v,
        CUVIDRECONFIGUREDECODERINFO {
            ulWidth,
            ulHeight,
            ulTargetWidth,
            ulTargetHeight,
            ulNumDecodeSurfaces,
            reserved1,
            display_area,
            target_rect,
            reserved2
        }
    );
    layout!(
        v,
        CUVIDPICPARAMS {
            PicWidthInMbs,
            FrameHeightInMbs,
            CurrPicIdx,
            field_pic_flag,
            bottom_field_flag,
            second_field,
            nBitstreamDataLen,
            pBitstreamData,
            nNumSlices,
            pSliceDataOffsets,
            ref_pic_flag,
            intra_pic_flag,
            Reserved,
            CodecSpecific
        }
    );
    layout!(
        v,
        CUVIDPROCPARAMS {
            progressive_frame,
            second_field,
            top_field_first,
            unpaired_field,
            reserved_flags,
            reserved_zero,
            raw_input_dptr,
            raw_input_pitch,
            raw_input_format,
            raw_output_dptr,
            raw_output_pitch,
            Reserved1,
            output_stream,
            Reserved,
            histogram_dptr,
            Reserved2
        }
    );
    layout!(
        v,
        CUVIDGETDECODESTATUS {
            decodeStatus,
            reserved,
            pReserved
        }
    );
    layout!(
        v,
        CUVIDEOFORMAT {
            codec,
            frame_rate,
            progressive_sequence,
            bit_depth_luma_minus8,
            bit_depth_chroma_minus8,
            min_num_decode_surfaces,
            coded_width,
            coded_height,
            display_area,
            chroma_format,
            bitrate,
            display_aspect_ratio,
            video_signal_description,
            seqhdr_data_length
        }
    );
    layout!(
        v,
        CUVIDSOURCEDATAPACKET {
            flags,
            payload_size,
            payload,
            timestamp
        }
    );
    layout!(
        v,
        CUVIDPARSERDISPINFO {
            picture_index,
            progressive_frame,
            top_field_first,
            repeat_first_field,
            timestamp
        }
    );
    layout!(
        v,
        CUVIDPARSERPARAMS {
            CodecType,
            ulMaxNumDecodeSurfaces,
            ulClockRate,
            ulErrorThreshold,
            ulMaxDisplayDelay,
            uReserved1,
            pUserData,
            pfnSequenceCallback,
            pfnDecodePicture,
            pfnDisplayPicture,
            pfnGetOperatingPoint,
            pvReserved2,
            pExtVideoInfo
        }
    );
    v
}
