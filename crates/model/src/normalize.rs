//! Identifier normalisation and hashing, for contact lists, identity and exports.
//!
//! People are matched across systems by the SHA-256 of a *normalised* email address or phone
//! number, so two spellings of one address must normalise to the same bytes, and the bytes must
//! be what the destination platform computes from its own users' data. Every platform trims
//! and lowercases emails; they differ in the Gmail rules, in whether a phone keeps its `+`, and
//! in how the digest is encoded. [`Platform`] carries those differences; the free functions
//! ([`normalize_email`], [`normalize_phone`]) are Audex's own identity rules, which follow UID2
//! and Google Customer Match (see `/work/shared/data/SOURCES.md` §7 for the cited rules and the
//! vectors in `tests/fixtures/hashing_test_vectors.tsv`).
//!
//! Raw identifiers that do not look like what they claim to be are rejected (`None`) rather
//! than hashed: a hash of garbage can only ever produce false merges or wasted upload rows.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A destination whose published normalisation rules an identifier is prepared for.
///
/// The default is [`Platform::Uid2`]: UID2's rules are the most completely published, they
/// agree with Google Customer Match on every vector, and the same hashes travel in OpenRTB
/// `user.eids`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// IAB Tech Lab Unified ID 2.0: Gmail dots and `+suffix` dropped, E.164 phones with `+`,
    /// Base64 digests.
    #[default]
    Uid2,
    /// Google Ads API Customer Match and Enhanced Conversions: dots dropped in Gmail/Googlemail
    /// local parts, E.164 phones with `+`, lowercase hex digests.
    GoogleAds,
    /// Google Data Manager API (successor for Customer Match uploads): dots and `+suffix`
    /// dropped in Gmail/Googlemail local parts, E.164 with `+`, hex digests.
    GoogleDataManager,
    /// Meta Marketing / Conversions API: trim and lowercase emails; phones as digits with the
    /// country code and no `+`.
    Meta,
    /// Snap Conversions API: like Meta (digits-only phones, leading `00` and trunk `0` dropped).
    Snap,
    /// TikTok customer files: lowercase emails with any `+suffix` removed; digits-only phones.
    TikTok,
    /// X (Twitter) Ads custom audiences: trim and lowercase emails; handles without `@`.
    X,
}

impl Platform {
    /// Every platform, for iteration in tests and configuration screens.
    pub const ALL: [Platform; 7] = [
        Platform::Uid2,
        Platform::GoogleAds,
        Platform::GoogleDataManager,
        Platform::Meta,
        Platform::Snap,
        Platform::TikTok,
        Platform::X,
    ];

    /// The platform a display name refers to (the `platform` column of the test vectors, or
    /// the snake_case serde name); case-insensitive.
    pub fn from_name(name: &str) -> Option<Platform> {
        let n = name.trim().to_ascii_lowercase();
        Some(match n.as_str() {
            "uid2" | "uid 2" | "uid2.0" => Platform::Uid2,
            "google ads api" | "google ads" | "google_ads" | "google customer match" => {
                Platform::GoogleAds
            }
            "google data manager api" | "google data manager" | "google_data_manager" => {
                Platform::GoogleDataManager
            }
            "meta" | "facebook" => Platform::Meta,
            "snap" | "snapchat" => Platform::Snap,
            "tiktok" | "tik_tok" => Platform::TikTok,
            "x" | "twitter" => Platform::X,
            _ => return None,
        })
    }

    /// The email rules this platform documents.
    pub fn email_rules(self) -> EmailRules {
        match self {
            Platform::Uid2 => EmailRules::UID2,
            Platform::GoogleAds => EmailRules::GOOGLE_ADS,
            Platform::GoogleDataManager => EmailRules::GOOGLE_DATA_MANAGER,
            Platform::Meta | Platform::Snap | Platform::X => EmailRules::BASIC,
            Platform::TikTok => EmailRules::TIKTOK,
        }
    }

