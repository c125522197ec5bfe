//! Closed vocabularies (bands, levels, genders, seasons, channels): their names in both
//! spellings and the serde helpers that read either.
//!
//! Rules write snake_case (`very_high`); the typed kinds write Criteo's PascalCase (`VeryHigh`).
//! Both forms, and any ASCII case with or without `_`/`-`/spaces, are accepted on input.

use std::fmt;
use std::marker::PhantomData;

use audex_model::Channel;
use audex_model::event::{Gender, IncomeBand};
use audex_model::season::Season;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};

use crate::ast::{BuyingPowerLevel, PriceBand};

/// A closed vocabulary with a snake_case and a PascalCase name per value.
pub(crate) trait Vocab: Sized + Copy + PartialEq + 'static {
    /// What the values are, for messages ("gender", "price band").
    const WHAT: &'static str;
    /// Every value, in order.
    fn all() -> &'static [Self];
    /// snake_case name (rules, text form).
    fn name(self) -> &'static str;
    /// PascalCase name (typed kinds, Criteo).
    fn criteo_name(self) -> &'static str;

    /// Reads either spelling, ignoring ASCII case and `_`, `-`, spaces.
    fn from_name(s: &str) -> Option<Self> {
        let key = squash(s);
        Self::all()
            .iter()
            .copied()
            .find(|v| squash(v.name()) == key || squash(v.criteo_name()) == key)
    }

    /// "one of `a`, `b` or `c`" over the snake names, for error messages.
    fn expected_list() -> String {
        let names: Vec<String> = Self::all().iter().map(|v| v.name().to_string()).collect();
        join_or(&names)
    }
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `a`, `b` or `c`.
pub(crate) fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

macro_rules! vocab {
    ($ty:ty, $what:expr, [$($v:path => $snake:expr, $pascal:expr);* $(;)?]) => {
        impl Vocab for $ty {
            const WHAT: &'static str = $what;
            fn all() -> &'static [Self] {
                &[$($v),*]
            }
            fn name(self) -> &'static str {
                match self { $($v => $snake),* }
            }
            fn criteo_name(self) -> &'static str {
                match self { $($v => $pascal),* }
            }
        }
    };
}

vocab!(PriceBand, "price band", [
    PriceBand::Low => "low", "Low";
    PriceBand::Medium => "medium", "Medium";
    PriceBand::High => "high", "High";
]);

vocab!(BuyingPowerLevel, "buying power level", [
    BuyingPowerLevel::Low => "low", "Low";
    BuyingPowerLevel::Medium => "medium", "Medium";
    BuyingPowerLevel::High => "high", "High";
    BuyingPowerLevel::VeryHigh => "very_high", "VeryHigh";
]);

vocab!(Gender, "gender", [
    Gender::Female => "female", "Female";
    Gender::Male => "male", "Male";
    Gender::Other => "other", "Other";
    Gender::Unknown => "unknown", "Unknown";
]);

vocab!(IncomeBand, "income band", [
    IncomeBand::Low => "low", "Low";
    IncomeBand::Medium => "medium", "Medium";
    IncomeBand::High => "high", "High";
    IncomeBand::VeryHigh => "very_high", "VeryHigh";
]);

vocab!(Season, "season", [
    Season::ValentinesDay => "valentines_day", "ValentinesDay";
    Season::Halloween => "halloween", "Halloween";
    Season::SinglesDay => "singles_day", "SinglesDay";
    Season::BlackFriday => "black_friday", "BlackFriday";
    Season::CyberMonday => "cyber_monday", "CyberMonday";
    Season::Christmas => "christmas", "Christmas";
    Season::WorldCup => "world_cup", "WorldCup";
]);

vocab!(Channel, "channel", [
    Channel::Web => "web", "Web";
    Channel::App => "app", "App";
]);

impl PriceBand {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        self.name()
    }
}

impl BuyingPowerLevel {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        self.name()
    }
}

/// The snake_case name of any vocabulary value (the text form's spelling).
pub(crate) fn name_of<T: Vocab>(v: T) -> &'static str {
    v.name()
}

/// Parses one value; the error says what was expected.
pub(crate) fn parse_value<T: Vocab>(s: &str) -> Result<T, String> {
    T::from_name(s).ok_or_else(|| {
        format!(
            "unknown {} \"{}\", expected {}",
            T::WHAT,
            s,
            T::expected_list()
        )
    })
}

struct OneVisitor<T>(PhantomData<T>);

impl<T: Vocab> Visitor<'_> for OneVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} name ({})", T::WHAT, T::expected_list())
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        parse_value(s).map_err(E::custom)
    }
}

/// A vocabulary value read from a string, so sequence elements keep their index in error paths.
struct Named<T>(T);

impl<'de, T: Vocab> de::Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(OneVisitor(PhantomData)).map(Named)
    }
}

struct VecVisitor<T>(PhantomData<T>);

impl<'de, T: Vocab> Visitor<'de> for VecVisitor<T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of {} names", T::WHAT)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(Named(v)) = seq.next_element::<Named<T>>()? {
            out.push(v);
        }
        Ok(out)
    }
}

