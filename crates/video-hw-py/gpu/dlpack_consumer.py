"""A DLPack consumer in ctypes (no NumPy, no torch): what torch.from_dlpack does with a
video_hw frame, and a byte-exact copy of its memory to the host (cuMemcpyDtoH for CUDA)."""
import ctypes

KDL_CPU, KDL_CUDA = 1, 2


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [
        ("version", DLPackVersion),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", DELETER),
        ("flags", ctypes.c_uint64),
        ("dl_tensor", DLTensor),
    ]


_api = ctypes.pythonapi
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]


class Cuda:
    """The few driver calls the check needs, on the device's primary context (the one the
    library's sessions use by default)."""

    def __init__(self, ordinal=0):
        self.lib = ctypes.CDLL("libcuda.so.1")
        self.ok(self.lib.cuInit(0), "cuInit")
        dev = ctypes.c_int()
        self.ok(self.lib.cuDeviceGet(ctypes.byref(dev), ordinal), "cuDeviceGet")
        self.ctx = ctypes.c_void_p()
        self.ok(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(self.ctx), dev), "retain")
        self.ok(self.lib.cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent")

    @staticmethod
    def ok(rc, what):
        if rc != 0:
            raise RuntimeError(f"{what} failed: CUresult {rc}")

    def dtoh(self, ptr, size):
        buf = ctypes.create_string_buffer(size)
        self.lib.cuMemcpyDtoH_v2.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t]
        self.ok(self.lib.cuMemcpyDtoH_v2(buf, ptr, size), "cuMemcpyDtoH")
        return buf.raw


def take(obj, stream=None, cuda=None):
    """Consumes `obj.__dlpack__` like a DLPack consumer: returns (device, shape, strides in
    elements, bits, rows of bytes: a list of each row's visible bytes), then calls the deleter.
    2-D tensors (nv12/i420 layouts), and 3-D (H, W, C) tensors whose last two dimensions are
    contiguous (rgb24: each row is W * C elements)."""
    cap = obj.__dlpack__(stream=stream, max_version=(1, 1))
    p = _api.PyCapsule_GetPointer(cap, b"dltensor_versioned")
    m = DLManagedTensorVersioned.from_address(p)
    _api.PyCapsule_SetName(cap, b"used_dltensor_versioned")
    del cap  # the consumer owns the tensor now; the frame's memory must stay alive
    t = m.dl_tensor
    assert (m.version.major, t.dtype.code, t.dtype.lanes) == (1, 1, 1), "unexpected tensor"
    assert t.ndim in (2, 3), "unexpected tensor"
    shape = [t.shape[i] for i in range(t.ndim)]
    strides = [t.strides[i] for i in range(t.ndim)]
    if t.ndim == 3:
        assert strides[1:] == [shape[2], 1], f"rows not contiguous: {strides}"
    elem = t.dtype.bits // 8
    pitch = strides[0] * elem
    row = shape[1] * elem * (shape[2] if t.ndim == 3 else 1)
    size = (shape[0] - 1) * pitch + row
    base = t.data + t.byte_offset
    if t.device.device_type == KDL_CUDA:
        raw = cuda.dtoh(base, size)
    else:
        raw = ctypes.string_at(base, size)
    rows = [raw[r * pitch: r * pitch + row] for r in range(shape[0])]
    device = (t.device.device_type, t.device.device_id)
    m.deleter(p)
    return device, shape, strides, t.dtype.bits, rows


def host_bytes(obj):
    """The bytes of a contiguous host frame through its __array_interface__."""
    ai = obj.__array_interface__
    n = 1
    for d in ai["shape"]:
        n *= d
    return ctypes.string_at(ai["data"][0], n * int(ai["typestr"][-1]))
