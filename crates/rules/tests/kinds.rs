//! Each typed audience kind: its JSON shape and the rule it compiles to.

use audex_rules::*;
use serde_json::json;

fn compiled(kind: serde_json::Value) -> Rule {
    let k: AudienceKind =
        from_json_str(&kind.to_string()).unwrap_or_else(|e| panic!("{kind}: {e}"));
    // The JSON shape survives a round trip.
    assert_eq!(
        serde_json::to_value(&k).ok(),
        Some(kind.clone()),
        "round trip of {kind}"
    );
    k.compile().unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn text(kind: serde_json::Value) -> String {
    compiled(kind).to_text()
}

fn compile_err(kind: serde_json::Value) -> String {
    let k: AudienceKind =
        from_json_str(&kind.to_string()).unwrap_or_else(|e| panic!("{kind}: {e}"));
    k.compile().expect_err("should not compile").to_string()
}

#[test]
fn retargeting_all_buyers_non_buyers() {
    assert_eq!(
        text(
            json!({"retargeting": {"visitorsType": "All", "daysSinceLastVisitMin": 0, "daysSinceLastVisitMax": 30}})
        ),
        "activity within 30d"
    );
    assert_eq!(
        text(
            json!({"retargeting": {"visitorsType": "Buyers", "daysSinceLastVisitMin": 0, "daysSinceLastVisitMax": 14}})
        ),
        "activity within 14d and order_completed within 14d"
    );
    assert_eq!(
        text(
            json!({"retargeting": {"visitorsType": "NonBuyers", "daysSinceLastVisitMin": 7,
                                     "daysSinceLastVisitMax": 30, "channel": "Web"}})
        ),
        "activity within 7..30d on web and no activity within 6d on web and no order_completed within 7..30d"
    );
    assert_eq!(
        compile_err(
            json!({"retargeting": {"visitorsType": "All", "daysSinceLastVisitMin": 30, "daysSinceLastVisitMax": 7}})
        ),
        "/retargeting/daysSinceLastVisitMax: the window ends (7 days ago) before it starts (30 days ago)"
    );
    assert_eq!(
        compile_err(
            json!({"retargeting": {"visitorsType": "All", "daysSinceLastVisitMin": 0, "daysSinceLastVisitMax": 900}})
        ),
        "/retargeting/daysSinceLastVisitMax: 900 days ago is beyond the 540 days of history"
    );
}

#[test]
fn cart_abandoners_product_viewers_buyers() {
    let r = compiled(json!({"cartAbandoners": {"days": 7, "channel": "Web"}}));
    assert_eq!(
        r,
        Rule::from(NoEventAfter {
            event: EventRef::Kind(EventKind::OrderCompleted),
            after: vec![
                EventRef::Kind(EventKind::ProductAdded),
                EventRef::Kind(EventKind::CheckoutStarted)
            ],
            within: Window::last(7),
            channel: Some(Channel::Web),
        })
    );
    assert_eq!(
        r.to_text(),
        "no order_completed after product_added, checkout_started within 7d on web"
    );
    assert_eq!(
        text(json!({"productViewers": {"days": 14, "channel": "App"}})),
        "product_viewed within 14d on app"
    );
    assert_eq!(
        text(json!({"buyers": {"days": 90, "minOrders": 2}})),
        "order_completed >= 2 within 90d"
    );
    assert_eq!(
        text(json!({"buyers": {"days": 90}})),
        "order_completed within 90d"
    );
    assert_eq!(
        compile_err(json!({"cartAbandoners": {"days": 0}})),
        "/cartAbandoners/days: needs at least 1 day"
    );
}

#[test]
fn in_market_like_criteo() {
    // The attribute shape of Criteo's InMarketCreateV1 (country lower case is accepted).
    let k = json!({"inMarket": {"country": "FR", "interestIds": ["536", "1604"], "brandIds": ["Acme"],
                                "buyingPower": ["High", "VeryHigh"], "priceRange": ["Medium"], "gender": "Female"}});
    assert_eq!(
        text(k),
        "country in (FR) and (category 536 within 30d or category 1604 within 30d or brand Acme within 30d) \
         and buying_power in (high, very_high) and price in (medium) and gender in (female)"
    );
    assert_eq!(
        text(json!({"inMarket": {"interestIds": ["536"]}})),
        "category 536 within 30d"
    );
    let lower: AudienceKind =
        from_json_str(r#"{"inMarket": {"country": "fr", "interestIds": ["1"]}}"#).unwrap();
    assert_eq!(
        lower.compile().unwrap().to_text(),
        "country in (FR) and category 1 within 30d"
    );
    assert_eq!(
        compile_err(json!({"inMarket": {"country": "FR", "interestIds": ["shoes"]}})),
        "/inMarket/interestIds/0: \"shoes\" is not a Google Product Taxonomy id (a number)"
    );
    assert_eq!(
        compile_err(json!({"inMarket": {"country": "FRA", "interestIds": ["1"]}})),
        "/inMarket/country: \"FRA\" is not an ISO 3166-1 alpha-2 code in upper case, like \"FR\""
    );
    assert_eq!(
        compile_err(json!({"inMarket": {"country": "FR"}})),
        "/inMarket/interestIds: an in-market audience needs at least one interestId or brandId"
    );
}

#[test]
fn location() {
    assert_eq!(
        text(
            json!({"location": {"pointsOfInterest": [{"name": "Paris", "latitude": 48.85661, "longitude": 2.35222}],
                                 "radiusInKm": 5.0}})
        ),
        "near (48.85661, 2.35222) within 5km"
    );
    assert_eq!(
        compile_err(
            json!({"location": {"pointsOfInterest": [{"latitude": 1.0, "longitude": 2.0}], "radiusInKm": 0.0}})
        ),
        "/location/radiusInKm: radius 0 km must be > 0 and at most 20000"
    );
    assert_eq!(
        compile_err(
            json!({"location": {"pointsOfInterest": [{"latitude": 1.0, "longitude": 2.0},
                                                              {"latitude": 100.0, "longitude": 2.0}], "radiusInKm": 3.0}})
        ),
        "/location/pointsOfInterest/1/latitude: latitude 100 is outside [-90, 90]"
    );
}

#[test]
fn demographic_and_seasonality() {
    assert_eq!(
        text(
            json!({"demographic": {"gender": ["Female"], "ageMin": 25, "ageMax": 44, "income": ["High", "VeryHigh"]}})
        ),
        "gender in (female) and age 25..44 and income in (high, very_high)"
    );
    assert_eq!(text(json!({"demographic": {"ageMin": 18}})), "age 18..");
    assert_eq!(
        compile_err(json!({"demographic": {"ageMin": 50, "ageMax": 20}})),
        "/demographic/ageMax: the maximum age 20 is below the minimum 50"
    );
    assert_eq!(
        compile_err(json!({"demographic": {}})),
        "/demographic: a demographic audience needs a gender, an age bound or an income band"
    );
    assert_eq!(
        text(json!({"seasonality": {"season": "BlackFriday", "year": 2025}})),
        "season black_friday 2025"
    );
    assert_eq!(
        compile_err(json!({"seasonality": {"season": "WorldCup", "year": 2025}})),
        "/seasonality/year: world_cup does not take place in 2025"
    );
}

#[test]
fn events_kind() {
    assert_eq!(
        text(
            json!({"events": {"event": "Wishlist Added", "filters": [{"key": "price", "op": ">", "value": 100}],
                               "count": {"op": ">=", "value": 2}, "days": 60}})
        ),
        r#"event "Wishlist Added" where price > 100 count >= 2 within 60d"#
    );
    assert_eq!(
        text(json!({"events": {"event": "Order Completed", "channel": "App"}})),
        "order_completed on app"
    );
    assert_eq!(
        text(json!({"events": {"event": "purchase"}})),
        "order_completed"
    );
    assert_eq!(
        compile_err(
            json!({"events": {"event": "x", "filters": [{"key": "p", "op": "in", "value": []}]}})
        ),
        "/events/filters/0/value: \"in\" needs at least one value"
    );
    assert_eq!(
        compile_err(json!({"events": {"event": ""}})),
        "/events/event: a custom event name must not be empty"
    );
}

#[test]
fn seen_ads_contact_list_behavioral_contextual() {
    assert_eq!(
        text(
            json!({"seenAds": {"campaignId": "c1", "clicked": false, "minImpressions": 3, "days": 30}})
        ),
        "ads campaign c1 impressions >= 3 not clicked within 30d"
    );
    assert_eq!(
        text(json!({"seenAds": {"notConverted": true}})),
        "ads not converted"
    );
    assert_eq!(
        compile_err(json!({"seenAds": {"minImpressions": 0}})),
        "/seenAds/minImpressions: needs at least 1 impression"
    );
    assert_eq!(
        text(json!({"contactList": {"listId": "vip-2026"}})),
        r#"in_list "vip-2026""#
    );
    assert_eq!(
        compile_err(json!({"contactList": {"listId": " "}})),
        "/contactList/listId: a list id must not be empty"
    );
    assert_eq!(text(json!({"behavioral": {"tag": "foodie"}})), "tag foodie");
    assert_eq!(
        text(
            json!({"contextual": {"pageCategories": ["596", "IAB-483"], "days": 30, "audience": "buyers"}})
        ),
        r#"page_category in ("596", "IAB-483") within 30d and in_audience buyers"#
    );
    assert_eq!(
        compile_err(json!({"contextual": {"pageCategories": []}})),
        "/contextual/pageCategories: needs at least one category"
    );
}

#[test]
fn lookalike_and_prospecting() {
    assert_eq!(
        text(json!({"lookalike": {"seedAudience": "vip", "targetSize": 10000}})),
        r#"model "lookalike:vip" top 10000 and not in_audience vip"#
    );
    assert_eq!(
        text(json!({"lookalike": {"seedAudience": "vip"}})),
        r#"model "lookalike:vip" top 5% and not in_audience vip"#
    );
    assert_eq!(
        compile_err(json!({"lookalike": {"seedAudience": "vip", "targetSize": 0}})),
        "/lookalike/targetSize: top needs at least 1 person"
    );
    assert_eq!(
        text(json!({"prospecting": {"usersType": "Prospects"}})),
        "model prospecting score >= 0.5 and no activity"
    );
    assert_eq!(
        text(
            json!({"prospecting": {"usersType": "ProspectsOrNonBuyers", "daysSinceLastVisitMin": 0,
                                    "daysSinceLastVisitMax": 30}})
        ),
        "model prospecting score >= 0.5 and (no activity or activity within 30d and no order_completed)"
    );
    assert_eq!(
        text(
            json!({"prospecting": {"usersType": "ProspectsOrNonBuyers", "daysSinceLastVisitMin": 3}})
        ),
        "model prospecting score >= 0.5 and (no activity or activity within 3d.. and no activity within 2d and no order_completed)"
    );
}

#[test]
fn rule_and_text_kinds() {
    let r = compiled(
        json!({"rule": {"and": [{"type": "tag", "name": "a"}, {"not": {"type": "tag", "name": "b"}}]}}),
    );
    assert_eq!(r.to_text(), "tag a and not tag b");
    let t: AudienceKind = from_json_str(r#"{"text": "tag a and not tag b"}"#).unwrap();
    assert_eq!(t.compile(), Ok(r));
    let bad: AudienceKind = from_json_str(r#"{"text": "tag a and"}"#).unwrap();
    let e = bad.compile().unwrap_err();
    assert_eq!(e.path, "/text");
    assert!(e.message.starts_with("1:10: expected"), "{e}");
}

#[test]
fn audience_def_json_and_errors() {
    let def = AudienceDef::from_json(
        r#"{"name": "Cart abandoners", "description": "7 days", "kind": {"cartAbandoners": {"days": 7}}}"#,
    )
    .unwrap();
    assert_eq!(def.funnel_stage(), FunnelStage::Conversion);
    assert_eq!(
        def.compile().unwrap().to_text(),
        "no order_completed after product_added, checkout_started within 7d"
    );
    let explicit = AudienceDef {
        funnel_stage: Some(FunnelStage::Awareness),
        ..def.clone()
    };
    assert_eq!(
        serde_json::to_value(&explicit).unwrap(),
        json!({"name": "Cart abandoners", "description": "7 days", "funnelStage": "Awareness",
               "kind": {"cartAbandoners": {"days": 7}}})
    );
    assert_eq!(explicit.funnel_stage(), FunnelStage::Awareness);

    // Shape errors name the field, through nested rules too.
    let e =
        AudienceDef::from_json(r#"{"name": "x", "kind": {"retargeting": {"visitorType": "All"}}}"#)
            .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/kind/retargeting/visitorType: unknown field `visitorType`"),
        "{e}"
    );
    let e =
        AudienceDef::from_json(r#"{"name": "x", "kind": {"rule": {"and": [{"type": "tag"}]}}}"#)
            .unwrap_err();
    assert_eq!(e.to_string(), "/kind/rule/and/0: missing field `name`");
    let e = AudienceDef::from_json(
        r#"{"name": "x", "kind": {"location": {"pointsOfInterest": [{"latitude": "n"}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.path(), "/kind/location/pointsOfInterest/0/latitude");
    // Validation errors too.
    let def = AudienceDef::from_json(
        r#"{"name": "x", "kind": {"rule": {"and": [{"type": "tag", "name": "a"},
            {"type": "geo_radius", "points": [{"lat": 1, "lon": 2}], "radius_km": 0}]}}}"#,
    )
    .unwrap();
    assert_eq!(
        def.compile().unwrap_err().to_string(),
        "/kind/rule/and/1/radius_km: radius 0 km must be > 0 and at most 20000"
    );
    let e = AudienceDef::from_json("{\"name\": \"x\",\n \"kind\": 3").unwrap_err();
    assert!(
        matches!(e, JsonError::Syntax { line: 2, .. } | JsonError::Invalid(_)),
        "{e:?}"
    );
}

#[test]
fn default_funnel_stages() {
    let stage = |j: serde_json::Value| {
        from_json_str::<AudienceKind>(&j.to_string())
            .unwrap()
            .default_funnel_stage()
    };
    assert_eq!(
        stage(json!({"lookalike": {"seedAudience": "v"}})),
        FunnelStage::Awareness
    );
    assert_eq!(
        stage(json!({"productViewers": {"days": 3}})),
        FunnelStage::Consideration
    );
    assert_eq!(
        stage(json!({"buyers": {"days": 3}})),
        FunnelStage::Conversion
    );
}
