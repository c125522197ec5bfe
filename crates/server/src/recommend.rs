//! `GET /v1/people/{identifier}/recommendations?n=5[&now=RFC3339]`: retargeting products for a
//! person (admin auth, like `/v1/people/{identifier}`).
//!
//! The co-occurrence and popularity model is fitted per advertiser on first use and refitted
//! when the advertiser's event count has grown by 5 % (or 1,000 events) since; the person's
//! own history is read live from the profile, so a view or purchase counts at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use audex_engine::Advertiser;
use audex_recommend::{Options, Recommender, histories, history_of, item_categories};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::native::Q;
use crate::{ApiError, AppState, auth};

/// Most products one request may ask for.
pub const MAX_N: usize = 100;

struct Fitted {
    events: u64,
    products: usize,
    model: Arc<Recommender>,
}

fn cache() -> &'static Mutex<HashMap<String, Fitted>> {
    static CELL: OnceLock<Mutex<HashMap<String, Fitted>>> = OnceLock::new();
    CELL.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The advertiser's fitted recommender, refitted when its data has grown enough.
fn model_of(adv: &Advertiser) -> Result<Arc<Recommender>, ApiError> {
    let state = adv.state()?;
    let catalog = adv.catalog()?;
    let key = adv.record.id.clone();
    {
        let c = cache()
            .lock()
            .map_err(|_| ApiError::internal("recommender cache poisoned"))?;
        if let Some(f) = c.get(&key) {
            let grown = state.events.saturating_sub(f.events);
            if f.products == catalog.len() && grown < 1000.max(f.events / 20) {
                return Ok(f.model.clone());
            }
        }
    }
    let hs: Vec<_> = histories(&state.profiles, &catalog)
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    let model = Arc::new(Recommender::fit(
        &hs,
        item_categories(&catalog),
        Options::default(),
    ));
    let mut c = cache()
        .lock()
        .map_err(|_| ApiError::internal("recommender cache poisoned"))?;
    c.insert(
        key,
        Fitted {
            events: state.events,
            products: catalog.len(),
            model: model.clone(),
        },
    );
    Ok(model)
}

/// The top `n` products for `person` at `now_ms`, as JSON objects (`product_id`, `title`,
/// `brand`, `price`, `currency`, `category`, `score`, `reasons`). For other endpoints too
/// (e.g. the OpenRTB response's `ext`).
pub fn recommendations_json(
    adv: &Advertiser,
    person: u32,
    now_ms: i64,
    n: usize,
) -> Result<Vec<Value>, ApiError> {
    let model = model_of(adv)?;
    let state = adv.state()?;
    let catalog = adv.catalog()?;
    let today = state.profiles.day_of(now_ms);
    let history = history_of(&state.profiles, &catalog, person);
    Ok(model
        .recommend(&history, today, n.min(MAX_N))
        .into_iter()
        .filter_map(|r| {
            let p = catalog.by_index(r.item)?;
            Some(json!({
                "product_id": p.id,
                "title": p.title,
                "brand": p.brand,
                "price": p.price,
                "currency": p.currency,
                "category": p.category,
                "score": (f64::from(r.score) * 1e4).round() / 1e4,
                "reasons": r.reasons,
            }))
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecsQuery {
    n: Option<usize>,
    now: Option<String>,
}

/// `GET /v1/people/{identifier}/recommendations`.
#[utoipa::path(
    get,
    path = "/v1/people/{identifier}/recommendations",
    tag = "people",
    params(("identifier" = String, Path, description = "Any identifier: userId, anonymousId, device id, email, SHA-256 of an email, or kind:value"), ("n" = Option<u32>, Query, description = "How many products, 1 to 100 (default 5)", minimum = 1, maximum = 100), ("now" = Option<String>, Query, description = "Evaluate at this RFC 3339 time instead of now")),
    responses(
        (status = 200, description = "Recommended products, best first", body = crate::openapi::Recommendations),
        (status = 400, description = "Invalid request; `field` names what is wrong", body = crate::openapi::ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such person or audience", body = crate::openapi::ErrorBody),
    ),
    security(("adminBearer" = []), ("adminBasic" = []))
)]
pub async fn person_recommendations(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(identifier): Path<String>,
    Q(q): Q<RecsQuery>,
) -> Result<Response, ApiError> {
    let adv = auth::admin(&state, &headers)?;
    let n = q.n.unwrap_or(5);
    if n == 0 || n > MAX_N {
        return Err(ApiError::bad_request(
            "n",
            format!("must be between 1 and {MAX_N}"),
        ));
    }
    let now = match &q.now {
        None => audex_engine::now_ms(),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_millis())
            .map_err(|_| ApiError::bad_request("now", format!("{s:?} is not an RFC 3339 time")))?,
    };
    let out = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let person = {
            let st = adv.state()?;
            audex_engine::view::find_person(&st.profiles, &identifier)
                .map(|p| st.profiles.identity.find(p))
                .ok_or_else(|| {
                    ApiError::not_found(format!("no person with identifier {identifier:?}"))
                })?
        };
        let recs = recommendations_json(&adv, person, now, n)?;
        Ok(json!({"person": person, "recommendations": recs}))
    })
    .await
    .map_err(|e| ApiError::internal(format!("recommendation task failed: {e}")))??;
    Ok(Json(out).into_response())
}
