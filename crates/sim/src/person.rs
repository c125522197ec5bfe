//! Simulated people: their hidden ground truth and their devices.

use rand::RngCore;

use crate::World;
use crate::catalog::{DEPT_COUNT, Dept};
use crate::iab::Topic;
use crate::out::{push_date, push_fixed, push_json_str, push_u64, push_uuid, push_uuid_raw};
use crate::rng::{RngExt, mix64};
use crate::time::Season;
use crate::world::{
    ANDROID_MODELS, ANDROID_VERSIONS, APP_VERSIONS, CITIES, EMAIL_DOMAINS, IOS_MODELS,
    IOS_VERSIONS, NAMES, NamePool, USER_AGENTS,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gender {
    Female,
    Male,
    Other,
}

impl Gender {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum IncomeBand {
    Low = 0,
    Medium,
    High,
    VeryHigh,
}

impl IncomeBand {
    pub(crate) fn name(self) -> &'static str {
        ["low", "medium", "high", "very_high"][self as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LifeStage {
    None,
    NewParent,
    RecentlyMoved,
    Student,
}

impl LifeStage {
    pub(crate) fn name(self) -> &'static str {
        match self {
            LifeStage::None => "none",
            LifeStage::NewParent => "new_parent",
            LifeStage::RecentlyMoved => "recently_moved",
            LifeStage::Student => "student",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persona {
    Bouncer,
    Browser,
    OccasionalBuyer,
    LoyalBuyer,
    DealHunter,
}

impl Persona {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Persona::Bouncer => "bouncer",
            Persona::Browser => "browser",
            Persona::OccasionalBuyer => "occasional_buyer",
            Persona::LoyalBuyer => "loyal_buyer",
            Persona::DealHunter => "deal_hunter",
        }
    }
}

/// Lifestyle tags (ground truth `lifestyles[]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifestyle {
    Foodie = 0,
    PetOwner,
    LuxuryBuyer,
    Sports,
    Tech,
    Beauty,
    Home,
    Fashion,
}

impl Lifestyle {
    pub(crate) const ALL: [Lifestyle; 8] = [
        Lifestyle::Foodie,
        Lifestyle::PetOwner,
        Lifestyle::LuxuryBuyer,
        Lifestyle::Sports,
        Lifestyle::Tech,
        Lifestyle::Beauty,
        Lifestyle::Home,
        Lifestyle::Fashion,
    ];

    pub(crate) fn name(self) -> &'static str {
        [
            "foodie",
            "pet_owner",
            "luxury_buyer",
            "sports",
            "tech",
            "beauty",
            "home",
            "fashion",
        ][self as usize]
    }

    /// Department weights this lifestyle adds.
    fn departments(self) -> &'static [(Dept, f64)] {
        match self {
            Lifestyle::Foodie => &[(Dept::Grocery, 5.0), (Dept::Kitchen, 3.0)],
            Lifestyle::PetOwner => &[(Dept::Pets, 6.0)],
            Lifestyle::LuxuryBuyer => &[
                (Dept::Luxury, 5.0),
                (Dept::Apparel, 1.5),
                (Dept::Beauty, 1.0),
            ],
            Lifestyle::Sports => &[(Dept::Sports, 6.0), (Dept::Apparel, 1.0)],
            Lifestyle::Tech => &[(Dept::Electronics, 6.0), (Dept::Toys, 0.5)],
            Lifestyle::Beauty => &[(Dept::Beauty, 6.0)],
            Lifestyle::Home => &[
                (Dept::Home, 4.0),
                (Dept::Kitchen, 2.0),
                (Dept::Furniture, 1.5),
            ],
            Lifestyle::Fashion => &[
                (Dept::Apparel, 5.0),
                (Dept::Luxury, 0.8),
                (Dept::Beauty, 0.8),
            ],
        }
    }

    fn topic(self) -> Topic {
        match self {
            Lifestyle::Foodie => Topic::Foodie,
            Lifestyle::PetOwner => Topic::PetOwner,
            Lifestyle::LuxuryBuyer => Topic::Luxury,
            Lifestyle::Sports => Topic::Sports,
            Lifestyle::Tech => Topic::Tech,
            Lifestyle::Beauty => Topic::Beauty,
            Lifestyle::Home => Topic::Home,
            Lifestyle::Fashion => Topic::Fashion,
        }
    }
}

/// One device (browser or app install) of a person.
pub(crate) struct Device {
    pub app: bool,
    /// The `anonymousId`, a UUID string.
    pub anon: String,
    /// Static `context` members (no braces, no trailing comma).
    pub ctx: Vec<u8>,
    /// Where in `ctx` the members that depend on the home begin (the app's `location`, the
    /// browser's `ip`), so a mover's device can report the new home.
    home_at: usize,
    /// `ctx` after the person moved (movers only).
    pub ctx_moved: Option<Vec<u8>>,
}

/// A simulated person: hidden truth plus derived behaviour parameters.
pub(crate) struct Person {
    pub index: u64,
    pub gender: Gender,
    pub age: u32,
    pub birthday: (i32, u32, u32),
    pub income: IncomeBand,
    pub income_yearly: u64,
    pub lifestyles: Vec<Lifestyle>,
    pub life_stage: LifeStage,
    /// Day index (from the first simulated day) of the move, birth or semester start.
    pub life_stage_day: u32,
    pub city: usize,
    /// Home location in millionths of a degree (before the move, for movers).
    pub lat_e6: i64,
    pub lon_e6: i64,
    /// Movers: the city and home they move to on `life_stage_day`.
    pub moved_to: Option<(usize, i64, i64)>,
    /// Share of shop sessions on the app, in percent.
    pub app_share_pct: u32,
    pub seasons: u8,
    pub persona: Persona,
    /// Will sign up (given at least one shop session).
    pub signs_up: bool,
    pub first_name: &'static str,
    /// Contact e-mail and phone: only for the CRM subset.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub user_id: String,
    pub devices: Vec<Device>,
    /// Department weights from lifestyles (life stage and season are added per session).
    pub dept_base: [f64; DEPT_COUNT],
    /// Price tier preference (low, medium, high).
    pub tier_pref: [f64; 3],
    /// Publisher topics this person reads about.
    pub topics: Vec<Topic>,
}

/// `,"location":{…}` of an app's context: home, to about 100 m.
fn push_app_location<R: RngCore>(ctx: &mut Vec<u8>, lat_e6: i64, lon_e6: i64, rng: &mut R) {
    let jitter = |rng: &mut R| rng.below(2001) as i64 - 1000;
    ctx.extend_from_slice(b",\"location\":{\"latitude\":");
    push_fixed(ctx, (lat_e6 + jitter(rng)) / 100, 4);
    ctx.extend_from_slice(b",\"longitude\":");
    push_fixed(ctx, (lon_e6 + jitter(rng)) / 100, 4);
    ctx.push(b'}');
}

/// `,"ip":"…"` of a browser's context: a home line in the city's address block.
fn push_web_ip<R: RngCore>(ctx: &mut Vec<u8>, city: usize, rng: &mut R) {
    let ip_b = ((city * 37 + 11) % 250 + 2) as u64;
    ctx.extend_from_slice(b",\"ip\":\"");
    push_u64(ctx, u64::from(CITIES[city].ip_a));
    ctx.push(b'.');
    push_u64(ctx, ip_b);
    ctx.push(b'.');
    push_u64(ctx, rng.below(256) as u64);
    ctx.push(b'.');
    push_u64(ctx, 1 + rng.below(254) as u64);
    ctx.push(b'"');
}

fn weighted_pick<R: RngCore>(rng: &mut R, w: &[f64]) -> usize {
    rng.weighted(w)
}

/// `n` distinct digits-only national number: a bijection of `index` into
/// `[2·10^(n-1), 10^n)`, unique for fewer than `8·10^(n-1)` people.
fn national_number(index: u64, salt: u64, digits: u32) -> u64 {
    let low = 2 * 10u64.pow(digits - 1);
    let space = 10u64.pow(digits) - low;
    // 7_654_321 is coprime with every 2^a·5^b, so this is a bijection modulo `space`.
    let x = (u128::from(index) * 7_654_321 + u128::from(salt)) % u128::from(space);
    low + x as u64
}

impl Person {
    /// Draws person `index` from its own RNG.
    pub(crate) fn generate<R: RngCore>(index: u64, world: &World, rng: &mut R) -> Person {
        let stage = match rng.unit() {
            u if u < 0.08 => LifeStage::NewParent,
            u if u < 0.18 => LifeStage::RecentlyMoved,
            u if u < 0.24 => LifeStage::Student,
            _ => LifeStage::None,
        };
        let days = world.calendar.days;
        let life_stage_day = match stage {
            LifeStage::None => 0,
            _ => (days / 5 + rng.below((days * 3 / 5).max(1) as usize) as u32).min(days - 1),
        };
        let gender = match rng.unit() {
            u if u < 0.51 => Gender::Female,
            u if u < 0.98 => Gender::Male,
            _ => Gender::Other,
        };
        let age = match stage {
            LifeStage::Student => rng.between(18, 26) as u32,
            LifeStage::NewParent => rng.between(24, 42) as u32,
            _ => (36.0 + 12.0 * rng.normal()).round().clamp(18.0, 79.0) as u32,
        };
        let income_w: [f64; 4] = if stage == LifeStage::Student {
            [0.8, 0.18, 0.02, 0.0]
        } else if age < 25 {
            [0.5, 0.4, 0.08, 0.02]
        } else if (35..=60).contains(&age) {
            [0.18, 0.42, 0.28, 0.12]
        } else {
            [0.25, 0.45, 0.22, 0.08]
        };
        let income = [
            IncomeBand::Low,
            IncomeBand::Medium,
            IncomeBand::High,
            IncomeBand::VeryHigh,
        ][weighted_pick(rng, &income_w)];
        let (lo, hi) = [(12, 30), (30, 70), (70, 150), (150, 400)][income as usize];
        let income_yearly = rng.between(lo, hi - 1) * 1000;

        // Lifestyles: 1–3 distinct tags.
        let n_tags = match rng.unit() {
            u if u < 0.5 => 1,
            u if u < 0.85 => 2,
            _ => 3,
        };
        let female = gender == Gender::Female;
        let rich = income >= IncomeBand::High;
        let mut tag_w = [
            0.30,
            0.25,
            if rich { 0.30 } else { 0.03 },
            if age < 35 { 0.35 } else { 0.22 },
            if gender == Gender::Male { 0.38 } else { 0.22 },
            if female { 0.40 } else { 0.08 },
            if age > 35 { 0.32 } else { 0.18 },
            if female { 0.38 } else { 0.18 },
        ];
        let mut lifestyles = Vec::with_capacity(n_tags);
        for _ in 0..n_tags {
            let t = weighted_pick(rng, &tag_w);
            tag_w[t] = 0.0;
            lifestyles.push(Lifestyle::ALL[t]);
        }
        lifestyles.sort_by_key(|l| *l as u8);

        let persona = [
            Persona::Bouncer,
            Persona::Browser,
            Persona::OccasionalBuyer,
            Persona::LoyalBuyer,
            Persona::DealHunter,
        ][weighted_pick(rng, &[0.30, 0.30, 0.25, 0.07, 0.08])];

        let city = weighted_pick(rng, &world.city_weights);
        let c = &CITIES[city];
        // Home location: up to ~10 km from the city centre.
        let lat_e6 = ((c.lat + 0.09 * (rng.unit() - 0.5)) * 1e6).round() as i64;
        let lon_e6 = ((c.lon + 0.12 * (rng.unit() - 0.5)) * 1e6).round() as i64;

        let deal = persona == Persona::DealHunter;
        let pool = c.pool;
        let mut seasons = 0u8;
        let season_p = [
            0.40 + if deal { 0.45 } else { 0.0 },
            0.25 + if deal { 0.40 } else { 0.0 }
                + if lifestyles.contains(&Lifestyle::Tech) {
                    0.15
                } else {
                    0.0
                },
            0.10 + if pool == NamePool::EastAsia {
                0.45
            } else {
                0.0
            } + if deal { 0.2 } else { 0.0 },
            0.20 + if pool == NamePool::Anglo { 0.2 } else { 0.0 },
            if matches!(pool, NamePool::EastAsia | NamePool::SouthAsia) {
                0.25
            } else {
                0.60
            },
        ];
        for (s, p) in Season::ALL.iter().zip(season_p) {
            if rng.chance(p) {
                seasons |= s.bit();
            }
        }

        let signs_up = rng.chance(match persona {
            Persona::Bouncer => 0.02,
            Persona::Browser => 0.25,
            Persona::OccasionalBuyer => 0.70,
            Persona::DealHunter => 0.65,
            Persona::LoyalBuyer => 0.95,
        });
        let crm = rng.chance(if signs_up { 0.8 } else { 0.15 });

        let names = &NAMES[pool as usize];
        let first = match gender {
            Gender::Female => *rng.pick(names.female),
            Gender::Male => *rng.pick(names.male),
            Gender::Other => {
                let list = if rng.chance(0.5) {
                    names.female
                } else {
                    names.male
                };
                *rng.pick(list)
            }
        };
        let last = *rng.pick(names.last);
        let salt = mix64(world.seed ^ 0x5eed_e1a1);
        let (email, phone) = if crm {
            let domain = rng.pick(EMAIL_DOMAINS);
            let local = match rng.below(4) {
                0 => format!("{}.{}{}", first.1, last.1, index),
                1 => format!("{}{}{}", first.1, last.1, index),
                2 => format!("{}_{}{}", first.1, last.1, index),
                _ => format!("{}{}{}", &first.1[..1], last.1, index),
            };
            let digits = u32::from(c.mobile_digits);
            let number = national_number(index, salt, digits);
            (
                Some(format!("{local}@{domain}")),
                Some(format!(
                    "+{}{}{:0width$}",
                    c.cc,
                    c.mobile_prefix,
                    number,
                    width = digits as usize
                )),
            )
        } else {
            (None, None)
        };
        let user_id = format!("usr_{:016x}", mix64(index ^ salt.rotate_left(17)));

        // Devices and web/app mix.
        let (web, app, app_share_pct) = match rng.unit() {
            u if u < 0.45 => (1 + u32::from(rng.chance(0.1)), 0, 0),
            u if u < 0.70 => (0, 1 + u32::from(rng.chance(0.1)), 100),
            _ => (1, 1, rng.between(20, 80) as u32),
        };
        let mut devices = Vec::with_capacity((web + app) as usize);
        for k in 0..(web + app) {
            let home_at;
            let is_app = k >= web;
            let mut anon = Vec::with_capacity(36);
            push_uuid(
                &mut anon,
                mix64((index.wrapping_mul(4) + u64::from(k)) ^ salt),
                rng.next_u64(),
            );
            let anon = String::from_utf8(anon).unwrap_or_default();
            let mut ctx = Vec::with_capacity(320);
            if is_app {
                let ios = rng.chance(if pool == NamePool::Anglo { 0.6 } else { 0.4 });
                let (ver, build) = *rng.pick(APP_VERSIONS);
                ctx.extend_from_slice(b"\"app\":{\"name\":\"Audex Shop\",\"version\":\"");
                ctx.extend_from_slice(ver.as_bytes());
                ctx.extend_from_slice(b"\",\"build\":\"");
                ctx.extend_from_slice(build.as_bytes());
                ctx.extend_from_slice(
                    b"\",\"namespace\":\"com.example.audexshop\"},\"device\":{\"type\":\"",
                );
                let tracking = rng.chance(0.85);
                if ios {
                    ctx.extend_from_slice(b"ios\",\"manufacturer\":\"Apple\",\"model\":\"");
                    ctx.extend_from_slice(rng.pick(IOS_MODELS).as_bytes());
                } else {
                    let (make, model) = *rng.pick(ANDROID_MODELS);
                    ctx.extend_from_slice(b"android\",\"manufacturer\":\"");
                    ctx.extend_from_slice(make.as_bytes());
                    ctx.extend_from_slice(b"\",\"model\":\"");
                    ctx.extend_from_slice(model.as_bytes());
                }
                ctx.push(b'"');
                if tracking {
                    ctx.extend_from_slice(b",\"advertisingId\":\"");
                    push_uuid_raw(&mut ctx, rng.next_u64(), rng.next_u64(), ios);
                    ctx.extend_from_slice(b"\",\"adTrackingEnabled\":true}");
                } else {
                    ctx.extend_from_slice(b",\"adTrackingEnabled\":false}");
                }
                if ios {
                    ctx.extend_from_slice(b",\"os\":{\"name\":\"iOS\",\"version\":\"");
                    ctx.extend_from_slice(rng.pick(IOS_VERSIONS).as_bytes());
                    ctx.extend_from_slice(
                        b"\"},\"library\":{\"name\":\"analytics-ios\",\"version\":\"4.1.8\"}",
                    );
                } else {
                    ctx.extend_from_slice(b",\"os\":{\"name\":\"Android\",\"version\":\"");
                    ctx.extend_from_slice(rng.pick(ANDROID_VERSIONS).as_bytes());
                    ctx.extend_from_slice(
                        b"\"},\"library\":{\"name\":\"analytics-android\",\"version\":\"4.11.3\"}",
                    );
                }
                ctx.extend_from_slice(b",\"locale\":\"");
                ctx.extend_from_slice(c.locale.as_bytes());
                ctx.push(b'"');
                home_at = ctx.len();
                push_app_location(&mut ctx, lat_e6, lon_e6, rng);
            } else {
                if rng.chance(0.8) {
                    ctx.extend_from_slice(
                        b"\"library\":{\"name\":\"analytics.js\",\"version\":\"npm:next-1.70.0\"},",
                    );
                } else {
                    ctx.extend_from_slice(b"\"library\":{\"name\":\"RudderLabs JavaScript SDK\",\"version\":\"3.11.1\"},");
                }
                ctx.extend_from_slice(b"\"userAgent\":\"");
                ctx.extend_from_slice(rng.pick(USER_AGENTS).as_bytes());
                ctx.extend_from_slice(b"\",\"locale\":\"");
                ctx.extend_from_slice(c.locale.as_bytes());
                ctx.push(b'"');
                home_at = ctx.len();
                push_web_ip(&mut ctx, city, rng);
            }
            devices.push(Device {
                app: is_app,
                anon,
                ctx,
                home_at,
                ctx_moved: None,
            });
        }

        // Birthday consistent with `age` on the last simulated day.
        let end = world.end_date;
        let r = rng.below(365) as i64;
        let birthday = {
            use chrono::Datelike;
            let y = end.year() - age as i32 - 1;
            let start = chrono::NaiveDate::from_ymd_opt(y, end.month(), end.day())
                .or_else(|| chrono::NaiveDate::from_ymd_opt(y, end.month(), 28))
                .unwrap_or(end);
            let d = start + chrono::Duration::days(1 + r);
            (d.year(), d.month(), d.day())
        };

        // Movers move on `life_stage_day`: most within their city (3–15 km away), the rest to
        // another city. Their phones report the new home from then on and their browsers come
        // from a new line (another address block when the city changes).
        let moved_to = (stage == LifeStage::RecentlyMoved).then(|| {
            if rng.chance(0.7) {
                let km = 3.0 + 12.0 * rng.unit();
                let angle = std::f64::consts::TAU * rng.unit();
                let dlat = km / 111.0 * angle.sin();
                let dlon = km / (111.0 * (c.lat.to_radians().cos()).max(0.2)) * angle.cos();
                (
                    city,
                    lat_e6 + (dlat * 1e6).round() as i64,
                    lon_e6 + (dlon * 1e6).round() as i64,
                )
            } else {
                let mut w = world.city_weights.clone();
                w[city] = 0.0;
                let to = weighted_pick(rng, &w);
                let t = &CITIES[to];
                (
                    to,
                    ((t.lat + 0.09 * (rng.unit() - 0.5)) * 1e6).round() as i64,
                    ((t.lon + 0.12 * (rng.unit() - 0.5)) * 1e6).round() as i64,
                )
            }
        });
        if let Some((to, lat, lon)) = moved_to {
            for d in &mut devices {
                let mut moved = d.ctx[..d.home_at].to_vec();
                if d.app {
                    push_app_location(&mut moved, lat, lon, rng);
                } else {
                    push_web_ip(&mut moved, to, rng);
                }
                d.ctx_moved = Some(moved);
            }
        }

        let mut dept_base = [0.25; DEPT_COUNT];
        for l in &lifestyles {
            for &(d, w) in l.departments() {
                dept_base[d as usize] += w;
            }
        }
        let mut tier_pref = match income {
            IncomeBand::Low => [0.65, 0.30, 0.05],
            IncomeBand::Medium => [0.40, 0.45, 0.15],
            IncomeBand::High => [0.25, 0.45, 0.30],
            IncomeBand::VeryHigh => [0.15, 0.40, 0.45],
        };
        if lifestyles.contains(&Lifestyle::LuxuryBuyer) {
            tier_pref[2] += 0.8;
        }
        if stage == LifeStage::Student {
            tier_pref[0] += 0.6;
        }
        if deal {
            tier_pref[0] += 0.3;
        }
        let sum: f64 = tier_pref.iter().sum();
        for t in &mut tier_pref {
            *t /= sum;
        }
        let mut topics: Vec<Topic> = lifestyles.iter().map(|l| l.topic()).collect();
        match stage {
            LifeStage::NewParent => topics.push(Topic::NewParent),
            LifeStage::RecentlyMoved => topics.push(Topic::RecentlyMoved),
            LifeStage::Student => topics.push(Topic::Student),
            LifeStage::None => {}
        }

        Person {
            index,
            gender,
            age,
            birthday,
            income,
            income_yearly,
            lifestyles,
            life_stage: stage,
            life_stage_day,
            city,
            lat_e6,
            lon_e6,
            moved_to,
            app_share_pct,
            seasons,
            persona,
            signs_up,
            first_name: first.0,
            email,
            phone,
            user_id,
            devices,
            dept_base,
            tier_pref,
            topics,
        }
    }

    /// Department weights on `day` (life stage and Christmas shift them).
    pub(crate) fn dept_weights(&self, world: &World, day: u32) -> [f64; DEPT_COUNT] {
        let mut w = self.dept_base;
        let after = day >= self.life_stage_day;
        match self.life_stage {
            LifeStage::NewParent => {
                // Some preparation before the birth, a lot after.
                w[Dept::Baby as usize] += if after { 14.0 } else { 3.0 };
                if after {
                    w[Dept::Toys as usize] += 1.5;
                }
            }
            LifeStage::RecentlyMoved => {
                if after {
                    w[Dept::Furniture as usize] += 10.0;
                    w[Dept::Home as usize] += 5.0;
                    w[Dept::Kitchen as usize] += 2.0;
                } else {
                    w[Dept::Furniture as usize] += 0.5;
                }
            }
            LifeStage::Student => {
                w[Dept::OfficeBooks as usize] += if after { 8.0 } else { 3.0 };
                w[Dept::Electronics as usize] += 1.0;
            }
            LifeStage::None => {}
        }
        if self.seasons & Season::Christmas.bit() != 0 && world.calendar.is_christmas_ramp(day) {
            w[Dept::Toys as usize] += 3.0;
        }
        w
    }

    /// Appends this person's ground-truth line (JSON + newline). `orders`, `identified` and
    /// `used` (devices that sent events; only those are listed) are the outcome of the
    /// simulation.
    pub(crate) fn write_truth(
        &self,
        world: &World,
        orders: u32,
        identified: bool,
        used: [bool; 2],
        out: &mut Vec<u8>,
    ) {
        // Where the person lives at the end of the period (movers: after the move).
        let (city, lat_e6, lon_e6) = self
            .moved_to
            .unwrap_or((self.city, self.lat_e6, self.lon_e6));
        let c = &CITIES[city];
        out.extend_from_slice(b"{\"person\":");
        push_u64(out, self.index);
        out.extend_from_slice(b",\"user_id\":");
        if identified {
            push_json_str(out, &self.user_id);
        } else {
            out.extend_from_slice(b"null");
        }
        out.extend_from_slice(b",\"anonymous_ids\":[");
        let mut first = true;
        for (d, _) in self.devices.iter().zip(used).filter(|(_, u)| *u) {
            if !first {
                out.push(b',');
            }
            first = false;
            push_json_str(out, &d.anon);
        }
        out.extend_from_slice(b"],\"email\":");
        opt_str(out, self.email.as_deref());
        out.extend_from_slice(b",\"phone\":");
        opt_str(out, self.phone.as_deref());
        out.extend_from_slice(b",\"lifestyles\":[");
        for (i, l) in self.lifestyles.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_str(out, l.name());
        }
        out.extend_from_slice(b"],\"life_stage\":");
        push_json_str(out, self.life_stage.name());
        out.extend_from_slice(b",\"life_stage_day\":");
        if self.life_stage == LifeStage::None {
            out.extend_from_slice(b"null,\"life_stage_date\":null");
        } else {
            push_u64(out, u64::from(self.life_stage_day));
            out.extend_from_slice(b",\"life_stage_date\":\"");
            let (y, m, d) = world.calendar.date(i64::from(self.life_stage_day));
            push_date(out, y, m, d);
            out.push(b'"');
        }
        out.extend_from_slice(b",\"gender\":");
        push_json_str(out, self.gender.name());
        out.extend_from_slice(b",\"age\":");
        push_u64(out, u64::from(self.age));
        out.extend_from_slice(b",\"birthday\":\"");
        push_date(out, self.birthday.0, self.birthday.1, self.birthday.2);
        out.extend_from_slice(b"\",\"income_band\":");
        push_json_str(out, self.income.name());
        out.extend_from_slice(b",\"income\":");
        push_u64(out, self.income_yearly);
        out.extend_from_slice(b",\"city\":");
        push_json_str(out, c.name);
        out.extend_from_slice(b",\"country\":\"");
        out.extend_from_slice(c.country.as_bytes());
        out.extend_from_slice(b"\",\"lat\":");
        push_fixed(out, lat_e6 / 100, 4);
        out.extend_from_slice(b",\"lon\":");
        push_fixed(out, lon_e6 / 100, 4);
        out.extend_from_slice(b",\"moved_from\":");
        if self.moved_to.is_some() {
            out.extend_from_slice(b"{\"city\":");
            push_json_str(out, CITIES[self.city].name);
            out.extend_from_slice(b",\"lat\":");
            push_fixed(out, self.lat_e6 / 100, 4);
            out.extend_from_slice(b",\"lon\":");
            push_fixed(out, self.lon_e6 / 100, 4);
            out.push(b'}');
        } else {
            out.extend_from_slice(b"null");
        }
        out.extend_from_slice(b",\"app_share\":");
        push_fixed(out, i64::from(self.app_share_pct), 2);
        out.extend_from_slice(b",\"seasons\":[");
        first = true;
        for s in Season::ALL {
            if self.seasons & s.bit() != 0 {
                if !first {
                    out.push(b',');
                }
                first = false;
                push_json_str(out, s.name());
            }
        }
        out.extend_from_slice(b"],\"persona\":");
        push_json_str(out, self.persona.name());
        out.extend_from_slice(b",\"buyer\":");
        out.extend_from_slice(if orders > 0 { b"true" } else { b"false" });
        out.extend_from_slice(b",\"orders\":");
        push_u64(out, u64::from(orders));
        out.extend_from_slice(b"}\n");
    }
}

fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_are_unique_and_sized() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000u64 {
            let n = national_number(i, 12345, 7);
            assert!((2_000_000..10_000_000).contains(&n));
            assert!(seen.insert(n));
        }
    }
}
