//! Human- and API-facing views of derived state (one place, shared by the CLI and server).

use audex_model::EventKind;
use audex_model::event::{Gender, IncomeBand};
use audex_model::season::{Season, day_to_date};
use audex_model::time::day_of_ms;
use audex_profile::{PersonId, ProfileStore, entry};
use serde_json::{Map, Value, json};

fn gender_name(g: u8) -> Option<&'static str> {
    match g {
        x if x == Gender::Female as u8 => Some("female"),
        x if x == Gender::Male as u8 => Some("male"),
        x if x == Gender::Other as u8 => Some("other"),
        _ => None,
    }
}

fn income_name(i: u8) -> Option<&'static str> {
    match i {
        x if x == IncomeBand::Low as u8 => Some("low"),
        x if x == IncomeBand::Medium as u8 => Some("medium"),
        x if x == IncomeBand::High as u8 => Some("high"),
        x if x == IncomeBand::VeryHigh as u8 => Some("very_high"),
        _ => None,
    }
}

fn iso_ms(ms: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

/// What an identifier a user typed may be: `kind:value` names its kind; otherwise a userId,
/// anonymousId, device id, a SHA-256 of an email or phone, or an email (hashed after
/// normalisation). Lookups try them in this order.
pub fn identifier_candidates(s: &str) -> Vec<audex_model::event::Identifier> {
    use audex_model::event::{IdKind, Identifier};
    use audex_model::normalize::{normalize_email, sha256_hex};
    if let Some((kind, value)) = s.split_once(':')
        && let Some(k) = IdKind::parse(kind)
    {
        return vec![Identifier::new(k, value)];
    }
    let mut out = vec![
        Identifier::new(IdKind::UserId, s),
        Identifier::new(IdKind::AnonymousId, s),
        Identifier::new(IdKind::DeviceId, s.to_ascii_lowercase()),
    ];
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        let h = s.to_ascii_lowercase();
        out.push(Identifier::new(IdKind::EmailSha256, h.clone()));
        out.push(Identifier::new(IdKind::PhoneSha256, h));
    }
    if let Some(e) = normalize_email(s) {
        out.push(Identifier::new(IdKind::EmailSha256, sha256_hex(&e)));
    }
    out
}

/// The person any identifier (see [`identifier_candidates`]) belongs to.
pub fn find_person(store: &ProfileStore, s: &str) -> Option<PersonId> {
    identifier_candidates(s)
        .iter()
        .find_map(|id| store.person(id))
}

/// A person's profile as JSON: identifiers, activity per kind and channel over 7/30/90/540
/// days before `now_ms`, interests, spend, demographics, location, ads, seasons, traits.
pub fn profile_json(store: &ProfileStore, person: PersonId, now_ms: i64) -> Option<Value> {
    let person = store.identity.find(person);
    let p = store.profiles.get(person as usize)?;
    let today = day_of_ms(now_ms).unwrap_or(0);
    let ids: Vec<Value> = store
        .identity
        .ids_of(person)
        .iter()
        .map(|i| json!({"type": i.kind.as_str(), "value": i.value}))
        .collect();

    let mut activity = Map::new();
    let mut categories: Vec<(u32, u32)> = Vec::new();
    let mut brands: Vec<(u32, u32)> = Vec::new();
    let mut products: Vec<(u32, &'static str, u32)> = Vec::new();
    for &raw in &p.entries {
        let e = entry::Entry::unpack(raw);
        if e.day > today {
            continue;
        }
        let age = today - e.day;
        let name = if e.kind() == EventKind::Custom && e.name >= entry::CUSTOM_NAME_BASE {
            store
                .event_names
                .name(e.name - entry::CUSTOM_NAME_BASE)
                .unwrap_or("custom")
                .to_string()
        } else {
            e.kind().as_str().to_string()
        };
        if !e.line {
            let slot = activity
                .entry(name)
                .or_insert_with(|| json!({"web": [0, 0, 0, 0], "app": [0, 0, 0, 0]}));
            for (i, window) in [7u32, 30, 90, 540].iter().enumerate() {
                if age < *window {
                    let c = &mut slot[e.channel.as_str()][i];
                    *c = json!(c.as_u64().unwrap_or(0) + u64::from(e.count));
                }
            }
        }
        let set = store.propsets.get(e.propset);
        if let Some(c) = set.category {
            match categories.iter_mut().find(|x| x.0 == c) {
                Some(x) => x.1 += e.count,
                None => categories.push((c, e.count)),
            }
        }
        if let Some(b) = set.brand {
            match brands.iter_mut().find(|x| x.0 == b) {
                Some(x) => x.1 += e.count,
                None => brands.push((b, e.count)),
            }
        }
        if let Some(pid) = set.product {
            products.push((pid, e.kind().as_str(), e.day));
        }
    }
    categories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    brands.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    products.sort_by_key(|p| std::cmp::Reverse(p.2));
    let value_name = |id: u32| store.propsets.values.name(id).unwrap_or("").to_string();
    let seasons: Vec<Value> = p
        .seasons
        .iter()
        .filter_map(|m| {
            let season = Season::ALL.get((m & 0xF) as usize)?;
            Some(json!({"season": season.as_str(), "year": 1970 + i32::from(m >> 4)}))
        })
        .collect();
    let traits: Map<String, Value> = p
        .traits
        .iter()
        .map(|(k, v)| {
            let value = match *v {
                audex_profile::Scalar::Str(id) => Value::String(value_name(id)),
                audex_profile::Scalar::Num(n) => json!(n),
                audex_profile::Scalar::Bool(b) => Value::Bool(b),
            };
            (
                store.propsets.keys.name(*k).unwrap_or("").to_string(),
                value,
            )
        })
        .collect();
    Some(json!({
        "person": person,
        "identifiers": ids,
        "first_seen": iso_ms(p.first_seen_ms),
        "last_seen": iso_ms(p.last_seen_ms),
        "events": p.events,
        "activity_7_30_90_540_days": activity,
        "orders": p.orders,
        "spend": (p.spend * 100.0).round() / 100.0,
        "top_categories": categories.iter().take(5).map(|(c, n)| json!({"id": c, "count": n})).collect::<Vec<_>>(),
        "top_brands": brands.iter().take(5).map(|(b, n)| json!({"brand": value_name(*b), "count": n})).collect::<Vec<_>>(),
        "recent_products": products.iter().take(10).map(|(pid, k, d)| json!({"product_id": value_name(*pid), "event": k, "date": day_to_date(*d).map(|x| x.to_string())})).collect::<Vec<_>>(),
        "demographics": {
            "gender": gender_name(p.demo.gender),
            "age": p.demo.age_on(today),
            "income": income_name(p.demo.income),
        },
        "location": p.location.map(|l| json!({
            "lat": (f64::from(l.lat) * 1e5).round() / 1e5,
            "lon": (f64::from(l.lon) * 1e5).round() / 1e5,
            "at": iso_ms(l.ms),
            "source": if l.from_ip { "ip" } else { "device" }})),
        "country": p.country.and_then(|(c, _)| std::str::from_utf8(&c).ok().map(str::to_owned)),
        "ads": p.ads.iter().map(|a| json!({
            "campaign_id": value_name(a.campaign), "impressions": a.impressions, "clicks": a.clicks,
            "cost": (a.cost * 10000.0).round() / 10000.0,
            "last_impression": iso_ms(a.last_impression_ms), "last_click": iso_ms(a.last_click_ms)})).collect::<Vec<_>>(),
        "seasons": seasons,
        "traits": traits,
    }))
}
