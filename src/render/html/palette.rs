//! The colours of the kinds in the page: one sRGB colour per kind, the same in the
//! light and the dark theme, chosen so that every pair is at least ΔE 10 apart
//! (CIEDE2000) for normal vision and for the three common colour-vision
//! deficiencies (protanopia, deuteranopia, tritanopia, simulated as Machado, Oliveira
//! and Fernandes 2009 at full severity), and each at least ΔE 12 from both themes'
//! backgrounds (issue 20: vdso and gap were ΔE 1.1 apart). The unit tests below
//! compute every distance; tests/html.rs checks them again on the colours Chromium
//! computes. The terminal keeps its own eight colours (`kind_hue`).

use crate::vocab::Kind;

/// Every kind's colour, in [`Kind::ALL`]'s order.
pub(crate) const PALETTE: [(Kind, [u8; 3]); 23] = [
    (Kind::Text, [0x00, 0x78, 0x4b]),
    (Kind::Rodata, [0x00, 0xb4, 0xa5]),
    (Kind::Data, [0xa5, 0xb4, 0x00]),
    (Kind::Relro, [0xa5, 0x3c, 0x78]),
    (Kind::Bss, [0x87, 0x78, 0xb4]),
    (Kind::Gap, [0xb4, 0xff, 0xd2]),
    (Kind::Heap, [0xc3, 0x5a, 0xff]),
    (Kind::Stack, [0xff, 0x3c, 0x87]),
    (Kind::ThreadStack, [0xf0, 0xa5, 0x87]),
    (Kind::SignalStack, [0x78, 0x1e, 0x1e]),
    (Kind::Guard, [0x69, 0x87, 0x78]),
    (Kind::Vdso, [0x3c, 0x4b, 0x4b]),
    (Kind::Vvar, [0x3c, 0x2d, 0x5a]),
    (Kind::Vsyscall, [0x0f, 0x00, 0x2d]),
    (Kind::Anon, [0xc3, 0xa5, 0xf0]),
    (Kind::Reserved, [0xff, 0xd2, 0xff]),
    (Kind::File, [0xff, 0xff, 0x69]),
    (Kind::MappedFile, [0x96, 0x87, 0x3c]),
    (Kind::Shm, [0x69, 0x00, 0xb4]),
    (Kind::Device, [0x1e, 0x00, 0x0f]),
    (Kind::AnonInode, [0x3c, 0x00, 0x00]),
    (Kind::Kernel, [0x87, 0x00, 0xff]),
    (Kind::Unknown, [0xc3, 0x00, 0x00]),
];

/// What grew and what shrank on the diff page: orange and blue, apart for every
/// colour vision (not red and green).
pub(crate) const GREW: [u8; 3] = [0xd5, 0x5e, 0x00];
/// See [`GREW`].
pub(crate) const SHRANK: [u8; 3] = [0x00, 0x72, 0xb2];

/// `#rrggbb`.
pub(crate) fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// CIELAB (D65) of an sRGB colour, optionally seen through a colour-vision
/// deficiency (a Machado 2009 matrix on linear RGB). For the tests, here and in
/// tests/html.rs (which has its own copy: integration tests see only the public API).
#[cfg(test)]
pub(crate) mod colour {
    /// Machado, Oliveira and Fernandes (2009), severity 1.0, on linear RGB.
    pub(crate) const PROTAN: [[f64; 3]; 3] = [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ];
    /// Deuteranopia.
    pub(crate) const DEUTAN: [[f64; 3]; 3] = [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ];
    /// Tritanopia.
    pub(crate) const TRITAN: [[f64; 3]; 3] = [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ];

    fn linear(c: u8) -> f64 {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }

