//! NV12 -> RGB24/RGBA/BGRA/ARGB on the GPU: a Metal compute kernel (compiled at run time
//! with `newLibraryWithSource`) reading the decoder's `CVPixelBuffer` planes through a
//! `CVMetalTextureCache`, writing packed pixels into a shared-memory buffer.
//!
//! When no Metal device or pipeline can be made, or a conversion fails, the decoder converts
//! NV12 on the CPU and counts the frame (`conversion_fallbacks`, the session's metrics).

use super::cf::check;
use crate::api::error::{Result, VideoError};
use crate::api::frame::{DecodedFrame, FrameData, PixelFormat, Plane};
use crate::backend::videotoolbox::color::yuv_to_rgb_rows;
use objc2::rc::Retained;
use objc2::runtime::ProtocolObject;
use objc2_core_foundation::CFRetained;
use objc2_core_video::{
    CVMetalTexture, CVMetalTextureCache, CVMetalTextureGetTexture, CVPixelBuffer,
    CVPixelBufferGetHeightOfPlane, CVPixelBufferGetWidthOfPlane,
};
use objc2_foundation::NSString;
use objc2_metal::{
    MTLBuffer, MTLCommandBuffer, MTLCommandEncoder, MTLCommandQueue, MTLComputeCommandEncoder,
    MTLComputePipelineState, MTLCreateSystemDefaultDevice, MTLDevice, MTLLibrary, MTLPixelFormat,
    MTLResourceOptions, MTLSize,
};
use std::ffi::c_void;
use std::ptr::NonNull;

// MTLCreateSystemDefaultDevice needs CoreGraphics linked on macOS.
#[link(name = "CoreGraphics", kind = "framework")]
unsafe extern "C" {}

const KERNEL: &str = r#"
#include <metal_stdlib>
using namespace metal;
struct Params { float4 r; float4 g; float4 b; uint width; uint height; uint bpp; uint order; };
kernel void nv12_to_rgb(texture2d<float, access::read> luma [[texture(0)]],
                        texture2d<float, access::read> chroma [[texture(1)]],
                        device uchar *out [[buffer(0)]],
                        constant Params &p [[buffer(1)]],
                        uint2 gid [[thread_position_in_grid]]) {
    if (gid.x >= p.width || gid.y >= p.height) return;
    float2 c = chroma.read(gid / 2).rg;
    float4 v = float4(luma.read(gid).r, c.x, c.y, 1.0);
    uchar3 q = uchar3(rint(saturate(float3(dot(p.r, v), dot(p.g, v), dot(p.b, v))) * 255.0));
    device uchar *px = out + (gid.y * p.width + gid.x) * p.bpp;
    if (p.order == 0) { px[0] = q.r; px[1] = q.g; px[2] = q.b; }
    else if (p.order == 1) { px[0] = q.r; px[1] = q.g; px[2] = q.b; px[3] = 255; }
    else if (p.order == 2) { px[0] = q.b; px[1] = q.g; px[2] = q.r; px[3] = 255; }
    else { px[0] = 255; px[1] = q.r; px[2] = q.g; px[3] = q.b; }
}
"#;

/// The kernel's parameter block (layout of `Params` in [`KERNEL`]).
#[repr(C)]
struct Params {
    r: [f32; 4],
    g: [f32; 4],
    b: [f32; 4],
    width: u32,
    height: u32,
    bpp: u32,
    order: u32,
}

/// A Metal pipeline converting NV12 pixel buffers into one packed RGB format.
pub(crate) struct MetalConverter {
    target: PixelFormat,
    order: u32,
    bpp: usize,
    device: Retained<ProtocolObject<dyn MTLDevice>>,
    queue: Retained<ProtocolObject<dyn MTLCommandQueue>>,
    pipeline: Retained<ProtocolObject<dyn MTLComputePipelineState>>,
    cache: CFRetained<CVMetalTextureCache>,
}

impl MetalConverter {
    /// A converter to `target` on the system's default Metal device; `Unsupported` when
    /// there is none or the kernel does not build.
    pub(crate) fn new(target: PixelFormat) -> Result<Self> {
        let (order, bpp) = match target {
            PixelFormat::Rgb24 => (0, 3),
            PixelFormat::Rgba => (1, 4),
            PixelFormat::Bgra => (2, 4),
            PixelFormat::Argb => (3, 4),
            other => {
                return Err(VideoError::unsupported(format!(
                    "the Metal transform does not produce {other}"
                )));
            }
        };
        let device = MTLCreateSystemDefaultDevice()
            .ok_or_else(|| VideoError::unsupported("no Metal device"))?;
        let library = device
            .newLibraryWithSource_options_error(&NSString::from_str(KERNEL), None)
            .map_err(|e| VideoError::backend(format!("Metal kernel build failed: {e}")))?;
        let function = library
            .newFunctionWithName(&NSString::from_str("nv12_to_rgb"))
            .ok_or_else(|| VideoError::backend("Metal kernel function missing"))?;
        let pipeline = device
            .newComputePipelineStateWithFunction_error(&function)
            .map_err(|e| VideoError::backend(format!("Metal pipeline failed: {e}")))?;
        let queue = device
            .newCommandQueue()
            .ok_or_else(|| VideoError::backend("no Metal command queue"))?;
        let mut cache: *mut CVMetalTextureCache = std::ptr::null_mut();
        // SAFETY: valid device; `cache` receives a +1 reference on success.
        check("CVMetalTextureCacheCreate", unsafe {
            CVMetalTextureCache::create(None, None, &device, None, NonNull::from(&mut cache))
        })?;
        let cache = NonNull::new(cache)
            .ok_or_else(|| VideoError::backend("CVMetalTextureCacheCreate returned nothing"))?;
        // SAFETY: +1 reference from the create call.
        let cache = unsafe { CFRetained::from_raw(cache) };
        Ok(Self {
            target,
            order,
            bpp,
            device,
            queue,
            pipeline,
            cache,
        })
    }