    /// How this platform wants a normalised phone number written before hashing.
    pub fn phone_format(self) -> PhoneFormat {
        match self {
            Platform::Uid2 | Platform::GoogleAds | Platform::GoogleDataManager | Platform::X => {
                PhoneFormat::E164
            }
            Platform::Meta | Platform::Snap | Platform::TikTok => PhoneFormat::DigitsOnly,
        }
    }

    /// How this platform encodes the 32 digest bytes.
    pub fn hash_encoding(self) -> HashEncoding {
        match self {
            Platform::Uid2 => HashEncoding::Base64,
            _ => HashEncoding::Hex,
        }
    }

    /// [`normalize_email_with`] under this platform's rules.
    pub fn normalize_email(self, raw: &str) -> Option<String> {
        normalize_email_with(raw, self.email_rules())
    }

    /// [`normalize_phone_with`] in this platform's format.
    pub fn normalize_phone(self, raw: &str, default_country_code: Option<&str>) -> Option<String> {
        normalize_phone_with(raw, default_country_code, self.phone_format())
    }

    /// The SHA-256 of an already normalised value, encoded the way this platform expects.
    pub fn hash(self, normalized: &str) -> String {
        sha256_encoded(normalized, self.hash_encoding())
    }
}

/// Which local-part rewrites apply to an email address. Built as flags because platforms
/// combine them differently; use the associated constants rather than building one by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailRules {
    /// Remove every `.` from the local part of a Gmail address (Gmail ignores them).
    pub gmail_drop_dots: bool,
    /// Remove `+` and everything after it from the local part of a Gmail address.
    pub gmail_drop_plus_suffix: bool,
    /// Remove `+` and everything after it from the local part of *any* address.
    pub drop_plus_suffix_everywhere: bool,
    /// Treat `googlemail.com` as a Gmail domain for the two Gmail rules.
    pub googlemail_is_gmail: bool,
    /// Rewrite the domain `googlemail.com` to `gmail.com` (the same mailbox).
    pub googlemail_to_gmail: bool,
}

impl EmailRules {
    /// Audex's identity key (the default): the most aggressive canonical form of a Gmail
    /// address, so that every spelling of one mailbox resolves to one person.
    pub const CANONICAL: EmailRules = EmailRules {
        gmail_drop_dots: true,
        gmail_drop_plus_suffix: true,
        drop_plus_suffix_everywhere: false,
        googlemail_is_gmail: true,
        googlemail_to_gmail: true,
    };
    /// UID2: the Gmail rules apply to `gmail.com` only.
    pub const UID2: EmailRules = EmailRules {
        gmail_drop_dots: true,
        gmail_drop_plus_suffix: true,
        drop_plus_suffix_everywhere: false,
        googlemail_is_gmail: false,
        googlemail_to_gmail: false,
    };
    /// Google Ads (Customer Match, Enhanced Conversions): dots only, `gmail.com` and
    /// `googlemail.com`, domain kept.
    pub const GOOGLE_ADS: EmailRules = EmailRules {
        gmail_drop_dots: true,
        gmail_drop_plus_suffix: false,
        drop_plus_suffix_everywhere: false,
        googlemail_is_gmail: true,
        googlemail_to_gmail: false,
    };
    /// Google Data Manager API (newer revision): dots and `+suffix`, both Google domains kept.
    pub const GOOGLE_DATA_MANAGER: EmailRules = EmailRules {
        gmail_drop_dots: true,
        gmail_drop_plus_suffix: true,
        drop_plus_suffix_everywhere: false,
        googlemail_is_gmail: true,
        googlemail_to_gmail: false,
    };
    /// TikTok customer files: `+suffix` removed on every domain, dots kept.
    pub const TIKTOK: EmailRules = EmailRules {
        gmail_drop_dots: false,
        gmail_drop_plus_suffix: false,
        drop_plus_suffix_everywhere: true,
        googlemail_is_gmail: false,
        googlemail_to_gmail: false,
    };
    /// Trim and lowercase only (Meta, Snap, X).
    pub const BASIC: EmailRules = EmailRules {
        gmail_drop_dots: false,
        gmail_drop_plus_suffix: false,
        drop_plus_suffix_everywhere: false,
        googlemail_is_gmail: false,
        googlemail_to_gmail: false,
    };
}