    /// CIELAB of `rgb`, through `cvd` when given.
    pub(crate) fn lab(rgb: [u8; 3], cvd: Option<&[[f64; 3]; 3]>) -> [f64; 3] {
        let mut v = rgb.map(linear);
        if let Some(m) = cvd {
            v = [0, 1, 2]
                .map(|i| (m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2]).clamp(0.0, 1.0));
        }
        let [r, g, b] = v;
        let x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
        let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
        let z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
        let f = |t: f64| {
            if t > 216.0 / 24389.0 {
                t.cbrt()
            } else {
                (24389.0 / 27.0 * t + 16.0) / 116.0
            }
        };
        let (fx, fy, fz) = (f(x / 0.95047), f(y), f(z / 1.08883));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    /// CIEDE2000 (Sharma, Wu and Dalal 2005).
    pub(crate) fn de2000(p: [f64; 3], q: [f64; 3]) -> f64 {
        let [l1, a1, b1] = p;
        let [l2, a2, b2] = q;
        let (c1, c2) = (a1.hypot(b1), a2.hypot(b2));
        let cb = (c1 + c2) / 2.0;
        let g = 0.5 * (1.0 - (cb.powi(7) / (cb.powi(7) + 25f64.powi(7))).sqrt());
        let (a1p, a2p) = ((1.0 + g) * a1, (1.0 + g) * a2);
        let (c1p, c2p) = (a1p.hypot(b1), a2p.hypot(b2));
        let hue = |b: f64, a: f64| {
            if b == 0.0 && a == 0.0 {
                0.0
            } else {
                b.atan2(a).to_degrees().rem_euclid(360.0)
            }
        };
        let (h1p, h2p) = (hue(b1, a1p), hue(b2, a2p));
        let dl = l2 - l1;
        let dc = c2p - c1p;
        let dh = if c1p * c2p == 0.0 {
            0.0
        } else if (h2p - h1p).abs() <= 180.0 {
            h2p - h1p
        } else if h2p - h1p > 180.0 {
            h2p - h1p - 360.0
        } else {
            h2p - h1p + 360.0
        };
        let dhh = 2.0 * (c1p * c2p).sqrt() * (dh.to_radians() / 2.0).sin();
        let lb = (l1 + l2) / 2.0;
        let cbp = (c1p + c2p) / 2.0;
        let hb = if c1p * c2p == 0.0 {
            h1p + h2p
        } else if (h1p - h2p).abs() <= 180.0 {
            (h1p + h2p) / 2.0
        } else if h1p + h2p < 360.0 {
            (h1p + h2p + 360.0) / 2.0
        } else {
            (h1p + h2p - 360.0) / 2.0
        };
        let t = 1.0 - 0.17 * (hb - 30.0).to_radians().cos()
            + 0.24 * (2.0 * hb).to_radians().cos()
            + 0.32 * (3.0 * hb + 6.0).to_radians().cos()
            - 0.20 * (4.0 * hb - 63.0).to_radians().cos();
        let dtheta = 30.0 * (-((hb - 275.0) / 25.0).powi(2)).exp();
        let rc = 2.0 * (cbp.powi(7) / (cbp.powi(7) + 25f64.powi(7))).sqrt();
        let sl = 1.0 + 0.015 * (lb - 50.0).powi(2) / (20.0 + (lb - 50.0).powi(2)).sqrt();
        let sc = 1.0 + 0.045 * cbp;
        let sh = 1.0 + 0.015 * cbp * t;
        let rt = -(2.0 * dtheta).to_radians().sin() * rc;
        ((dl / sl).powi(2) + (dc / sc).powi(2) + (dhh / sh).powi(2) + rt * (dc / sc) * (dhh / sh))
            .sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::colour::{DEUTAN, PROTAN, TRITAN, de2000, lab};
    use super::*;

    /// Sharma, Wu and Dalal's test data (pairs 1, 7, 17, 25 of their table).
    #[test]
    fn ciede2000_matches_the_published_pairs() {
        let pairs = [
            ([50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485], 2.0425),
            ([50.0, 0.0, 0.0], [50.0, -1.0, 2.0], 2.3669),
            ([50.0, 2.5, 0.0], [73.0, 25.0, -18.0], 27.1492),
            (
                [60.2574, -34.0099, 36.2677],
                [60.4626, -34.1751, 39.4387],
                1.2644,
            ),
        ];
        for (p, q, want) in pairs {
            assert!(
                (de2000(p, q) - want).abs() < 1e-4,
                "{p:?} {q:?}: {}",
                de2000(p, q)
            );
        }
    }

    /// Issue 20: every pair of kind colours at least ΔE 10 apart, for normal vision
    /// and the three common colour-vision deficiencies; each visible on both themes'
    /// backgrounds; what grew and shrank apart for everyone.
    #[test]
    fn every_pair_of_kind_colours_is_told_apart() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(PALETTE[i].0, *k, "PALETTE in Kind::ALL's order");
        }
        let visions: [(&str, Option<&[[f64; 3]; 3]>); 4] = [
            ("normal", None),
            ("protan", Some(&PROTAN)),
            ("deutan", Some(&DEUTAN)),
            ("tritan", Some(&TRITAN)),
        ];
        let mut worst = f64::MAX;
        for (name, cvd) in visions {
            for (i, (a, ca)) in PALETTE.iter().enumerate() {
                for (b, cb) in &PALETTE[i + 1..] {
                    let d = de2000(lab(*ca, cvd), lab(*cb, cvd));
                    worst = worst.min(d);
                    assert!(d >= 10.0, "{name}: {a} and {b} are ΔE {d:.2} apart");
                }
            }
            let d = de2000(lab(GREW, cvd), lab(SHRANK, cvd));
            assert!(d >= 30.0, "{name}: grew and shrank ΔE {d:.2}");
        }
        assert!(worst >= 10.0);
        for bg in [[0xff, 0xff, 0xff], [0x15, 0x17, 0x1a]] {
            for (k, c) in PALETTE {
                let d = de2000(lab(c, None), lab(bg, None));
                assert!(d >= 12.0, "{k} on {}: ΔE {d:.2}", hex(bg));
            }
        }
    }
}
