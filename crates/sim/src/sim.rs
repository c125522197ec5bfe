//! Behaviour: turns one person into a chronological stream of Segment events.
//!
//! A person's activity is planned as blocks (shop sessions and publisher visits) on days drawn
//! from their seasonal calendar, sorted by time and emitted one after another with a monotonic
//! clock. Shop sessions walk pages, lists, searches and products of the departments the person's
//! lifestyles and life stage favour, fill a cart that may be abandoned, and sometimes check out;
//! publisher visits read IAB-categorised pages and may show one of the shop's ads, whose click
//! starts a shop session.

use rand::RngCore;

use crate::World;
use crate::catalog::{DEPT_COUNT, Dept, SHOP_TITLE, SHOP_URL};
use crate::iab::{CATTAX, TOPIC_DOMAINS, Topic};
use crate::out::{
    TimestampCache, push_cents, push_json_str, push_json_str_body, push_micros, push_u64, push_uuid,
};
use crate::person::{Person, Persona};
use crate::rng::{RngExt, mix64};
use crate::time::Season;
use crate::world::{CAMPAIGNS, CITIES};

/// Kinds of emitted events, for statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Page = 0,
    Screen,
    Identify,
    Alias,
    ProductListViewed,
    ProductsSearched,
    ProductViewed,
    ProductAdded,
    ProductRemoved,
    CartViewed,
    CheckoutStarted,
    OrderCompleted,
    OrderRefunded,
    AdImpression,
    AdClicked,
    PublisherPageViewed,
    NewsletterSubscribed,
    WishlistAdded,
    VideoPlayed,
}

const KINDS: usize = 19;

/// `type` for the first four kinds, the `track` event name for the rest.
const KIND_NAMES: [&str; KINDS] = [
    "page",
    "screen",
    "identify",
    "alias",
    "Product List Viewed",
    "Products Searched",
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
    "Order Refunded",
    "Ad Impression",
    "Ad Clicked",
    "Publisher Page Viewed",
    "Newsletter Subscribed",
    "Wishlist Added",
    "Video Played",
];

/// Event counts per kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    counts: [u64; KINDS],
}

impl Stats {
    pub(crate) fn add(&mut self, other: &Stats) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
    }

    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub(crate) fn counts(&self) -> Vec<(&'static str, u64)> {
        KIND_NAMES.iter().copied().zip(self.counts).collect()
    }
}

/// What the simulation of one person produced, for the ground truth.
pub(crate) struct Outcome {
    pub orders: u32,
    pub identified: bool,
    /// Which devices sent at least one event.
    pub used: [bool; 2],
}

/// Relative session-start weight per local hour.
const HOUR_WEIGHTS: [f64; 24] = [
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.8, 2.0, 2.2, 2.6, 2.4, 2.1, 2.0, 2.1, 2.4, 2.8,
    3.3, 3.6, 3.4, 2.5, 1.2,
];

const HOME_PAGE: &[u8] =
    b"\"path\":\"/\",\"url\":\"https://shop.example.com/\",\"title\":\"Audex Shop\"";
const CART_PAGE: &[u8] =
    b"\"path\":\"/cart\",\"url\":\"https://shop.example.com/cart\",\"title\":\"Your cart | Audex Shop\"";
const CHECKOUT_PAGE: &[u8] =
    b"\"path\":\"/checkout\",\"url\":\"https://shop.example.com/checkout\",\"title\":\"Checkout | Audex Shop\"";
const CONFIRMATION_PAGE: &[u8] = b"\"path\":\"/checkout/complete\",\"url\":\"https://shop.example.com/checkout/complete\",\"title\":\"Thank you | Audex Shop\"";

#[derive(Clone, Copy)]
enum PageKind {
    Home,
    Category(u32),
    Product(u32),
    Search,
    Cart,
    Checkout,
    Confirmation,
}

#[derive(Clone, Copy)]
struct Block {
    ms: i64,
    day: u32,
    publisher: bool,
    device: u8,
    /// A bouncer arriving through an ad.
    ad_bounce: bool,
}

struct Refund {
    ms: i64,
    device: usize,
    order: u32,
    total_cents: u64,
}

struct Gen<'a, R: RngCore> {
    w: &'a World,
    p: &'a Person,
    rng: &'a mut R,
    buf: &'a mut Vec<u8>,
    stats: &'a mut Stats,
    msg_a: u64,
    msg_b: u64,
    seq: u64,
    now: i64,
    end_ms: i64,
    day: u32,
    /// Whether each device sends `userId`.
    dev_user: [bool; 2],
    /// Whether each device sent anything.
    used: [bool; 2],
    signed_up: bool,
    shop_sessions: u32,
    signup_session: Option<u32>,
    cart: Vec<(u32, u32)>,
    recent: Vec<u32>,
    last_list: Vec<u32>,
    orders: u32,
    refunds: Vec<Refund>,
    newsletter: bool,
    /// `context.page` members of the current web page.
    page: Vec<u8>,
    /// Campaign to attribute the next page call to (ad landing).
    landing_campaign: Option<usize>,
    scratch: Vec<u8>,
    ts: TimestampCache,
}

