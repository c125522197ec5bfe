//! Campaign reporting per audience: what each ad campaign cost and brought among an audience's
//! members — CPM, click-through, cost per qualified visit, cost per order, return on ad spend.
//!
//! Read from the members' profiles over their retained history (540 days):
//! * impressions, clicks and cost are the campaign's totals per person (`Ad Impression` and
//!   `Ad Clicked` events with `campaign_id` and `cost`);
//! * a **qualified visit** is a member's day with a click on the campaign and, the same day, a
//!   product seen, listed, searched for or carted — a visit that looked at the shop, not a
//!   bounce;
//! * an **order** (a day's `Order Completed` events and that day's net revenue) is credited to
//!   the campaign that touched the member last within [`ATTRIBUTION_DAYS`] before it, a click
//!   outranking an impression the same day (last touch, post-view included), so the campaigns'
//!   orders add up to the total without counting an order twice.

use audex_model::EventKind;
use audex_profile::{Entry, Profile, ProfileStore};
use roaring::RoaringBitmap;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// How long after an impression or click an order is credited to the campaign.
pub const ATTRIBUTION_DAYS: u32 = 30;

/// One campaign's results among an audience's members (or all campaigns', in the total).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CampaignResult {
    /// `campaign_id` as sent (`(total)` for the sum row).
    pub campaign_id: String,
    /// Members with at least one impression or click.
    pub reached: u64,
    pub impressions: u64,
    pub clicks: u64,
    /// Sum of `cost` over impressions and clicks.
    pub cost: f64,
    pub qualified_visits: u64,
    /// Orders credited to the campaign, and their net revenue.
    pub orders: u64,
    pub revenue: f64,
    /// Cost per thousand impressions.
    pub cpm: Option<f64>,
    /// Clicks per impression.
    pub ctr: Option<f64>,
    pub cost_per_click: Option<f64>,
    pub cost_per_qualified_visit: Option<f64>,
    pub cost_per_order: Option<f64>,
    /// Revenue per unit of cost.
    pub roas: Option<f64>,
}

impl CampaignResult {
    fn finish(&mut self) {
        let ratio = |a: f64, b: u64| (b > 0).then(|| a / b as f64);
        self.cpm = ratio(self.cost * 1000.0, self.impressions);
        self.ctr = ratio(self.clicks as f64, self.impressions);
        self.cost_per_click = ratio(self.cost, self.clicks);
        self.cost_per_qualified_visit = ratio(self.cost, self.qualified_visits);
        self.cost_per_order = ratio(self.cost, self.orders);
        self.roas = (self.cost > 0.0).then(|| self.revenue / self.cost);
    }

    fn add(&mut self, o: &CampaignResult) {
        self.reached += o.reached;
        self.impressions += o.impressions;
        self.clicks += o.clicks;
        self.cost += o.cost;
        self.qualified_visits += o.qualified_visits;
        self.orders += o.orders;
        self.revenue += o.revenue;
    }
}

/// The report of one audience.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignReport {
    /// Members evaluated.
    pub members: u64,
    /// Per campaign, most cost first.
    pub campaigns: Vec<CampaignResult>,
    /// Every campaign together (`reached` is members reached by any: one reached by two
    /// campaigns counts once).
    pub total: CampaignResult,
}

fn is_visit_kind(k: EventKind) -> bool {
    matches!(
        k,
        EventKind::ProductViewed
            | EventKind::ProductListViewed
            | EventKind::ProductsSearched
            | EventKind::ProductAdded
            | EventKind::CartViewed
            | EventKind::CheckoutStarted
    )
}

/// Per-campaign figures of one person, keyed by the campaign's value id.
#[derive(Default)]
struct PersonAcc {
    /// Day of each touch: (day, campaign, clicked).
    touches: Vec<(u32, u32, bool)>,
    /// Days with a click, per campaign.
    click_days: Vec<(u32, u32)>,
    visit_days: Vec<u32>,
    /// (day, orders).
    orders: Vec<(u32, u32)>,
}