impl Default for EmailRules {
    fn default() -> Self {
        EmailRules::CANONICAL
    }
}

/// How a normalised phone number is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneFormat {
    /// `+` then country code and national number: `+12345678901`.
    #[default]
    E164,
    /// The same digits without the `+`: `12345678901`.
    DigitsOnly,
}

/// How the 32 bytes of a SHA-256 digest are written as text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashEncoding {
    /// 64 lowercase hexadecimal characters.
    #[default]
    Hex,
    /// 44 characters of standard padded Base64 (UID2).
    Base64,
}

/// Normalise an email address for Audex identity ([`EmailRules::CANONICAL`]): whitespace
/// removed, lowercased, and for `gmail.com`/`googlemail.com` dots and `+suffix` dropped from
/// the local part and the domain mapped to `gmail.com`. `None` when it is not an email address.
pub fn normalize_email(raw: &str) -> Option<String> {
    normalize_email_with(raw, EmailRules::CANONICAL)
}

/// Normalise an email address under the given rules.
///
/// Whitespace anywhere is removed (it can never be part of an unquoted address, and Google
/// asks for intermediate whitespace to be removed), then the address is lowercased and checked:
/// exactly one `@`; a local part of at most 64 bytes without specials, leading/trailing or
/// doubled dots; a domain of at least two dot-separated labels of letters, digits and inner
/// hyphens. Quoted local parts and IP-literal domains are rejected: they do not occur in
/// customer lists and no platform documents how to normalise them.
pub fn normalize_email_with(raw: &str, rules: EmailRules) -> Option<String> {
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.to_lowercase();
    let (local, domain) = lower.split_once('@')?;
    if domain.contains('@') || !valid_local_part(local) || !valid_domain(domain) {
        return None;
    }
    let is_gmail =
        domain == "gmail.com" || (rules.googlemail_is_gmail && domain == "googlemail.com");
    let mut local = local;
    if (rules.drop_plus_suffix_everywhere || (is_gmail && rules.gmail_drop_plus_suffix))
        && let Some((before, _)) = local.split_once('+')
    {
        local = before;
    }
    let local: String = if is_gmail && rules.gmail_drop_dots {
        local.chars().filter(|&c| c != '.').collect()
    } else {
        local.to_owned()
    };
    // Stripping a `+suffix` can leave an empty local part or a trailing dot (`a.+b`).
    if !valid_local_part(&local) {
        return None;
    }
    let domain = if domain == "googlemail.com" && rules.googlemail_to_gmail {
        "gmail.com"
    } else {
        domain
    };
    let out = format!("{local}@{domain}");
    (out.len() <= 254).then_some(out)
}

fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &[char] = &['(', ')', '<', '>', '[', ']', '\\', ',', ';', ':', '"'];
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_control() && !SPECIALS.contains(&c))
}

fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let mut labels = 0;
    for label in domain.split('.') {
        labels += 1;
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c == '-' || c.is_alphanumeric());
        if !ok {
            return false;
        }
    }
    // The top-level label of a real domain is never all digits; this also rejects `1.2.3.4`.
    labels >= 2
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