/// Simulates one person, appending their events to `buf`.
pub(crate) fn simulate<R: RngCore>(
    p: &Person,
    w: &World,
    rng: &mut R,
    buf: &mut Vec<u8>,
    stats: &mut Stats,
) -> Outcome {
    let cal = &w.calendar;
    let scale = f64::from(cal.days) / 120.0;
    let deal = p.persona == Persona::DealHunter;
    let (shop_n, pub_n) = match p.persona {
        Persona::Bouncer => (1, 0),
        Persona::Browser => (1 + rng.poisson(1.1 * scale), rng.poisson(1.6 * scale)),
        Persona::OccasionalBuyer => (1 + rng.poisson(1.9 * scale), rng.poisson(1.6 * scale)),
        Persona::DealHunter => (1 + rng.poisson(2.3 * scale), rng.poisson(1.6 * scale)),
        Persona::LoyalBuyer => (2 + rng.poisson(7.0 * scale), rng.poisson(3.0 * scale)),
    };
    let n_dev = p.devices.len();
    let web_devs: Vec<usize> = (0..n_dev).filter(|&d| !p.devices[d].app).collect();
    let app_devs: Vec<usize> = (0..n_dev).filter(|&d| p.devices[d].app).collect();
    let offset = CITIES[p.city].utc_offset_min;
    let mut blocks = Vec::with_capacity((shop_n + pub_n) as usize);
    for k in 0..(shop_n + pub_n) {
        let publisher = k >= shop_n;
        let day = cal.sample_day(p.seasons, deal, rng.unit());
        let local_min = rng.weighted(&HOUR_WEIGHTS) as i32 * 60 + rng.below(60) as i32;
        // Keep every block inside its UTC day, with room for the session to run.
        let mut utc_min = (local_min - offset).rem_euclid(1440);
        if utc_min > 1260 {
            utc_min -= 240;
        }
        let ms = cal.day_start_ms(day) + i64::from(utc_min) * 60_000 + rng.below(60_000) as i64;
        let app = if publisher {
            web_devs.is_empty()
        } else if app_devs.is_empty() {
            false
        } else if web_devs.is_empty() {
            true
        } else {
            rng.below(100) < p.app_share_pct as usize
        };
        let pool = if app { &app_devs } else { &web_devs };
        // The second device of the same kind is the occasional one.
        let device = if pool.len() > 1 && rng.chance(0.3) {
            pool[1]
        } else {
            pool[0]
        } as u8;
        let ad_bounce = p.persona == Persona::Bouncer && rng.chance(0.25);
        blocks.push(Block {
            ms,
            day,
            publisher,
            device,
            ad_bounce,
        });
    }
    blocks.sort_by_key(|b| b.ms);

    let signup_session = if p.signs_up && p.persona != Persona::Bouncer {
        Some(rng.below(shop_n.div_ceil(2) as usize) as u32)
    } else if p.signs_up {
        Some(0)
    } else {
        None
    };
    if n_dev == 2 && blocks.len() >= 2 {
        // Make sure the second device shows up, and, for people who sign up, that it is used
        // after the sign-up (a log-in links it to the account).
        let shop: Vec<usize> = (0..blocks.len())
            .filter(|&i| !blocks[i].publisher)
            .collect();
        match signup_session {
            Some(k) if shop.len() >= 2 => {
                let signup_device = blocks[shop[k as usize]].device;
                let last = shop[shop.len() - 1];
                blocks[last].device = 1 - signup_device;
            }
            _ => {
                if blocks.iter().all(|b| b.device == blocks[0].device) {
                    let last = blocks.len() - 1;
                    blocks[last].device = 1 - blocks[0].device;
                }
            }
        }
    }
    let base = mix64(w.seed ^ mix64(p.index.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    let mut g = Gen {
        w,
        p,
        rng,
        buf,
        stats,
        msg_a: base,
        msg_b: mix64(base ^ 0xa5a5_a5a5_a5a5_a5a5),
        seq: 0,
        now: i64::MIN,
        end_ms: cal.end_ms(),
        day: 0,
        dev_user: [false; 2],
        used: [false; 2],
        signed_up: false,
        shop_sessions: 0,
        signup_session,
        cart: Vec::new(),
        recent: Vec::new(),
        last_list: Vec::new(),
        orders: 0,
        refunds: Vec::new(),
        newsletter: false,
        page: Vec::with_capacity(160),
        landing_campaign: None,
        scratch: Vec::with_capacity(64),
        ts: TimestampCache::default(),
    };
    for b in &blocks {
        g.flush_refunds(b.ms);
        let start = if b.ms > g.now {
            b.ms
        } else {
            g.now + g.rng.between(60_000, 900_000) as i64
        };
        // A person's first block always fits (it starts by 21:01 UTC); later ones pushed past
        // 22:00 on the last day are dropped rather than squeezed.
        if start >= g.end_ms - 7_200_000 {
            continue;
        }
        g.now = start;
        g.day = b.day;
        let dev = b.device as usize;
        if b.publisher {
            g.publisher_visit(dev);
        } else if b.ad_bounce {
            let (campaign, creative, product) = g.choose_campaign();
            g.ad_impression(dev, campaign, creative, product);
            g.tick(2_000, 20_000);
            g.ad_click(dev, campaign, creative, product);
            g.tick(1_000, 4_000);
            g.shop_session(dev, Some((campaign, product)), true);
        } else {
            g.shop_session(dev, None, p.persona == Persona::Bouncer);
        }
    }
    let end = g.end_ms;
    g.flush_refunds(end);
    Outcome {
        orders: g.orders,
        identified: g.signed_up,
        used: g.used,
    }
}

impl<R: RngCore> Gen<'_, R> {
    fn tick(&mut self, lo_ms: u64, hi_ms: u64) {
        self.now += self.rng.between(lo_ms, hi_ms) as i64;
    }

    /// Writes the common head of an event, up to and excluding the member after the ids.
    fn begin(&mut self, kind: Kind, dev: usize) {
        self.stats.counts[kind as usize] += 1;
        self.used[dev] = true;
        if self.now >= self.end_ms {
            self.now = self.end_ms - 1;
        }
        let b = &mut *self.buf;
        b.extend_from_slice(b"{\"type\":\"");
        let name = KIND_NAMES[kind as usize];
        if (kind as usize) < 4 {
            b.extend_from_slice(name.as_bytes());
            b.push(b'"');
        } else {
            b.extend_from_slice(b"track\",\"event\":\"");
            b.extend_from_slice(name.as_bytes());
            b.push(b'"');
        }
        b.extend_from_slice(b",\"messageId\":\"");
        self.seq += 1;
        push_uuid(
            b,
            mix64(self.msg_a ^ self.seq.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            mix64(self.msg_b.wrapping_add(self.seq)),
        );
        b.extend_from_slice(b"\",\"timestamp\":\"");
        self.ts.push(b, self.now);
        b.extend_from_slice(b"\",\"anonymousId\":\"");
        b.extend_from_slice(self.p.devices[dev].anon.as_bytes());
        b.push(b'"');
        if self.dev_user[dev] {
            b.extend_from_slice(b",\"userId\":\"");
            b.extend_from_slice(self.p.user_id.as_bytes());
            b.push(b'"');
        }
    }

    /// Closes an event with its `context`; `with_page` adds the current web page.
    fn end(&mut self, dev: usize, with_page: bool) {
        let d = &self.p.devices[dev];
        let b = &mut *self.buf;
        b.extend_from_slice(b",\"context\":{");
        if !d.app && with_page {
            b.extend_from_slice(b"\"page\":{");
            b.extend_from_slice(&self.page);
            b.extend_from_slice(b"},");
        }
        if with_page && let Some(c) = self.landing_campaign.take() {
            b.extend_from_slice(b"\"campaign\":{\"name\":\"");
            b.extend_from_slice(CAMPAIGNS[c].id.as_bytes());
            b.extend_from_slice(b"\",\"source\":\"audex\",\"medium\":\"display\"},");
        }
        let moved = self.day >= self.p.life_stage_day;
        b.extend_from_slice(match &d.ctx_moved {
            Some(after) if moved => after,
            _ => &d.ctx,
        });
        b.extend_from_slice(b"}}\n");
    }

    /// A `page` (web) or `screen` (app) call.
    fn page(&mut self, dev: usize, kind: PageKind, query: &str) {
        let app = self.p.devices[dev].app;
        let cat = &self.w.catalog;
        if app {
            self.begin(Kind::Screen, dev);
            let b = &mut *self.buf;
            b.extend_from_slice(b",\"name\":\"");
            match kind {
                PageKind::Home => b.extend_from_slice(b"Home\""),
                PageKind::Category(c) => {
                    b.extend_from_slice(b"Category\",\"properties\":{\"category\":");
                    push_json_str(b, &cat.categories[c as usize].google.path);
                    b.push(b'}');
                }
                PageKind::Product(pid) => {
                    b.extend_from_slice(b"Product Detail\",\"properties\":{\"product_id\":\"");
                    b.extend_from_slice(cat.products[pid as usize].id.as_bytes());
                    b.extend_from_slice(b"\"}");
                }
                PageKind::Search => {
                    b.extend_from_slice(b"Search Results\",\"properties\":{\"query\":");
                    push_json_str(b, query);
                    b.push(b'}');
                }
                PageKind::Cart => b.extend_from_slice(b"Cart\""),
                PageKind::Checkout => b.extend_from_slice(b"Checkout\""),
                PageKind::Confirmation => b.extend_from_slice(b"Order Confirmation\""),
            }
            self.end(dev, true);
            return;
        }
        self.page.clear();
        let name: &[u8] = match kind {
            PageKind::Home => {
                self.page.extend_from_slice(HOME_PAGE);
                b"Home"
            }
            PageKind::Category(c) => {
                self.page
                    .extend_from_slice(&cat.categories[c as usize].page);
                b"Category"
            }
            PageKind::Product(pid) => {
                self.page
                    .extend_from_slice(&cat.products[pid as usize].page);
                b"Product"
            }
            PageKind::Search => {
                self.scratch.clear();
                url_encode(&mut self.scratch, query);
                self.page
                    .extend_from_slice(b"\"path\":\"/search\",\"search\":\"?q=");
                self.page.extend_from_slice(&self.scratch);
                self.page.extend_from_slice(b"\",\"url\":\"");
                self.page.extend_from_slice(SHOP_URL.as_bytes());
                self.page.extend_from_slice(b"/search?q=");
                self.page.extend_from_slice(&self.scratch);
                self.page.extend_from_slice(b"\",\"title\":\"Search: ");
                push_json_str_body(&mut self.page, query);
                push_json_str_body(&mut self.page, SHOP_TITLE);
                self.page.push(b'"');
                b"Search Results"
            }
            PageKind::Cart => {
                self.page.extend_from_slice(CART_PAGE);
                b"Cart"
            }
            PageKind::Checkout => {
                self.page.extend_from_slice(CHECKOUT_PAGE);
                b"Checkout"
            }
            PageKind::Confirmation => {
                self.page.extend_from_slice(CONFIRMATION_PAGE);
                b"Order Confirmation"
            }
        };
        if let Some(c) = self.landing_campaign {
            // The ad's landing URL carries its UTM parameters.
            if let Some(pos) = find(&self.page, b"\",\"title\"") {
                let mut utm = Vec::with_capacity(80);
                utm.extend_from_slice(b"?utm_source=audex&utm_medium=display&utm_campaign=");
                utm.extend_from_slice(CAMPAIGNS[c].id.as_bytes());
                self.page.splice(pos..pos, utm);
            }
        }
        self.begin(Kind::Page, dev);
        self.buf.extend_from_slice(b",\"name\":\"");
        self.buf.extend_from_slice(name);
        self.buf.push(b'"');
        self.end(dev, true);
    }

    fn product_event(&mut self, dev: usize, kind: Kind, pid: u32, extra: &[u8]) {
        self.begin(kind, dev);
        let b = &mut *self.buf;
        b.extend_from_slice(b",\"properties\":{");
        b.extend_from_slice(&self.w.catalog.products[pid as usize].props);
        b.extend_from_slice(b",\"currency\":\"USD\"");
        b.extend_from_slice(extra);
        b.push(b'}');
        self.end(dev, true);
    }

    fn push_products(&mut self, items: &[(u32, u32)]) {
        let b = &mut *self.buf;
        b.extend_from_slice(b"\"products\":[");
        for (i, &(pid, qty)) in items.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            b.push(b'{');
            b.extend_from_slice(&self.w.catalog.products[pid as usize].props);
            b.extend_from_slice(b",\"quantity\":");
            push_u64(b, u64::from(qty));
            b.push(b'}');
        }
        b.push(b']');
    }

    // ----- picking things -----

    fn pick_dept(&mut self, weights: &[f64; DEPT_COUNT]) -> Dept {
        Dept::ALL[self.rng.weighted(weights)]
    }

    fn pick_product(&mut self, dept: Dept) -> u32 {
        let mut tier = self.rng.weighted(&self.p.tier_pref);
        let buckets = &self.w.catalog.buckets[dept as usize];
        while buckets[tier].is_empty() {
            tier = (tier + 1) % 3;
        }
        let bucket = &buckets[tier];
        // Popularity skew: low positions in a bucket sell more.
        let u = self.rng.unit();
        bucket[((u * u) * bucket.len() as f64) as usize]
    }

    fn remember(&mut self, pid: u32) {
        self.recent.retain(|&p| p != pid);
        if self.recent.len() >= 6 {
            self.recent.remove(0);
        }
        self.recent.push(pid);
    }

    // ----- session parts -----

    fn view_product(&mut self, dev: usize, pid: u32) {
        self.page(dev, PageKind::Product(pid), "");
        self.tick(80, 900);
        self.product_event(dev, Kind::ProductViewed, pid, b"");
        self.remember(pid);
    }

    fn view_list(&mut self, dev: usize, dept: Dept) {
        let anchor = self.pick_product(dept);
        let cat_idx = self.w.catalog.products[anchor as usize].category;
        let cat = &self.w.catalog.categories[cat_idx as usize];
        self.page(dev, PageKind::Category(cat_idx), "");
        self.tick(80, 900);
        let n = cat.products.len().min(4);
        let start = self.rng.below(cat.products.len() - n + 1);
        self.last_list.clear();
        self.last_list
            .extend_from_slice(&cat.products[start..start + n]);
        if !self.last_list.contains(&anchor) {
            self.last_list.push(anchor);
        }
        self.begin(Kind::ProductListViewed, dev);
        let b = &mut *self.buf;
        b.extend_from_slice(b",\"properties\":{\"list_id\":\"");
        b.extend_from_slice(cat.slug.as_bytes());
        b.extend_from_slice(b"\",\"category\":");
        push_json_str(b, &cat.google.path);
        b.extend_from_slice(b",\"products\":[");
        for (i, &pid) in self.last_list.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"product_id\":\"");
            b.extend_from_slice(self.w.catalog.products[pid as usize].id.as_bytes());
            b.extend_from_slice(b"\",\"position\":");
            push_u64(b, i as u64 + 1);
            b.push(b'}');
        }
        b.extend_from_slice(b"]}");
        self.end(dev, true);
    }

    fn search(&mut self, dev: usize, dept: Dept) {
        let anchor = self.pick_product(dept);
        let prod = &self.w.catalog.products[anchor as usize];
        let cat = &self.w.catalog.categories[prod.category as usize];
        let mut query = cat.google.leaf_name().to_lowercase();
        if self.rng.chance(0.3) {
            query = format!("{} {query}", prod.brand.to_lowercase());
        }
        self.begin(Kind::ProductsSearched, dev);
        self.buf.extend_from_slice(b",\"properties\":{\"query\":");
        push_json_str(self.buf, &query);
        self.buf.push(b'}');
        self.end(dev, true);
        self.tick(300, 1500);
        self.page(dev, PageKind::Search, &query);
        self.last_list.clear();
        let n = cat.products.len().min(6);
        self.last_list.extend_from_slice(&cat.products[..n]);
    }

    fn view_cart(&mut self, dev: usize) {
        self.page(dev, PageKind::Cart, "");
        self.tick(100, 800);
        self.begin(Kind::CartViewed, dev);
        self.buf
            .extend_from_slice(b",\"properties\":{\"cart_id\":\"cart-");
        push_u64(self.buf, self.p.index);
        self.buf.extend_from_slice(b"\",");
        let cart = std::mem::take(&mut self.cart);
        self.push_products(&cart);
        self.cart = cart;
        self.buf.push(b'}');
        self.end(dev, true);
    }

    fn add_to_cart(&mut self, dev: usize, pid: u32) {
        let grocery = self.w.catalog.products[pid as usize].dept == Dept::Grocery;
        let qty = match self.rng.unit() {
            u if u < if grocery { 0.55 } else { 0.86 } => 1,
            u if u < 0.97 => 2,
            _ => 3,
        };
        self.tick(2_000, 40_000);
        self.scratch.clear();
        self.scratch.extend_from_slice(b",\"quantity\":");
        push_u64(&mut self.scratch, qty);
        self.scratch.extend_from_slice(b",\"cart_id\":\"cart-");
        push_u64(&mut self.scratch, self.p.index);
        self.scratch.push(b'"');
        let extra = std::mem::take(&mut self.scratch);
        self.product_event(dev, Kind::ProductAdded, pid, &extra);
        self.scratch = extra;
        match self.cart.iter_mut().find(|(p, _)| *p == pid) {
            Some(item) => item.1 += qty as u32,
            None => self.cart.push((pid, qty as u32)),
        }
    }

    fn remove_from_cart(&mut self, dev: usize) {
        let i = self.rng.below(self.cart.len());
        let (pid, qty) = self.cart.remove(i);
        self.tick(2_000, 30_000);
        self.scratch.clear();
        self.scratch.extend_from_slice(b",\"quantity\":");
        push_u64(&mut self.scratch, u64::from(qty));
        let extra = std::mem::take(&mut self.scratch);
        self.product_event(dev, Kind::ProductRemoved, pid, &extra);
        self.scratch = extra;
    }

    fn newsletter(&mut self, dev: usize, source: &str) {
        if self.newsletter {
            return;
        }
        self.newsletter = true;
        self.tick(1_000, 20_000);
        self.begin(Kind::NewsletterSubscribed, dev);
        self.buf
            .extend_from_slice(b",\"properties\":{\"source\":\"");
        self.buf.extend_from_slice(source.as_bytes());
        self.buf.extend_from_slice(b"\"}");
        self.end(dev, true);
    }

    /// Account creation: optional `alias`, then `identify` with the full traits.
    fn sign_up(&mut self, dev: usize) {
        self.signed_up = true;
        self.dev_user[dev] = true;
        self.tick(5_000, 60_000);
        if self.rng.chance(0.15) {
            self.begin(Kind::Alias, dev);
            self.buf.extend_from_slice(b",\"previousId\":\"");
            self.buf
                .extend_from_slice(self.p.devices[dev].anon.as_bytes());
            self.buf.push(b'"');
            self.end(dev, false);
            self.tick(5, 200);
        }
        self.identify(dev, true);
    }

    /// Log-in on a device that has not sent `userId` yet.
    fn log_in(&mut self, dev: usize) {
        self.dev_user[dev] = true;
        self.tick(3_000, 30_000);
        self.identify(dev, false);
    }

    fn identify(&mut self, dev: usize, full: bool) {
        let p = self.p;
        self.begin(Kind::Identify, dev);
        let b = &mut *self.buf;
        b.extend_from_slice(b",\"traits\":{\"first_name\":");
        push_json_str(b, p.first_name);
        if let Some(email) = &p.email {
            b.extend_from_slice(b",\"email\":\"");
            if self.rng.chance(0.1) {
                // Mixed case, as people type it; normalisation must fold it.
                let mut cap = true;
                for ch in email.bytes() {
                    b.push(if cap { ch.to_ascii_uppercase() } else { ch });
                    cap = ch == b'.' || ch == b'@';
                }
            } else {
                b.extend_from_slice(email.as_bytes());
            }
            b.push(b'"');
        }
        if full {
            if let Some(phone) = &p.phone
                && self.rng.chance(0.7)
            {
                b.extend_from_slice(b",\"phone\":\"");
                b.extend_from_slice(phone.as_bytes());
                b.push(b'"');
            }
            if self.rng.chance(0.85) {
                b.extend_from_slice(b",\"gender\":\"");
                b.extend_from_slice(p.gender.name().as_bytes());
                b.push(b'"');
            }
            match self.rng.below(10) {
                0..=5 => {
                    b.extend_from_slice(b",\"birthday\":\"");
                    crate::out::push_date(b, p.birthday.0, p.birthday.1, p.birthday.2);
                    b.push(b'"');
                }
                6..=8 => {
                    b.extend_from_slice(b",\"age\":");
                    push_u64(b, u64::from(p.age));
                }
                _ => {}
            }
            match self.rng.below(20) {
                0..=8 => {
                    b.extend_from_slice(b",\"income\":");
                    push_u64(b, p.income_yearly);
                }
                9..=14 => {
                    b.extend_from_slice(b",\"income\":\"");
                    b.extend_from_slice(p.income.name().as_bytes());
                    b.push(b'"');
                }
                _ => {}
            }
            let city = match p.moved_to {
                Some((to, _, _)) if self.day >= p.life_stage_day => to,
                _ => p.city,
            };
            let c = &CITIES[city];
            b.extend_from_slice(b",\"address\":{\"city\":");
            push_json_str(b, c.name);
            b.extend_from_slice(b",\"country\":\"");
            b.extend_from_slice(c.country.as_bytes());
            b.extend_from_slice(b"\"}");
        }
        b.push(b'}');
        self.end(dev, true);
    }

    fn checkout(&mut self, dev: usize, intent: f64) {
        if !self.signed_up && self.p.signs_up {
            self.sign_up(dev);
        }
        let order_no = self.orders + 1;
        let cart = std::mem::take(&mut self.cart);
        let subtotal: u64 = cart
            .iter()
            .map(|&(pid, q)| self.w.catalog.products[pid as usize].price_cents * u64::from(q))
            .sum();
        let coupon = if intent >= 1.5 && self.rng.chance(0.6) {
            let win = self.w.calendar.windows(self.day) & self.p.seasons;
            if win & (Season::BlackFriday.bit() | Season::CyberMonday.bit()) != 0 {
                Some("BLACKFRIDAY")
            } else if win & Season::SinglesDay.bit() != 0 {
                Some("SINGLESDAY")
            } else if win & Season::Christmas.bit() != 0 {
                Some("HOLIDAY")
            } else {
                Some("SEASON10")
            }
        } else {
            None
        };
        let discount = match coupon {
            Some("SEASON10") => subtotal / 10,
            Some(_) => subtotal * 15 / 100,
            None => 0,
        };
        let revenue = subtotal - discount;
        let shipping = if revenue >= 5_000 { 0 } else { 499 };
        let tax = revenue * 8 / 100;
        let total = revenue + shipping + tax;

        self.tick(5_000, 60_000);
        self.page(dev, PageKind::Checkout, "");
        self.tick(100, 900);
        self.begin(Kind::CheckoutStarted, dev);
        self.buf
            .extend_from_slice(b",\"properties\":{\"order_id\":\"");
        self.push_order_id(order_no);
        self.buf.extend_from_slice(b"\",\"value\":");
        push_cents(self.buf, subtotal);
        self.buf.extend_from_slice(b",\"revenue\":");
        push_cents(self.buf, revenue);
        self.buf.extend_from_slice(b",\"currency\":\"USD\",");
        self.push_products(&cart);
        self.buf.push(b'}');
        self.end(dev, true);

        if self.rng.chance(0.2) {
            // Abandoned at checkout: the cart stays for a later session.
            self.cart = cart;
            return;
        }
        self.tick(30_000, 300_000);
        self.page(dev, PageKind::Confirmation, "");
        self.tick(100, 600);
        self.begin(Kind::OrderCompleted, dev);
        self.buf
            .extend_from_slice(b",\"properties\":{\"order_id\":\"");
        self.push_order_id(order_no);
        self.buf
            .extend_from_slice(b"\",\"affiliation\":\"Audex Shop\",\"total\":");
        push_cents(self.buf, total);
        self.buf.extend_from_slice(b",\"revenue\":");
        push_cents(self.buf, revenue);
        self.buf.extend_from_slice(b",\"shipping\":");
        push_cents(self.buf, shipping);
        self.buf.extend_from_slice(b",\"tax\":");
        push_cents(self.buf, tax);
        if let Some(code) = coupon {
            self.buf.extend_from_slice(b",\"discount\":");
            push_cents(self.buf, discount);
            self.buf.extend_from_slice(b",\"coupon\":\"");
            self.buf.extend_from_slice(code.as_bytes());
            self.buf.push(b'"');
        }
        self.buf.extend_from_slice(b",\"currency\":\"USD\",");
        self.push_products(&cart);
        self.buf.push(b'}');
        self.end(dev, true);
        self.orders = order_no;
        self.cart = cart;
        self.cart.clear();
        if self.rng.chance(0.04) {
            let ms = self.now + self.rng.between(2 * 86_400_000, 20 * 86_400_000) as i64;
            self.refunds.push(Refund {
                ms,
                device: dev,
                order: order_no,
                total_cents: total,
            });
        }
        if self.rng.chance(0.1) {
            self.newsletter(dev, "checkout");
        }
    }

    fn push_order_id(&mut self, order_no: u32) {
        self.buf.extend_from_slice(b"ORD-");
        push_u64(self.buf, self.p.index);
        self.buf.push(b'-');
        push_u64(self.buf, u64::from(order_no));
    }

    fn flush_refunds(&mut self, before: i64) {
        if self.refunds.is_empty() {
            return;
        }
        self.refunds.sort_by_key(|r| r.ms);
        while let Some(r) = self.refunds.first() {
            if r.ms >= before || r.ms >= self.end_ms {
                break;
            }
            let r = self.refunds.remove(0);
            self.now = self.now.max(r.ms);
            self.begin(Kind::OrderRefunded, r.device);
            self.buf
                .extend_from_slice(b",\"properties\":{\"order_id\":\"");
            self.push_order_id(r.order);
            self.buf.extend_from_slice(b"\",\"total\":");
            push_cents(self.buf, r.total_cents);
            self.buf.extend_from_slice(b",\"currency\":\"USD\"}");
            self.end(r.device, false);
        }
        if before >= self.end_ms {
            self.refunds.clear();
        }
    }

    /// One visit to the shop.
    fn shop_session(&mut self, dev: usize, from_ad: Option<(usize, Option<u32>)>, bounce: bool) {
        let p = self.p;
        let session = self.shop_sessions;
        self.shop_sessions += 1;
        let weights = p.dept_weights(self.w, self.day);
        let focus = self.pick_dept(&weights);
        self.last_list.clear();

        // Landing.
        self.landing_campaign = from_ad.map(|(c, _)| c);
        match from_ad {
            // A bouncer sees the landing page and leaves.
            Some((_, Some(pid))) if bounce => self.page(dev, PageKind::Product(pid), ""),
            Some(_) if bounce => self.page(dev, PageKind::Home, ""),
            Some((_, Some(pid))) => self.view_product(dev, pid),
            Some((c, None)) => match CAMPAIGNS[c].dept {
                Some(d) => self.view_list(dev, d),
                None => self.page(dev, PageKind::Home, ""),
            },
            None => {
                let r = self.rng.unit();
                if bounce || r < 0.35 {
                    if bounce && r < 0.5 {
                        let pid = self.pick_product(focus);
                        self.view_product(dev, pid);
                    } else {
                        self.page(dev, PageKind::Home, "");
                    }
                } else if r < 0.6 {
                    self.view_list(dev, focus);
                } else if r < 0.72 {
                    self.search(dev, focus);
                } else {
                    let pid = if !self.recent.is_empty() && self.rng.chance(0.4) {
                        *self.rng.pick(&self.recent)
                    } else {
                        self.pick_product(focus)
                    };
                    self.view_product(dev, pid);
                }
            }
        }
        self.landing_campaign = None;
        if bounce {
            if from_ad.is_none() && self.rng.chance(0.3) {
                self.tick(3_000, 40_000);
                self.page(dev, PageKind::Home, "");
            }
            return;
        }

        if self.signed_up && !self.dev_user[dev] {
            self.log_in(dev);
        } else if !self.signed_up && self.signup_session == Some(session) {
            self.sign_up(dev);
        }

        let persona = p.persona;
        let intent = self
            .w
            .calendar
            .intent(p.seasons, persona == Persona::DealHunter, self.day);
        let base = match persona {
            Persona::Bouncer => 0.0,
            Persona::Browser => 0.02,
            Persona::OccasionalBuyer => 0.28,
            Persona::DealHunter => 0.12,
            Persona::LoyalBuyer => 0.42,
        };
        let will_buy = self.rng.chance((base * intent).min(0.9));
        let steps = 1 + self.rng.poisson(
            match persona {
                Persona::LoyalBuyer => 3.6,
                _ => 2.4,
            } * if intent > 1.4 { 1.3 } else { 1.0 },
        );
        let add_p = if will_buy { 0.4 } else { 0.06 };
        let mut last_viewed: Option<u32> = None;
        for _ in 0..steps {
            self.tick(4_000, 90_000);
            let r = self.rng.unit();
            let dept = if self.rng.chance(0.75) {
                focus
            } else {
                self.pick_dept(&weights)
            };
            if r < 0.16 {
                self.view_list(dev, dept);
            } else if r < 0.25 {
                self.search(dev, dept);
            } else if r < 0.28 && !self.cart.is_empty() {
                self.view_cart(dev);
            } else {
                let pid = if !self.last_list.is_empty() && self.rng.chance(0.5) {
                    *self.rng.pick(&self.last_list)
                } else if !self.recent.is_empty() && self.rng.chance(0.15) {
                    *self.rng.pick(&self.recent)
                } else {
                    self.pick_product(dept)
                };
                self.view_product(dev, pid);
                last_viewed = Some(pid);
                match self.rng.unit() {
                    u if u < add_p => self.add_to_cart(dev, pid),
                    u if u < add_p + 0.025 => {
                        self.tick(1_000, 15_000);
                        let price = self.w.catalog.products[pid as usize].price_cents;
                        self.begin(Kind::WishlistAdded, dev);
                        let b = &mut *self.buf;
                        b.extend_from_slice(b",\"properties\":{\"product_id\":\"");
                        b.extend_from_slice(self.w.catalog.products[pid as usize].id.as_bytes());
                        b.extend_from_slice(b"\",\"price\":");
                        push_cents(b, price);
                        b.push(b'}');
                        self.end(dev, true);
                    }
                    u if u < add_p + 0.06 => {
                        self.tick(2_000, 20_000);
                        self.begin(Kind::VideoPlayed, dev);
                        let b = &mut *self.buf;
                        b.extend_from_slice(b",\"properties\":{\"video_id\":\"vid_");
                        b.extend_from_slice(self.w.catalog.products[pid as usize].id.as_bytes());
                        b.extend_from_slice(b"\",\"percent\":");
                        push_u64(b, 25 * (1 + self.rng.below(4) as u64));
                        b.push(b'}');
                        self.end(dev, true);
                    }
                    _ => {}
                }
            }
        }
        if self.rng.chance(0.012) {
            let source = if self.rng.chance(0.5) {
                "footer"
            } else {
                "popup"
            };
            self.newsletter(dev, source);
        }

        if will_buy && self.cart.is_empty() {
            let pid = match last_viewed {
                Some(pid) => pid,
                None => {
                    let pid = self.pick_product(focus);
                    self.tick(4_000, 60_000);
                    self.view_product(dev, pid);
                    pid
                }
            };
            self.add_to_cart(dev, pid);
        }
        if self.cart.is_empty() {
            return;
        }
        if will_buy {
            self.tick(3_000, 60_000);
            if self.rng.chance(0.7) {
                self.view_cart(dev);
            }
            if self.cart.len() > 1 && self.rng.chance(0.15) {
                self.remove_from_cart(dev);
            }
            self.checkout(dev, intent);
        } else if self.rng.chance(0.3) {
            // Looks at the cart and leaves it: cart abandonment.
            self.tick(3_000, 60_000);
            self.view_cart(dev);
        }
    }

    /// Chooses `(campaign, creative, product)` for an impression today.
    fn choose_campaign(&mut self) -> (usize, usize, Option<u32>) {
        let p = self.p;
        let weights = p.dept_weights(self.w, self.day);
        let sum: f64 = weights.iter().sum();
        let windows = self.w.calendar.windows(self.day);
        let mut w = [0.0f64; 16];
        for (i, c) in CAMPAIGNS.iter().enumerate() {
            w[i] = if c.retarget {
                if self.recent.is_empty() { 0.0 } else { 3.0 }
            } else if let Some(s) = c.season {
                if windows & s.bit() == 0 {
                    0.0
                } else if p.seasons & s.bit() != 0 {
                    3.0
                } else {
                    0.8
                }
            } else if let Some(d) = c.dept {
                0.3 + 4.0 * weights[d as usize] / sum
            } else {
                0.5
            };
        }
        let c = self.rng.weighted(&w[..CAMPAIGNS.len()]);
        let creative = self.rng.below(self.w.creatives[c].len());
        let product = if CAMPAIGNS[c].retarget {
            Some(*self.rng.pick(&self.recent))
        } else {
            None
        };
        (c, creative, product)
    }

    fn ad_props(&mut self, campaign: usize, creative: usize, product: Option<u32>) {
        let b = &mut *self.buf;
        b.extend_from_slice(b",\"properties\":{\"campaign_id\":\"");
        b.extend_from_slice(CAMPAIGNS[campaign].id.as_bytes());
        b.extend_from_slice(b"\",\"creative_id\":\"");
        b.extend_from_slice(self.w.creatives[campaign][creative].as_bytes());
        b.push(b'"');
        if let Some(pid) = product {
            b.extend_from_slice(b",\"product_id\":\"");
            b.extend_from_slice(self.w.catalog.products[pid as usize].id.as_bytes());
            b.push(b'"');
        }
    }

    fn ad_impression(
        &mut self,
        dev: usize,
        campaign: usize,
        creative: usize,
        product: Option<u32>,
    ) {
        // Per-impression cost: CPM / 1000, with ±30 % auction noise.
        let cost = CAMPAIGNS[campaign].cpm_micros / 1000 * (70 + self.rng.below(61) as u64) / 100;
        self.begin(Kind::AdImpression, dev);
        self.ad_props(campaign, creative, product);
        self.buf.extend_from_slice(b",\"cost\":");
        push_micros(self.buf, cost);
        self.buf.extend_from_slice(b",\"currency\":\"USD\"}");
        self.end(dev, false);
    }

    fn ad_click(&mut self, dev: usize, campaign: usize, creative: usize, product: Option<u32>) {
        self.begin(Kind::AdClicked, dev);
        self.ad_props(campaign, creative, product);
        self.buf.extend_from_slice(b",\"currency\":\"USD\"}");
        self.end(dev, false);
    }

    /// Reading a publisher's site, with the shop's ads on some pages.
    fn publisher_visit(&mut self, dev: usize) {
        let pages = 1 + self.rng.poisson(0.7);
        for k in 0..pages {
            if k > 0 {
                self.tick(20_000, 240_000);
            }
            let topic = if !self.p.topics.is_empty() && self.rng.chance(0.75) {
                *self.rng.pick(&self.p.topics)
            } else {
                Topic::General
            };
            let iab = &self.w.iab;
            let cats = &iab.topics[topic as usize];
            let cat = *self.rng.pick(cats);
            let domain = *self.rng.pick(TOPIC_DOMAINS[topic as usize]);
            let article = 1 + self.rng.below(40_000) as u32;
            let c = &iab.categories[cat as usize];
            self.begin(Kind::PublisherPageViewed, dev);
            let b = &mut *self.buf;
            b.extend_from_slice(b",\"properties\":{\"url\":\"https://");
            b.extend_from_slice(domain.as_bytes());
            b.push(b'/');
            b.extend_from_slice(c.slug.as_bytes());
            b.push(b'/');
            push_u64(b, u64::from(article));
            b.extend_from_slice(b"\",\"domain\":\"");
            b.extend_from_slice(domain.trim_start_matches("www.").as_bytes());
            b.extend_from_slice(b"\",\"title\":");
            push_json_str(b, &iab.title(cat, article));
            b.extend_from_slice(b",\"categories\":[\"");
            b.extend_from_slice(c.id.as_bytes());
            b.push(b'"');
            if !c.parent.is_empty() && self.rng.chance(0.5) {
                b.extend_from_slice(b",\"");
                b.extend_from_slice(c.parent.as_bytes());
                b.push(b'"');
            }
            b.extend_from_slice(b"],\"cattax\":");
            push_u64(b, u64::from(CATTAX));
            b.push(b'}');
            self.end(dev, false);

            if self.rng.chance(0.45) {
                self.tick(300, 2_500);
                let (campaign, creative, product) = self.choose_campaign();
                self.ad_impression(dev, campaign, creative, product);
                let camp = &CAMPAIGNS[campaign];
                let mut ctr = 0.012;
                if camp.retarget {
                    ctr *= 3.0;
                }
                if let Some(d) = camp.dept {
                    let w = self.p.dept_weights(self.w, self.day);
                    if w[d as usize] / w.iter().sum::<f64>() > 0.2 {
                        ctr *= 2.5;
                    }
                }
                if camp.season.is_some_and(|s| self.p.seasons & s.bit() != 0) {
                    ctr *= 1.5;
                }
                if self.rng.chance(ctr) {
                    self.tick(1_000, 15_000);
                    self.ad_click(dev, campaign, creative, product);
                    self.tick(800, 4_000);
                    self.shop_session(dev, Some((campaign, product)), false);
                    return;
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `application/x-www-form-urlencoded` style: unreserved bytes as is, space as `+`.
fn url_encode(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => {
                out.push(b'%');
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
    }
}
