//! A tiny MP4 box tree for tests that rewrite real files: parse, edit, write back with the
//! sizes recomputed.
#![allow(dead_code)]

/// Boxes whose payload is a list of child boxes.
const CONTAINERS: [&[u8; 4]; 10] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts", b"dinf",
];

/// One box: a container with children, or a leaf with its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Mp4Box {
    pub kind: [u8; 4],
    pub payload: Vec<u8>,
    pub children: Vec<Mp4Box>,
}

impl Mp4Box {
    /// A leaf box.
    pub fn leaf(kind: &[u8; 4], payload: Vec<u8>) -> Self {
        Self {
            kind: *kind,
            payload,
            children: Vec::new(),
        }
    }

    /// A full box (version 0) whose payload is `flags` then `body`.
    pub fn full(kind: &[u8; 4], flags: u32, body: &[u8]) -> Self {
        let mut payload = flags.to_be_bytes().to_vec();
        payload.extend_from_slice(body);
        Self::leaf(kind, payload)
    }

    /// The first descendant at `path` (types from this box down).
    pub fn find_mut(&mut self, path: &[&[u8; 4]]) -> Option<&mut Mp4Box> {
        let (first, rest) = path.split_first()?;
        let child = self.children.iter_mut().find(|c| &&c.kind == first)?;
        if rest.is_empty() {
            Some(child)
        } else {
            child.find_mut(rest)
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.kind);
        if CONTAINERS.contains(&&self.kind) {
            for c in &self.children {
                c.write(out);
            }
        } else {
            out.extend_from_slice(&self.payload);
        }
        let size = u32::try_from(out.len() - start).unwrap();
        out[start..start + 4].copy_from_slice(&size.to_be_bytes());
    }
}

/// Parses a list of boxes (32-bit sizes only: the test files are small).
pub fn parse(mut bytes: &[u8]) -> Vec<Mp4Box> {
    let mut out = Vec::new();
    while bytes.len() >= 8 {
        let size = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = bytes[4..8].try_into().unwrap();
        let body = &bytes[8..size];
        let mut b = Mp4Box::leaf(&kind, body.to_vec());
        if CONTAINERS.contains(&&kind) {
            b.children = parse(body);
        }
        out.push(b);
        bytes = &bytes[size..];
    }
    out
}

/// Writes boxes back.
pub fn write(boxes: &[Mp4Box]) -> Vec<u8> {
    let mut out = Vec::new();
    for b in boxes {
        b.write(&mut out);
    }
    out
}

/// The top-level box of type `kind`.
pub fn top<'a>(boxes: &'a mut [Mp4Box], kind: &[u8; 4]) -> &'a mut Mp4Box {
    boxes
        .iter_mut()
        .find(|b| &b.kind == kind)
        .expect("box present")
}

/// A `trun` (data offset present, no per-sample fields) claiming `count` samples.
pub fn trun(count: u32, data_offset: u32) -> Mp4Box {
    let mut body = count.to_be_bytes().to_vec();
    body.extend_from_slice(&data_offset.to_be_bytes());
    Mp4Box::full(b"trun", 0x01, &body)
}

/// A table box (`stts`, `stsc`, `stco`, ...) claiming `count` entries, followed by `entries`
/// (big-endian u32 words).
pub fn table(kind: &[u8; 4], count: u32, entries: &[u32]) -> Mp4Box {
    let mut body = count.to_be_bytes().to_vec();
    for e in entries {
        body.extend_from_slice(&e.to_be_bytes());
    }
    Mp4Box::full(kind, 0, &body)
}