/// Normalise a phone number to E.164 (`+` and 8–15 digits), Audex's identity form.
///
/// Spaces, dashes, dots, slashes and parentheses are removed; any other character (letters,
/// extensions) rejects the number. A number written with `+` or the international prefix `00`
/// is taken as it stands (a `(0)` trunk marker after the country code is dropped). A number
/// without either needs `default_country_code` (digits, optionally with `+`, e.g. `"1"`):
/// a leading national trunk `0` is replaced by it (kept for Italy, whose numbers keep the `0`),
/// and it is prepended unless the number evidently already starts with it — it begins with
/// those digits and, for a country whose national number lengths are known, what follows has
/// such a length (`1 (234) 567-8901` with `"1"` is `+12345678901`; `9123456789` with `"91"`
/// is `+919123456789`). For a country not in that small table the code is always prepended.
/// Without a default country code such a number is `None`: it cannot be matched reliably.
pub fn normalize_phone(raw: &str, default_country_code: Option<&str>) -> Option<String> {
    normalize_phone_with(raw, default_country_code, PhoneFormat::E164)
}

/// [`normalize_phone`], written in the given format.
pub fn normalize_phone_with(
    raw: &str,
    default_country_code: Option<&str>,
    format: PhoneFormat,
) -> Option<String> {
    let s = raw.trim();
    let (mut international, rest) = match s.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let rest = if international {
        rest.replace("(0)", "")
    } else {
        rest.to_owned()
    };
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')' | '/')) {
            return None;
        }
    }
    let cc = default_country_code.and_then(valid_country_code);
    if !international {
        if let Some(d) = digits.strip_prefix("00") {
            digits = d.to_owned();
            international = true;
        } else if cc == Some("1") && digits.starts_with("011") {
            // The NANP international access code.
            digits.drain(..3);
            international = true;
        }
    }
    if !international {
        let cc = cc?;
        if let Some(national) = digits.strip_prefix('0') {
            digits = if cc == "39" {
                format!("{cc}{digits}")
            } else {
                format!("{cc}{national}")
            };
        } else if !already_has_country_code(&digits, cc) {
            digits.insert_str(0, cc);
        }
    }
    if digits.starts_with('0') || !(8..=15).contains(&digits.len()) {
        return None;
    }
    Some(match format {
        PhoneFormat::E164 => format!("+{digits}"),
        PhoneFormat::DigitsOnly => digits,
    })
}

/// `Some(digits)` when `cc` is a plausible ITU country calling code (1–3 digits, no leading 0).
fn valid_country_code(cc: &str) -> Option<&str> {
    let cc = cc.trim();
    let cc = cc.strip_prefix('+').unwrap_or(cc);
    let ok = (1..=3).contains(&cc.len())
        && cc.bytes().all(|b| b.is_ascii_digit())
        && !cc.starts_with('0');
    ok.then_some(cc)
}

/// National significant number lengths of some large markets: used only to tell a number
/// that already carries the default country code from a national number that happens to
/// begin with the same digits.
const NATIONAL_LENGTHS: &[(&str, &[usize])] = &[
    ("1", &[10]),
    ("7", &[10]),
    ("27", &[9]),
    ("31", &[9]),
    ("33", &[9]),
    ("34", &[9]),
    ("41", &[9]),
    ("44", &[9, 10]),
    ("45", &[8]),
    ("47", &[8]),
    ("48", &[9]),
    ("52", &[10]),
    ("55", &[10, 11]),
    ("61", &[9]),
    ("65", &[8]),
    ("81", &[9, 10]),
    ("90", &[10]),
    ("91", &[10]),
    ("374", &[8]),
];

fn already_has_country_code(digits: &str, cc: &str) -> bool {
    let Some(national) = digits.strip_prefix(cc) else {
        return false;
    };
    NATIONAL_LENGTHS
        .iter()
        .find(|(code, _)| *code == cc)
        .is_some_and(|(_, lengths)| lengths.contains(&national.len()))
}

/// Normalise an X (Twitter) handle: trimmed, one leading `@` removed, lowercased; 1–15
/// characters of letters, digits and `_`, as X allows.
pub fn normalize_handle(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = s.strip_prefix('@').unwrap_or(s);
    let ok =
        (1..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| s.to_ascii_lowercase())
}

