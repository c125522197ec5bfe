//! Event kinds and channels: the small closed vocabularies every later stage indexes by.

use serde::{Deserialize, Serialize};

/// What an event is, for aggregation. Built-in kinds follow the Segment E-commerce Spec v2;
/// anything else is [`EventKind::Custom`] and keeps its name (interned per advertiser downstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum EventKind {
    /// A `page` or `screen` call on the advertiser's own site or app: a visit.
    Visit = 0,
    ProductViewed = 1,
    ProductListViewed = 2,
    ProductsSearched = 3,
    ProductAdded = 4,
    ProductRemoved = 5,
    CartViewed = 6,
    CheckoutStarted = 7,
    OrderCompleted = 8,
    OrderRefunded = 9,
    AdImpression = 10,
    AdClicked = 11,
    /// A page of a publisher's site (bid request or publisher log), carrying IAB content categories.
    PublisherPageViewed = 12,
    Identify = 13,
    Alias = 14,
    /// Any other `track` event; its name is kept beside the kind.
    Custom = 15,
}

impl EventKind {
    /// Every kind, in discriminant order.
    pub const ALL: [EventKind; 16] = [
        EventKind::Visit,
        EventKind::ProductViewed,
        EventKind::ProductListViewed,
        EventKind::ProductsSearched,
        EventKind::ProductAdded,
        EventKind::ProductRemoved,
        EventKind::CartViewed,
        EventKind::CheckoutStarted,
        EventKind::OrderCompleted,
        EventKind::OrderRefunded,
        EventKind::AdImpression,
        EventKind::AdClicked,
        EventKind::PublisherPageViewed,
        EventKind::Identify,
        EventKind::Alias,
        EventKind::Custom,
    ];

    /// The kind a `track` event name maps to (Segment E-commerce Spec v2 names, case-sensitive
    /// as the spec writes them; a few common snake_case spellings are accepted too).
    pub fn from_track_name(name: &str) -> EventKind {
        match name {
            "Product Viewed" | "product_viewed" => EventKind::ProductViewed,
            "Product List Viewed" | "product_list_viewed" => EventKind::ProductListViewed,
            "Products Searched" | "products_searched" => EventKind::ProductsSearched,
            "Product Added" | "product_added" => EventKind::ProductAdded,
            "Product Removed" | "product_removed" => EventKind::ProductRemoved,
            "Cart Viewed" | "cart_viewed" => EventKind::CartViewed,
            "Checkout Started" | "checkout_started" => EventKind::CheckoutStarted,
            "Order Completed" | "order_completed" => EventKind::OrderCompleted,
            "Order Refunded" | "order_refunded" => EventKind::OrderRefunded,
            "Ad Impression" | "ad_impression" => EventKind::AdImpression,
            "Ad Clicked" | "ad_clicked" => EventKind::AdClicked,
            "Publisher Page Viewed" | "publisher_page_viewed" => EventKind::PublisherPageViewed,
            _ => EventKind::Custom,
        }
    }

    /// Stable snake_case name, used by the rule language and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Visit => "visit",
            EventKind::ProductViewed => "product_viewed",
            EventKind::ProductListViewed => "product_list_viewed",
            EventKind::ProductsSearched => "products_searched",
            EventKind::ProductAdded => "product_added",
            EventKind::ProductRemoved => "product_removed",
            EventKind::CartViewed => "cart_viewed",
            EventKind::CheckoutStarted => "checkout_started",
            EventKind::OrderCompleted => "order_completed",
            EventKind::OrderRefunded => "order_refunded",
            EventKind::AdImpression => "ad_impression",
            EventKind::AdClicked => "ad_clicked",
            EventKind::PublisherPageViewed => "publisher_page_viewed",
            EventKind::Identify => "identify",
            EventKind::Alias => "alias",
            EventKind::Custom => "custom",
        }
    }

    /// Inverse of [`EventKind::as_str`].
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Discriminant as an index into per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Where an event happened: the advertiser's website or app (DESIGN.md: `app` when the call is
/// `screen` or `context.app` is present, else `web`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Channel {
    Web = 0,
    App = 1,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(EventKind::ALL[k.index()], k);
        }
    }

    #[test]
    fn track_names_map_to_commerce_kinds() {
        assert_eq!(
            EventKind::from_track_name("Order Completed"),
            EventKind::OrderCompleted
        );
        assert_eq!(
            EventKind::from_track_name("order completed"),
            EventKind::Custom
        );
        assert_eq!(EventKind::from_track_name("Signed Up"), EventKind::Custom);
    }
}
