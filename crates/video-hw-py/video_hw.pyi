"""Type stubs of video_hw: hardware video decode and encode (NVIDIA NVDEC/NVENC, Apple
VideoToolbox, software fallback) with frames as NumPy arrays or DLPack tensors."""

import os
from typing import Any, BinaryIO, Iterator, Literal, Optional, Sequence, Tuple, Union

__version__: str

def release_cached_gpu_memory() -> None:
    """Frees the GPU memory the process keeps for later decoders: device buffers of frames
    already dropped, and the NVDEC decoders of decoders that ended in the last two seconds
    (kept so that the next decode of the same format creates none). Frames still held keep
    their memory. Does nothing without the NVIDIA backend."""

Source = Union[str, "os.PathLike[str]", bytes, bytearray, BinaryIO]
Format = Literal["rgb24", "rgb_planar", "nv12", "i420"]
BackendName = Literal["auto", "software", "nvidia", "videotoolbox"]

class Error(Exception):
    """Base class of every video_hw error."""

class UnsupportedError(Error):
    """The backend, codec, profile, size or option is not available here; the message says
    why and what to do."""

class InvalidInputError(Error):
    """The caller passed something malformed (a bad argument, size or buffer)."""

class InvalidBitstreamError(Error):
    """The bitstream or container is malformed, truncated or not the stated codec."""

class BackpressureError(Error):
    """No in-flight credit is free (handled inside the binding)."""

class DeviceLostError(Error):
    """The device or driver went away; open a new decoder or encoder."""

class BackendError(Error):
    """The backend library reported a failure not covered by the other classes."""

class Metadata:
    """What the container and the first sequence header say about the video."""

    codec: str
    container: str
    width: Optional[int]
    height: Optional[int]
    frame_rate: Optional[float]
    duration: Optional[float]
    num_frames: Optional[int]
    bit_depth: Optional[int]
    color_matrix: Optional[str]
    color_range: Optional[str]
    color_primaries: Optional[str]
    color_transfer: Optional[str]

class Frame:
    """One decoded picture. Host frames: `numpy.asarray(frame)` / `numpy.from_dlpack(frame)`
    (read-only, no copy). CUDA frames: `torch.from_dlpack(frame)` / `cupy.from_dlpack(frame)`
    share the device memory (NV12, the decoder's padded surface; `crop` gives the picture)."""

    index: int
    pts: Optional[float]
    keyframe: bool
    format: str
    crop: Tuple[int, int, int, int]
    @property
    def shape(self) -> list[int]: ...
    @property
    def device(self) -> str: ...
    @property
    def __array_interface__(self) -> dict[str, Any]: ...
    def __dlpack__(
        self,
        *,
        stream: Optional[int] = None,
        max_version: Optional[Tuple[int, int]] = None,
        dl_device: Optional[Tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> Tuple[int, int]: ...

class FrameBatch:
    """Frames stacked into one host tensor: (N, H, W, 3) for rgb24, (N, 3, H, W) for
    rgb_planar, (N, H * 3 / 2, W) for nv12 and i420."""

    indices: list[int]
    pts: list[Optional[float]]
    @property
    def shape(self) -> list[int]: ...
    def __len__(self) -> int: ...
    @property
    def __array_interface__(self) -> dict[str, Any]: ...
    def __dlpack__(
        self,
        *,
        stream: Optional[int] = None,
        max_version: Optional[Tuple[int, int]] = None,
        dl_device: Optional[Tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> Tuple[int, int]: ...

class VideoDecoder:
    """Decodes a video (MP4/MOV, Matroska/WebM, MPEG-TS, IVF or raw H.264/HEVC) given as a
    path, bytes or a binary file object.

    device: "cpu", "cuda" or "cuda:N" (NVIDIA; frames stay in device memory: "nv12" as the
    decoder's surface, "rgb24" / "rgb_planar" converted on the GPU; "i420" is host only).
    format: "rgb24" (H, W, 3), "rgb_planar" (3, H, W), "nv12" or "i420" (H * 3 / 2, W).
    backend: "auto" picks the best one available ("nvidia" under device="cuda").
    parallel: sessions sharing one pass over a seekable H.264/HEVC input: None or "auto"
    (the library's plan: one per decode engine, fewer for short videos and a fair share when
    other decoders are open; the decoder's own session takes the first piece), or a number
    (1: one session). Frames always come out in presentation order.
    """

    def __init__(
        self,
        source: Source,
        device: str = "cpu",
        format: Format = "rgb24",
        backend: BackendName = "auto",
        parallel: Union[None, str, int] = None,
    ) -> None: ...
    @property
    def metadata(self) -> Metadata: ...
    @property
    def backend(self) -> str: ...
    def __len__(self) -> int:
        """Frames in the video (MP4); TypeError where the container does not say."""
    def __iter__(self) -> FrameIter:
        """Every frame in presentation order; a new pass each time."""
    def __getitem__(self, index: int) -> Frame: ...
    def get_frames_at(self, indices: Sequence[int]) -> FrameBatch:
        """Frames at presentation positions: MP4 decodes from the keyframe before each and
        drops what was not asked for; other containers decode from the start."""
    def get_frames_played_at(self, seconds: Sequence[float]) -> FrameBatch:
        """The frames on screen at each time (MP4/MOV input)."""

class FrameIter(Iterator[Frame]):
    """One pass over a VideoDecoder's frames."""

    def __iter__(self) -> FrameIter: ...
    def __next__(self) -> Frame: ...
    @property
    def sessions(self) -> Optional[int]:
        """Sessions decoding this pass (None before its first frame is asked for)."""

class VideoEncoder:
    """Encodes (H, W, 3) uint8 RGB frames (format="rgb24") or (H * 3 / 2, W) I420/NV12
    frames, from NumPy or any host DLPack producer, into MP4 (dest ending in .mp4/.m4v/.mov),
    raw Annex-B (another path) or bytes (dest=None, returned by close())."""

    def __init__(
        self,
        dest: Optional[Union[str, "os.PathLike[str]"]],
        width: int,
        height: int,
        fps: int = 30,
        codec: Literal["h264", "hevc"] = "h264",
        format: Literal["rgb24", "i420", "nv12"] = "rgb24",
        bitrate: int = 4_000_000,
        gop: int = 60,
        backend: BackendName = "auto",
    ) -> None: ...
    def encode(self, frame: Any) -> None: ...
    def close(self) -> Optional[bytes]: ...
    def __enter__(self) -> "VideoEncoder": ...
    def __exit__(self, *args: Any) -> None: ...