/// Normalise a mobile advertising id (IDFA, AAID): trimmed and lowercased UUID
/// (`8-4-4-4-12` hex). The all-zero id that devices report when tracking is limited is not an
/// identifier and is rejected.
pub fn normalize_device_id(raw: &str) -> Option<String> {
    let s = raw.trim().to_ascii_lowercase();
    let groups: Vec<&str> = s.split('-').collect();
    let shape_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    let zero = s.bytes().all(|b| b == b'0' || b == b'-');
    (shape_ok && !zero).then_some(s)
}

/// Normalise a first or last name for hashing: trimmed, inner whitespace runs collapsed to
/// one space, lowercased (Google Customer Match). `None` when nothing is left.
pub fn normalize_name(raw: &str) -> Option<String> {
    let joined = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then(|| joined.to_lowercase())
}

/// The SHA-256 of `s` (its UTF-8 bytes) as 64 lowercase hex characters.
pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// The SHA-256 of `s` as standard padded Base64 of the 32 raw digest bytes (UID2's encoding;
/// not the Base64 of the hex string).
pub fn sha256_base64(s: &str) -> String {
    base64(&Sha256::digest(s.as_bytes()))
}

/// The SHA-256 of `s` in the given encoding.
pub fn sha256_encoded(s: &str, encoding: HashEncoding) -> String {
    match encoding {
        HashEncoding::Hex => sha256_hex(s),
        HashEncoding::Base64 => sha256_base64(s),
    }
}

