//! A bit writer for RBSP syntax (u(n), ue(v), se(v)) and emulation prevention.

/// Writes bits most significant first.
#[derive(Debug, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// `bits` low bits of `value` (at most 64).
    pub fn u(&mut self, bits: u32, value: u64) {
        for i in (0..bits.min(64)).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                self.bytes.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// One flag.
    pub fn flag(&mut self, b: bool) {
        self.u(1, u64::from(b));
    }

    /// Unsigned Exp-Golomb; `u32::MAX` gives a code longer than readers accept.
    pub fn ue(&mut self, v: u32) {
        let x = u64::from(v) + 1;
        let len = 64 - x.leading_zeros();
        self.u(len - 1, 0);
        self.u(len, x);
    }

    /// Signed Exp-Golomb.
    pub fn se(&mut self, v: i32) {
        let m = if v > 0 {
            (i64::from(v) * 2 - 1) as u64
        } else {
            (-i64::from(v) * 2) as u64
        };
        let x = m + 1;
        let len = 64 - x.leading_zeros();
        self.u(len - 1, 0);
        self.u(len, x);
    }

    /// Raw bytes (after aligning to a byte with zero bits).
    pub fn bytes(&mut self, data: &[u8]) {
        self.align(false);
        self.bytes.extend_from_slice(data);
    }

    fn align(&mut self, stop_bit: bool) {
        if stop_bit {
            self.flag(true);
        }
        while self.n != 0 {
            self.flag(false);
        }
    }

    /// The RBSP with `rbsp_trailing_bits` when `trailing`.
    pub fn finish(mut self, trailing: bool) -> Vec<u8> {
        self.align(trailing);
        self.bytes
    }
}

/// Inserts emulation-prevention bytes so that the payload holds no `00 00 0x` (x <= 3).
pub fn escape(rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + rbsp.len() / 2);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}
