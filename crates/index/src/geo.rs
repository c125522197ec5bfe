//! Geo cells: people bucketed by the H3 cell of their last known location, so a radius
//! predicate refines only the people in cells that can reach its circles.

use audex_rules::GeoPoint;
use h3o::{CellIndex, LatLng, Resolution};

/// Resolution of the person cells (average edge 22.6 km, about 1,770 km² a cell).
pub const CELL_RESOLUTION: Resolution = Resolution::Four;

/// Largest grid distance a cover expands to; beyond it the caller takes every located person.
pub const MAX_RING: u32 = 64;

/// The cell of a location, or `None` for coordinates H3 refuses (non-finite).
pub fn cell_of(lat: f64, lon: f64) -> Option<u64> {
    LatLng::new(lat, lon)
        .ok()
        .map(|ll| u64::from(ll.to_cell(CELL_RESOLUTION)))
}

/// Every cell that may hold a point within `radius_km` of `center`, or `None` when the circle
/// is too large to be worth covering. The grid distance is over-estimated on purpose: step
/// half an average edge per ring (neighbouring centres are about 1.7 edges apart, and edges
/// vary by less than 2× over the globe), plus one ring for the cell the point sits in.
pub fn cover(center: &GeoPoint, radius_km: f64) -> Option<Vec<u64>> {
    if !(radius_km.is_finite() && radius_km >= 0.0) {
        return None;
    }
    let step = CELL_RESOLUTION.edge_length_km() / 2.0;
    let k = (radius_km / step).ceil() + 2.0;
    if k > f64::from(MAX_RING) {
        return None;
    }
    let origin: CellIndex = LatLng::new(center.lat, center.lon)
        .ok()?
        .to_cell(CELL_RESOLUTION);
    Some(origin.grid_disk_safe(k as u32).map(u64::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use audex_rules::EARTH_RADIUS_KM;
    use proptest::prelude::*;

    /// The point `dist_km` from `p` on initial bearing `bearing` (radians).
    fn destination(p: &GeoPoint, bearing: f64, dist_km: f64) -> GeoPoint {
        let (lat1, lon1) = (p.lat.to_radians(), p.lon.to_radians());
        let d = dist_km / EARTH_RADIUS_KM;
        let lat2 = (lat1.sin() * d.cos() + lat1.cos() * d.sin() * bearing.cos()).asin();
        let lon2 =
            lon1 + (bearing.sin() * d.sin() * lat1.cos()).atan2(d.cos() - lat1.sin() * lat2.sin());
        let lon2 = (lon2 + 3.0 * std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI)
            - std::f64::consts::PI;
        GeoPoint {
            lat: lat2.to_degrees(),
            lon: lon2.to_degrees(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Every point within the radius lies in a covered cell (poles and the antimeridian
        /// included), so refining the cover's people loses no member.
        #[test]
        fn cover_holds_every_point_in_the_circle(
            lat in -90.0f64..=90.0, lon in -180.0f64..=180.0,
            radius in 0.0f64..600.0, bearing in 0.0f64..std::f64::consts::TAU, frac in 0.0f64..=1.0,
        ) {
            let c = GeoPoint { lat, lon };
            let p = destination(&c, bearing, radius * frac);
            prop_assume!(c.distance_km(&p) <= radius);
            if let Some(cells) = cover(&c, radius) {
                let cell = cell_of(p.lat, p.lon).expect("finite");
                prop_assert!(cells.contains(&cell), "{p:?} at {} km not covered", c.distance_km(&p));
            }
        }
    }

    #[test]
    fn huge_circles_are_not_covered() {
        let c = GeoPoint {
            lat: 48.85,
            lon: 2.35,
        };
        assert!(cover(&c, 50.0).is_some_and(|v| v.len() > 7));
        assert!(cover(&c, 5000.0).is_none());
        assert!(cover(&c, f64::NAN).is_none());
    }
}