/// Whether `s` is a SHA-256 digest in Audex's canonical form: exactly 64 lowercase hex chars.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Bring an already hashed identifier (as found in contact lists and `email_sha256` traits)
/// to the canonical form: 64 lowercase hex characters. Accepts hex in any case, and the
/// 44-character Base64 of the 32 digest bytes (UID2, Google Data Manager; standard or URL-safe
/// alphabet). Surrounding whitespace is ignored. `None` for anything else.
pub fn normalize_hashed(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(s.to_ascii_lowercase());
    }
    let bytes = decode_base64_digest(s)?;
    Some(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode the Base64 of exactly 32 bytes (43 symbols and one `=`, padding optional).
fn decode_base64_digest(s: &str) -> Option<[u8; 32]> {
    let body = s.strip_suffix('=').unwrap_or(s);
    if body.len() != 43 {
        return None;
    }
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut out = [0u8; 32];
    let mut n = 0;
    for b in body.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if n == out.len() {
                return None;
            }
            out[n] = (acc >> bits) as u8;
            n += 1;
            acc &= (1 << bits) - 1;
        }
    }
    // 43 symbols carry 258 bits: 256 data bits and 2 padding bits that must be zero.
    (n == 32 && acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_canonical_gmail_rules() {
        assert_eq!(
            normalize_email("  Jane.Saoirse+Work@GoogleMail.com "),
            Some("janesaoirse@gmail.com".into())
        );
        assert_eq!(
            normalize_email("jane.saoirse+work@example.com"),
            Some("jane.saoirse+work@example.com".into())
        );
        assert_eq!(
            Platform::Uid2.normalize_email("jane.saoirse@googlemail.com"),
            Some("jane.saoirse@googlemail.com".into())
        );
        assert_eq!(
            Platform::GoogleAds.normalize_email("jane.s+x@googlemail.com"),
            Some("janes+x@googlemail.com".into())
        );
        assert_eq!(
            Platform::TikTok.normalize_email("Jane.Doe+ads@Example.com"),
            Some("jane.doe@example.com".into())
        );
        assert_eq!(
            normalize_email("jane doe@example.com"),
            Some("janedoe@example.com".into())
        );
    }

    #[test]
    fn email_rejects_non_addresses() {
        for bad in [
            "",
            "   ",
            "jane",
            "jane@",
            "@example.com",
            "jane@@example.com",
            "jane@example",
            "jane@example..com",
            "jane@-example.com",
            ".jane@example.com",
            "ja..ne@example.com",
            "\"jane\"@example.com",
            "Jane <jane@example.com>",
            "jane@1.2.3.4",
            "+tag@gmail.com",
            "a@b@example.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn phone_rules() {
        assert_eq!(
            normalize_phone("+1 (234) 567-8901", None),
            Some("+12345678901".into())
        );
        assert_eq!(
            normalize_phone("1 (234) 567-8901", Some("1")),
            Some("+12345678901".into())
        );
        assert_eq!(
            normalize_phone("(234) 567.8901", Some("+1")),
            Some("+12345678901".into())
        );
        assert_eq!(normalize_phone("(234) 567-8901", None), None);
        assert_eq!(
            normalize_phone("0044 20 7946 0018", None),
            Some("+442079460018".into())
        );
        assert_eq!(
            normalize_phone("+44 (0)20 7946 0018", None),
            Some("+442079460018".into())
        );
        assert_eq!(
            normalize_phone("020 7946 0018", Some("44")),
            Some("+442079460018".into())
        );
        assert_eq!(
            normalize_phone("06 1234 5678", Some("39")),
            Some("+390612345678".into())
        );
        assert_eq!(
            normalize_phone("91234 56789", Some("91")),
            Some("+919123456789".into())
        );
        assert_eq!(
            normalize_phone("011 44 20 7946 0018", Some("1")),
            Some("+442079460018".into())
        );
        assert_eq!(normalize_phone("+1 234 567 8901 ext 5", None), None);
        assert_eq!(normalize_phone("+123", None), None);
        assert_eq!(normalize_phone("+1234567890123456", None), None);
        assert_eq!(normalize_phone("+0123456789", None), None);
        assert_eq!(normalize_phone("2345678901", Some("01")), None);
        assert_eq!(
            normalize_phone_with("+44 844 412 4653", None, PhoneFormat::DigitsOnly),
            Some("448444124653".into())
        );
    }

    #[test]
    fn handles_device_ids_names() {
        assert_eq!(normalize_handle("@AdsAPI"), Some("adsapi".into()));
        assert_eq!(normalize_handle("@"), None);
        assert_eq!(normalize_handle("has space"), None);
        assert_eq!(
            normalize_device_id(" 5F3A2B18-9C4D-4E7F-B8E2-17D3A1E69B25 "),
            Some("5f3a2b18-9c4d-4e7f-b8e2-17d3a1e69b25".into())
        );
        assert_eq!(
            normalize_device_id("00000000-0000-0000-0000-000000000000"),
            None
        );
        assert_eq!(normalize_device_id("ABCD-1"), None);
        assert_eq!(normalize_name("  Mary   Ann "), Some("mary ann".into()));
        assert_eq!(normalize_name(" \t"), None);
    }

    #[test]
    fn hashes_and_encodings() {
        let h = sha256_hex("user@example.com");
        assert_eq!(
            h,
            "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514"
        );
        assert!(is_sha256_hex(&h));
        assert!(!is_sha256_hex(&h.to_ascii_uppercase()));
        let b = sha256_base64("user@example.com");
        assert_eq!(b, "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=");
        assert_eq!(normalize_hashed(&b), Some(h.clone()));
        assert_eq!(normalize_hashed(b.trim_end_matches('=')), Some(h.clone()));
        assert_eq!(
            normalize_hashed(&b.replace('/', "_").replace('+', "-")),
            Some(h.clone())
        );
        assert_eq!(
            normalize_hashed(&format!(" {} ", h.to_ascii_uppercase())),
            Some(h)
        );
        assert_eq!(normalize_hashed("not a hash"), None);
        assert_eq!(normalize_hashed(&"g".repeat(64)), None);
        // 43 symbols whose last one carries non-zero padding bits are not a canonical digest.
        assert_eq!(normalize_hashed(&format!("{}B", "A".repeat(42))), None);
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            let name = serde_json::to_value(p)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            assert_eq!(Platform::from_name(&name), Some(p), "{name}");
        }
    }
}