fn ser_seq<T: Vocab, S: Serializer>(
    v: &[T],
    s: S,
    name: fn(T) -> &'static str,
) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for x in v {
        seq.serialize_element(name(*x))?;
    }
    seq.end()
}

fn ser_opt<T: Vocab, S: Serializer>(
    v: &Option<T>,
    s: S,
    name: fn(T) -> &'static str,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_str(name(*x)),
        None => s.serialize_none(),
    }
}

struct OptVisitor<T>(PhantomData<T>);

impl<'de, T: Vocab> Visitor<'de> for OptVisitor<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} name ({}) or null", T::WHAT, T::expected_list())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(OneVisitor(PhantomData)).map(Some)
    }
}

/// One value, written snake_case.
pub(crate) mod one {
    use super::*;
    pub fn serialize<T: Vocab, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.name())
    }
    pub fn deserialize<'de, T: Vocab, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        d.deserialize_str(OneVisitor(PhantomData))
    }
}

/// A list, written snake_case.
pub(crate) mod vec {
    use super::*;
    pub fn serialize<T: Vocab, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        ser_seq(v, s, T::name)
    }
    pub fn deserialize<'de, T: Vocab, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(VecVisitor(PhantomData))
    }
}

/// A channel filter: absent, `null` or `"any"` mean any channel; `"web"` / `"app"`.
pub(crate) mod channel_opt {
    use super::*;
    pub fn serialize<S: Serializer>(v: &Option<Channel>, s: S) -> Result<S::Ok, S::Error> {
        ser_opt(v, s, Channel::name)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Channel>, D::Error> {
        d.deserialize_option(ChannelVisitor)
    }
}

/// A channel filter written in Criteo style (`"Web"`, `"App"`); reads the same as `channel_opt`.
pub(crate) mod criteo_channel_opt {
    use super::*;
    pub fn serialize<S: Serializer>(v: &Option<Channel>, s: S) -> Result<S::Ok, S::Error> {
        ser_opt(v, s, Channel::criteo_name)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Channel>, D::Error> {
        d.deserialize_option(ChannelVisitor)
    }
}

struct ChannelVisitor;

impl<'de> Visitor<'de> for ChannelVisitor {
    type Value = Option<Channel>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a channel: \"any\", \"web\" or \"app\"")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(ChannelVisitor)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        if s.eq_ignore_ascii_case("any") {
            return Ok(None);
        }
        Channel::from_name(s)
            .map(Some)
            .ok_or_else(|| E::custom(format!("unknown channel \"{s}\", expected any, web or app")))
    }
}

/// One value, written PascalCase (typed kinds).
pub(crate) mod criteo_one {
    use super::*;
    pub fn serialize<T: Vocab, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.criteo_name())
    }
    pub fn deserialize<'de, T: Vocab, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        d.deserialize_str(OneVisitor(PhantomData))
    }
}

/// A list, written PascalCase (typed kinds).
pub(crate) mod criteo_vec {
    use super::*;
    pub fn serialize<T: Vocab, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        ser_seq(v, s, T::criteo_name)
    }
    pub fn deserialize<'de, T: Vocab, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(VecVisitor(PhantomData))
    }
}

/// An optional value, written PascalCase (typed kinds).
pub(crate) mod criteo_opt {
    use super::*;
    pub fn serialize<T: Vocab, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        ser_opt(v, s, T::criteo_name)
    }
    pub fn deserialize<'de, T: Vocab, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_option(OptVisitor(PhantomData))
    }
}

/// Writes an `f32` as the `f64` of its shortest decimal form, so JSON shows `0.3`, not
/// `0.30000001192092896` (and reads back as the same `f32`).
pub(crate) fn short_f32<S: Serializer>(v: &Option<f32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => match x.to_string().parse::<f64>() {
            Ok(d) => s.serialize_f64(d),
            Err(_) => s.serialize_f32(*x),
        },
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_read() {
        assert_eq!(
            BuyingPowerLevel::from_name("VeryHigh"),
            Some(BuyingPowerLevel::VeryHigh)
        );
        assert_eq!(
            BuyingPowerLevel::from_name("very_high"),
            Some(BuyingPowerLevel::VeryHigh)
        );
        assert_eq!(Gender::from_name("FEMALE"), Some(Gender::Female));
        assert_eq!(Season::from_name("black-friday"), Some(Season::BlackFriday));
        assert_eq!(PriceBand::from_name("huge"), None);
        assert_eq!(
            parse_value::<PriceBand>("huge").unwrap_err(),
            "unknown price band \"huge\", expected low, medium or high"
        );
    }

    #[test]
    fn every_value_round_trips_by_name() {
        fn check<T: Vocab + fmt::Debug>() {
            for v in T::all() {
                assert_eq!(T::from_name(v.name()), Some(*v));
                assert_eq!(T::from_name(v.criteo_name()), Some(*v));
            }
        }
        check::<PriceBand>();
        check::<BuyingPowerLevel>();
        check::<Gender>();
        check::<IncomeBand>();
        check::<Season>();
        check::<Channel>();
    }

    #[test]
    fn every_model_season_is_named() {
        for s in Season::ALL {
            assert_eq!(s.as_str(), name_of(s));
        }
    }
}