    fn texture(
        &self,
        pb: &CVPixelBuffer,
        plane: usize,
        format: MTLPixelFormat,
    ) -> Result<CFRetained<CVMetalTexture>> {
        let mut texture: *mut CVMetalTexture = std::ptr::null_mut();
        // SAFETY: live cache and pixel buffer (Metal compatible: the decoder asks for it);
        // `texture` receives a +1 reference on success.
        check("CVMetalTextureCacheCreateTextureFromImage", unsafe {
            CVMetalTextureCache::create_texture_from_image(
                None,
                &self.cache,
                pb,
                None,
                format,
                CVPixelBufferGetWidthOfPlane(pb, plane),
                CVPixelBufferGetHeightOfPlane(pb, plane),
                plane,
                NonNull::from(&mut texture),
            )
        })?;
        let texture = NonNull::new(texture)
            .ok_or_else(|| VideoError::backend("no Metal texture for the pixel buffer"))?;
        // SAFETY: +1 reference from the create call.
        Ok(unsafe { CFRetained::from_raw(texture) })
    }

    /// Converts the NV12 picture in `pb` into `frame`'s target format (same coded size and
    /// crop), waiting for the GPU.
    pub(crate) fn convert(
        &self,
        pb: &CVPixelBuffer,
        mut frame: DecodedFrame,
    ) -> Result<DecodedFrame> {
        let (w, h) = (frame.coded.width() as usize, frame.coded.height() as usize);
        let luma = self.texture(pb, 0, MTLPixelFormat::R8Unorm)?;
        let chroma = self.texture(pb, 1, MTLPixelFormat::RG8Unorm)?;
        let (luma_tex, chroma_tex) = (
            CVMetalTextureGetTexture(&luma)
                .ok_or_else(|| VideoError::backend("luma texture missing"))?,
            CVMetalTextureGetTexture(&chroma)
                .ok_or_else(|| VideoError::backend("chroma texture missing"))?,
        );
        let len = w * h * self.bpp;
        let out = self
            .device
            .newBufferWithLength_options(len, MTLResourceOptions::StorageModeShared)
            .ok_or_else(|| VideoError::backend("Metal buffer allocation failed"))?;
        let [r, g, b] = yuv_to_rgb_rows(frame.color, frame.coded.height())?;
        let params = Params {
            r,
            g,
            b,
            width: w as u32,
            height: h as u32,
            bpp: self.bpp as u32,
            order: self.order,
        };
        let commands = self
            .queue
            .commandBuffer()
            .ok_or_else(|| VideoError::backend("no Metal command buffer"))?;
        let encoder = commands
            .computeCommandEncoder()
            .ok_or_else(|| VideoError::backend("no Metal compute encoder"))?;
        encoder.setComputePipelineState(&self.pipeline);
        // SAFETY: textures, buffer and parameter block match the kernel's arguments and
        // stay alive until `waitUntilCompleted` below returns.
        unsafe {
            encoder.setTexture_atIndex(Some(&luma_tex), 0);
            encoder.setTexture_atIndex(Some(&chroma_tex), 1);
            encoder.setBuffer_offset_atIndex(Some(&out), 0, 0);
            encoder.setBytes_length_atIndex(
                NonNull::from(&params).cast::<c_void>(),
                std::mem::size_of::<Params>(),
                1,
            );
        }
        encoder.dispatchThreads_threadsPerThreadgroup(
            MTLSize {
                width: w,
                height: h,
                depth: 1,
            },
            MTLSize {
                width: 16,
                height: 16,
                depth: 1,
            },
        );
        encoder.endEncoding();
        commands.commit();
        commands.waitUntilCompleted();
        if let Some(e) = commands.error() {
            return Err(VideoError::backend(format!("Metal conversion failed: {e}")));
        }
        // SAFETY: the GPU finished; the shared buffer holds `len` bytes readable by the CPU.
        let bytes =
            unsafe { std::slice::from_raw_parts(out.contents().as_ptr().cast::<u8>(), len) };
        frame.format = self.target;
        frame.data = FrameData::Cpu(vec![Plane {
            data: bytes.into(),
            stride: w * self.bpp,
        }]);
        Ok(frame)
    }
}

impl crate::backend::videotoolbox::calls::MetalCalls<super::cf::SendPixelBuffer>
    for MetalConverter
{
    fn convert(
        &self,
        image: &super::cf::SendPixelBuffer,
        frame: DecodedFrame,
    ) -> Result<DecodedFrame> {
        MetalConverter::convert(self, &image.0, frame)
    }
}