fn person_acc(store: &ProfileStore, p: &Profile) -> PersonAcc {
    let mut acc = PersonAcc::default();
    for &v in &p.entries {
        let e = Entry::unpack(v);
        if e.line {
            continue;
        }
        match e.kind() {
            k @ (EventKind::AdImpression | EventKind::AdClicked) => {
                if let Some(c) = store.propsets.get(e.propset).campaign {
                    let click = k == EventKind::AdClicked;
                    acc.touches.push((e.day, c, click));
                    if click {
                        acc.click_days.push((e.day, c));
                    }
                }
            }
            EventKind::OrderCompleted => acc.orders.push((e.day, e.count)),
            k if is_visit_kind(k) => acc.visit_days.push(e.day),
            _ => {}
        }
    }
    acc.touches.sort_unstable();
    acc.click_days.sort_unstable();
    acc.click_days.dedup();
    acc.visit_days.sort_unstable();
    acc.visit_days.dedup();
    acc
}

/// The campaign report of `members` in `store`.
pub fn campaign_report(store: &ProfileStore, members: &RoaringBitmap) -> CampaignReport {
    let mut by_campaign: FxHashMap<u32, CampaignResult> = FxHashMap::default();
    let mut reached_any = 0u64;
    for person in members {
        let Some(p) = store.profiles.get(person as usize) else {
            continue;
        };
        if p.ads.is_empty() {
            continue;
        }
        reached_any += 1;
        for ad in &p.ads {
            let r = by_campaign.entry(ad.campaign).or_default();
            r.reached += 1;
            r.impressions += u64::from(ad.impressions);
            r.clicks += u64::from(ad.clicks);
            r.cost += ad.cost;
        }
        let acc = person_acc(store, p);
        for &(day, c) in &acc.click_days {
            if acc.visit_days.binary_search(&day).is_ok() {
                by_campaign.entry(c).or_default().qualified_visits += 1;
            }
        }
        for &(day, n) in &acc.orders {
            // Last touch within the window: touches are sorted by (day, campaign, clicked), so
            // the last one on or before `day` is the latest, a click after an impression.
            let upto = acc.touches.partition_point(|t| t.0 <= day);
            let Some(&(touch_day, c, _)) = upto.checked_sub(1).map(|i| &acc.touches[i]) else {
                continue;
            };
            // Among the touches of that same day, prefer a click.
            let same_day = &acc.touches[..upto];
            let c = same_day
                .iter()
                .rev()
                .take_while(|t| t.0 == touch_day)
                .find(|t| t.2)
                .map_or(c, |t| t.1);
            if day - touch_day > ATTRIBUTION_DAYS {
                continue;
            }
            let revenue: f64 = p
                .revenue
                .iter()
                .filter(|(d, _)| *d == day)
                .map(|(_, a)| a)
                .sum();
            let r = by_campaign.entry(c).or_default();
            r.orders += u64::from(n);
            r.revenue += revenue;
        }
    }
    let values = &store.propsets.values;
    let mut campaigns: Vec<CampaignResult> = by_campaign
        .into_iter()
        .map(|(c, mut r)| {
            r.campaign_id = values.name(c).unwrap_or_default().to_owned();
            r.finish();
            r
        })
        .collect();
    campaigns.sort_by(|a, b| {
        b.cost
            .total_cmp(&a.cost)
            .then_with(|| a.campaign_id.cmp(&b.campaign_id))
    });
    let mut total = CampaignResult {
        campaign_id: "(total)".into(),
        ..CampaignResult::default()
    };
    for c in &campaigns {
        total.add(c);
    }
    total.reached = reached_any;
    total.finish();
    CampaignReport {
        members: members.len(),
        campaigns,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audex_model::event::parse_event_json;
    use audex_profile::Reference;
    use serde_json::json;

    fn store(events: &[serde_json::Value]) -> ProfileStore {
        let mut store = ProfileStore::default();
        for (i, e) in events.iter().enumerate() {
            let mut e = e.clone();
            e["messageId"] = json!(format!("m{i}"));
            let event = parse_event_json(e.to_string().as_bytes(), 1_796_000_000_000)
                .unwrap_or_else(|err| panic!("{err:?}: {e}"));
            store
                .apply(&event, Reference::default())
                .unwrap_or_else(|err| panic!("{err:?}"));
        }
        store
    }

    /// Noon UTC `day` days after 2026-09-01.
    fn at(day: u32) -> String {
        let base = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default();
        format!(
            "{}T12:00:00Z",
            base + chrono::Duration::days(i64::from(day))
        )
    }

    fn ad(user: &str, day: u32, kind: &str, campaign: &str, cost: f64) -> serde_json::Value {
        json!({"type": "track", "event": kind, "userId": user, "timestamp": at(day),
               "properties": {"campaign_id": campaign, "creative_id": "c1", "cost": cost}})
    }

    fn ev(user: &str, day: u32, kind: &str, props: serde_json::Value) -> serde_json::Value {
        json!({"type": "track", "event": kind, "userId": user, "timestamp": at(day), "properties": props})
    }

    #[test]
    fn costs_visits_and_last_touch_orders_per_campaign() {
        let s = store(&[
            // ann: sees spring, clicks it and browses the next day, orders three days later.
            ad("ann", 1, "Ad Impression", "spring", 0.002),
            ad("ann", 2, "Ad Clicked", "spring", 0.5),
            ev("ann", 2, "Product Viewed", json!({"product_id": "p1"})),
            ev(
                "ann",
                5,
                "Order Completed",
                json!({"order_id": "o1", "revenue": 100}),
            ),
            // ... then sees retarget, and orders 25 days after it: still within 30 days...
            ad("ann", 6, "Ad Impression", "retarget", 0.003),
            ev(
                "ann",
                31,
                "Order Completed",
                json!({"order_id": "o2", "revenue": 40}),
            ),
            // bob: an impression of retarget and a click on spring the same day, then orders:
            // the click wins. His click brought no browsing: no qualified visit.
            ad("bob", 3, "Ad Impression", "retarget", 0.003),
            ad("bob", 3, "Ad Clicked", "spring", 0.4),
            ev(
                "bob",
                3,
                "Order Completed",
                json!({"order_id": "o3", "revenue": 50}),
            ),
            // cid is not a member: nothing of hers counts.
            ad("cid", 1, "Ad Clicked", "spring", 9.0),
        ]);
        let id = |u: &str| {
            s.identity
                .resolve(&audex_model::event::Identifier::new(
                    audex_model::event::IdKind::UserId,
                    u.to_string(),
                ))
                .unwrap_or(u32::MAX)
        };
        let members: RoaringBitmap = [id("ann"), id("bob")].into_iter().collect();
        let r = campaign_report(&s, &members);
        assert_eq!((r.members, r.total.reached), (2, 2));
        let spring = &r.campaigns[0];
        assert_eq!(spring.campaign_id, "spring", "most cost first");
        assert_eq!(
            (spring.reached, spring.impressions, spring.clicks),
            (2, 1, 2)
        );
        assert!((spring.cost - 0.902).abs() < 1e-9);
        assert_eq!(spring.qualified_visits, 1);
        assert_eq!((spring.orders, spring.revenue), (2, 150.0));
        assert!(spring.cpm.is_some_and(|c| (c - 902.0).abs() < 1e-6));
        assert!(
            spring
                .cost_per_order
                .is_some_and(|c| (c - 0.451).abs() < 1e-9)
        );
        let retarget = &r.campaigns[1];
        assert_eq!(
            (retarget.reached, retarget.impressions, retarget.clicks),
            (2, 2, 0)
        );
        assert_eq!((retarget.orders, retarget.revenue), (1, 40.0));
        assert_eq!(retarget.cost_per_click, None);
        assert_eq!(retarget.qualified_visits, 0);
        assert_eq!(r.total.orders, 3, "each order once");
        assert!((r.total.revenue - 190.0).abs() < 1e-9);
        assert!(
            r.total
                .roas
                .is_some_and(|x| (x - 190.0 / 0.908).abs() < 1e-9)
        );
    }

    #[test]
    fn orders_long_after_the_last_touch_are_nobody_s() {
        let s = store(&[
            ad("dan", 1, "Ad Impression", "spring", 0.002),
            ev(
                "dan",
                1 + ATTRIBUTION_DAYS + 1,
                "Order Completed",
                json!({"order_id": "o", "revenue": 10}),
            ),
        ]);
        let members: RoaringBitmap = [0u32].into_iter().collect();
        let r = campaign_report(&s, &members);
        assert_eq!(r.total.orders, 0);
        assert_eq!(r.total.cost_per_order, None);
    }
}
