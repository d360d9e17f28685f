//! The ELF header's type and byte order as the report and the layouts name them
//! ([`ElfType`]: `REL`, `EXEC`, `DYN`, `CORE` or `0x` and the number; [`Endian`]:
//! `little` or `big`). The parsers give the numbers (`input::elf`); these are the
//! words every output writes, and what reading a saved report back accepts: exactly
//! the names written, nothing else.

use std::borrow::Cow;
use std::fmt;

/// An ELF file's type, `e_type`.
///
/// Two values are equal when their numbers are ([`ElfType::e_type`]): `Other(3)` is
/// `Dyn`, and is written `DYN`. [`ElfType::from_e_type`] never makes it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ElfType {
    /// `ET_REL` (1): a relocatable object, `.o`.
    Rel,
    /// `ET_EXEC` (2): an executable loaded at the addresses of its program headers.
    Exec,
    /// `ET_DYN` (3): a shared library, or a position-independent executable.
    Dyn,
    /// `ET_CORE` (4): a core dump.
    Core,
    /// Any other number (`ET_NONE` 0, the OS- and processor-specific ranges), written
    /// `0x` and the number in lowercase hex without leading zeros (`0xfe00`).
    Other(u16),
}

impl ElfType {
    /// The type of the number `e_type`: the four named types by name, any other
    /// number as [`ElfType::Other`].
    pub fn from_e_type(e_type: u16) -> ElfType {
        match e_type {
            1 => ElfType::Rel,
            2 => ElfType::Exec,
            3 => ElfType::Dyn,
            4 => ElfType::Core,
            t => ElfType::Other(t),
        }
    }

    /// Its number, `e_type`.
    pub fn e_type(self) -> u16 {
        match self {
            ElfType::Rel => 1,
            ElfType::Exec => 2,
            ElfType::Dyn => 3,
            ElfType::Core => 4,
            ElfType::Other(t) => t,
        }
    }

    /// Its name in every output: `REL`, `EXEC`, `DYN`, `CORE`, or `0x` and the
    /// number (`0x0`, `0xfe00`); borrowed for the four named types.
    pub fn name(self) -> Cow<'static, str> {
        match ElfType::from_e_type(self.e_type()) {
            ElfType::Rel => Cow::Borrowed("REL"),
            ElfType::Exec => Cow::Borrowed("EXEC"),
            ElfType::Dyn => Cow::Borrowed("DYN"),
            ElfType::Core => Cow::Borrowed("CORE"),
            ElfType::Other(t) => Cow::Owned(format!("0x{t:x}")),
        }
    }

    /// The type named `name` ([`ElfType::name`]); `None` for any other text: another
    /// case, a number with leading zeros or in upper case, a named type's number
    /// (`0x3` is written `DYN`), a number past 16 bits.
    pub(crate) fn from_name(name: &str) -> Option<ElfType> {
        let t = match name {
            "REL" => return Some(ElfType::Rel),
            "EXEC" => return Some(ElfType::Exec),
            "DYN" => return Some(ElfType::Dyn),
            "CORE" => return Some(ElfType::Core),
            _ => ElfType::from_e_type(u16::from_str_radix(name.strip_prefix("0x")?, 16).ok()?),
        };
        (t.name() == name).then_some(t)
    }
}

impl PartialEq for ElfType {
    fn eq(&self, other: &ElfType) -> bool {
        self.e_type() == other.e_type()
    }
}

impl Eq for ElfType {}

impl std::hash::Hash for ElfType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.e_type().hash(state);
    }
}

impl fmt::Display for ElfType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl serde::Serialize for ElfType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> serde::Deserialize<'de> for ElfType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ElfType, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = ElfType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an ELF type: REL, EXEC, DYN, CORE, or 0x and the number in lowercase hex",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ElfType, E> {
                ElfType::from_name(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(Name)
    }
}

/// An ELF file's byte order (`EI_DATA`): `little` or `big` in every output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Endian {
    /// `ELFDATA2LSB`.
    #[serde(rename = "little")]
    Little,
    /// `ELFDATA2MSB`.
    #[serde(rename = "big")]
    Big,
}

impl Endian {
    /// `Little` when `little`, else `Big` (the parsers' `little_endian`).
    pub(crate) fn from_little(little: bool) -> Endian {
        if little { Endian::Little } else { Endian::Big }
    }

    /// Its name in every output: `little` or `big`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endian::Little => "little",
            Endian::Big => "big",
        }
    }
}

impl fmt::Display for Endian {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text the parsers' `type_str` gave before the enum: what every saved report
    /// and layout holds.
    fn written_before(t: u16) -> String {
        match t {
            1 => "REL".into(),
            2 => "EXEC".into(),
            3 => "DYN".into(),
            4 => "CORE".into(),
            t => format!("0x{t:x}"),
        }
    }

    /// Every one of the 65,536 numbers: named as before, written by serde as named,
    /// and read back (by name and from JSON) to the same number.
    #[test]
    fn every_type_round_trips() {
        for n in 0..=u16::MAX {
            let t = ElfType::from_e_type(n);
            assert_eq!(t.e_type(), n);
            let name = written_before(n);
            assert_eq!(t.name(), name);
            assert_eq!(t.to_string(), name);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            let back: ElfType = serde_json::from_str(&json).unwrap();
            assert_eq!(back.e_type(), n);
            assert_eq!(ElfType::from_name(&name), Some(t));
        }
        assert!(matches!(ElfType::from_e_type(3), ElfType::Dyn));
        assert!(matches!(ElfType::from_e_type(0), ElfType::Other(0)));
    }

    /// An `Other` of a named number is that type: equal to it, written by its name.
    #[test]
    fn other_of_a_named_number_is_the_named_type() {
        assert_eq!(ElfType::Other(3), ElfType::Dyn);
        assert_eq!(ElfType::Other(3).name(), "DYN");
        assert_eq!(
            serde_json::to_string(&ElfType::Other(1)).unwrap(),
            "\"REL\""
        );
        assert_ne!(ElfType::Other(5), ElfType::Core);
    }

    /// Text that no writer gives is an error naming it, never a type.
    #[test]
    fn unknown_types_are_refused() {
        for bad in [
            "", "dyn", "Dyn", " DYN", "DYN ", "0x", "0x3", "0x03", "0x0a", "0xA", "0X5", "0x+5",
            "0x-5", "5", "0x10000", "ET_DYN", "NONE",
        ] {
            assert_eq!(ElfType::from_name(bad), None, "{bad:?}");
            let err = serde_json::from_str::<ElfType>(&serde_json::to_string(bad).unwrap())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!(
                    "invalid value: string {bad:?}, expected an ELF type"
                )),
                "{bad:?}: {err}"
            );
        }
        assert!(serde_json::from_str::<ElfType>("3").is_err());
        assert!(serde_json::from_str::<ElfType>("null").is_err());
    }

    /// Both byte orders: named as before, read back; any other text refused by name.
    #[test]
    fn every_byte_order_round_trips() {
        for (e, name, little) in [
            (Endian::Little, "little", true),
            (Endian::Big, "big", false),
        ] {
            assert_eq!(Endian::from_little(little), e);
            assert_eq!(e.as_str(), name);
            assert_eq!(e.to_string(), name);
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Endian>(&json).unwrap(), e);
        }
        for bad in ["", "Little", "LITTLE", "le", "middle"] {
            let err = serde_json::from_str::<Endian>(&serde_json::to_string(bad).unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("unknown variant `{bad}`")), "{err}");
            assert!(err.contains("expected `little` or `big`"), "{err}");
        }
    }
}
