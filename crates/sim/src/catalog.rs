//! The shop's product catalog: departments over Google Product Taxonomy leaves, brands per price
//! tier, log-normal prices, and the Merchant Center style `catalog.tsv`.

use std::path::Path;

use rand::RngCore;

use crate::SimError;
use crate::iab::slugify;
use crate::out::{push_cents, push_json_str, push_json_str_body, push_padded};
use crate::rng::RngExt;
use crate::taxonomy::GoogleCategory;

/// Base URL of the simulated shop.
pub(crate) const SHOP_URL: &str = "https://shop.example.com";
/// Suffix of page titles on the shop.
pub(crate) const SHOP_TITLE: &str = " | Audex Shop";

/// A shop department: a group of taxonomy subtrees that one lifestyle or life stage favours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dept {
    Grocery = 0,
    Kitchen,
    Pets,
    Apparel,
    Luxury,
    Beauty,
    Electronics,
    Sports,
    Home,
    Furniture,
    Baby,
    OfficeBooks,
    Toys,
}

pub(crate) const DEPT_COUNT: usize = 13;

impl Dept {
    pub(crate) const ALL: [Dept; DEPT_COUNT] = [
        Dept::Grocery,
        Dept::Kitchen,
        Dept::Pets,
        Dept::Apparel,
        Dept::Luxury,
        Dept::Beauty,
        Dept::Electronics,
        Dept::Sports,
        Dept::Home,
        Dept::Furniture,
        Dept::Baby,
        Dept::OfficeBooks,
        Dept::Toys,
    ];

    pub(crate) fn spec(self) -> &'static DeptSpec {
        &DEPTS[self as usize]
    }
}

/// Static description of a department.
pub(crate) struct DeptSpec {
    /// Display name, used in `product_type`.
    pub name: &'static str,
    /// Short code used in SKUs.
    pub code: &'static str,
    /// Taxonomy subtrees (path prefixes); a product picks a subtree, then a leaf under it.
    pub prefixes: &'static [&'static str],
    /// Subtrees left out.
    pub exclude: &'static [&'static str],
    /// Price range in whole currency units per tier (low, medium, high).
    pub tiers: [(f64, f64); 3],
    /// Brands per tier.
    pub brands: [&'static [&'static str]; 3],
    /// Share of the catalog.
    pub share: f64,
}

const DEPTS: [DeptSpec; DEPT_COUNT] = [
    DeptSpec {
        name: "Grocery",
        code: "GRO",
        prefixes: &[
            "Food, Beverages & Tobacco > Food Items",
            "Food, Beverages & Tobacco > Beverages",
        ],
        exclude: &["Food, Beverages & Tobacco > Beverages > Alcoholic Beverages"],
        tiers: [(1.0, 5.0), (5.0, 15.0), (15.0, 60.0)],
        brands: [
            &["Harvest Lane", "Daily Basket", "Value Pantry"],
            &["Golden Spoon", "Casa Verde", "Mountain Bee"],
            &["Maison Truffe", "Nordic Larder"],
        ],
        share: 0.10,
    },
    DeptSpec {
        name: "Kitchen",
        code: "KIT",
        prefixes: &["Home & Garden > Kitchen & Dining"],
        exclude: &[],
        tiers: [(5.0, 20.0), (20.0, 80.0), (80.0, 600.0)],
        brands: [
            &["HomeChef", "Cookwell", "Panstar"],
            &["Ironleaf", "Copperline", "Brava Cucina"],
            &["Aldenhoff", "Kyoto Steelworks"],
        ],
        share: 0.08,
    },
    DeptSpec {
        name: "Pets",
        code: "PET",
        prefixes: &["Animals & Pet Supplies > Pet Supplies"],
        exclude: &[],
        tiers: [(3.0, 15.0), (15.0, 50.0), (50.0, 300.0)],
        brands: [
            &["PetPal", "Happy Tails", "Furbuddy"],
            &["Wildpaw", "Northern Kennel", "Purrfect"],
            &["Canis Reserve", "Feline Atelier"],
        ],
        share: 0.07,
    },
    DeptSpec {
        name: "Fashion",
        code: "FAS",
        prefixes: &[
            "Apparel & Accessories > Clothing",
            "Apparel & Accessories > Shoes",
            "Apparel & Accessories > Clothing Accessories",
        ],
        exclude: &[],
        tiers: [(8.0, 25.0), (25.0, 80.0), (80.0, 400.0)],
        brands: [
            &["Basics & Co", "Urban Thread", "Stride"],
            &["Linden & Oak", "Marlowe", "Harbor Knit"],
            &["Atelier Nord", "Sartoria Vela"],
        ],
        share: 0.14,
    },
    DeptSpec {
        name: "Luxury",
        code: "LUX",
        prefixes: &[
            "Apparel & Accessories > Jewelry",
            "Apparel & Accessories > Handbags, Wallets & Cases",
        ],
        exclude: &[],
        tiers: [(30.0, 100.0), (100.0, 600.0), (600.0, 8000.0)],
        brands: [
            &["Lumière Paris", "Ostrava"],
            &["Kessler & Brandt", "Orsini Milano", "Maison Aurelle"],
            &["Valentori", "Château Verne", "Haute Meridian"],
        ],
        share: 0.04,
    },
    DeptSpec {
        name: "Beauty",
        code: "BEA",
        prefixes: &[
            "Health & Beauty > Personal Care > Cosmetics",
            "Health & Beauty > Personal Care > Hair Care",
        ],
        exclude: &[],
        tiers: [(3.0, 12.0), (12.0, 40.0), (40.0, 250.0)],
        brands: [
            &["Glow Daily", "PureSkin", "Bloom Basics"],
            &["Velvet Rose", "Aqua Botanica", "Luma Lab"],
            &["Éclat Paris", "Seoul Luxe Lab"],
        ],
        share: 0.08,
    },
    DeptSpec {
        name: "Electronics",
        code: "ELE",
        prefixes: &[
            "Electronics > Audio",
            "Electronics > Computers",
            "Electronics > Communications > Telephony",
            "Electronics > Video",
            "Electronics > Video Game Consoles",
            "Cameras & Optics > Cameras",
            "Electronics > Electronics Accessories",
        ],
        exclude: &[],
        tiers: [(10.0, 50.0), (50.0, 300.0), (300.0, 3000.0)],
        brands: [
            &["Voltix", "Connectix", "Zenbit"],
            &["Auralis", "Pixelon", "Northwave"],
            &["Helion Pro", "Quantra", "Sonoris"],
        ],
        share: 0.10,
    },
    DeptSpec {
        name: "Sports",
        code: "SPO",
        prefixes: &[
            "Sporting Goods > Athletics",
            "Sporting Goods > Exercise & Fitness",
            "Sporting Goods > Outdoor Recreation",
        ],
        exclude: &[],
        tiers: [(8.0, 30.0), (30.0, 120.0), (120.0, 1500.0)],
        brands: [
            &["ActiveOne", "Trailmate", "FitBasics"],
            &["Summit Gear", "Velocity", "Aquarun"],
            &["Alpinex Pro", "Carbonline"],
        ],
        share: 0.09,
    },
    DeptSpec {
        name: "Home",
        code: "HOM",
        prefixes: &[
            "Home & Garden > Decor",
            "Home & Garden > Linens & Bedding",
            "Home & Garden > Lawn & Garden",
            "Home & Garden > Lighting",
            "Home & Garden > Household Supplies",
        ],
        exclude: &[],
        tiers: [(5.0, 20.0), (20.0, 80.0), (80.0, 500.0)],
        brands: [
            &["Cozy Nest", "HomeBasics", "Brightway"],
            &["Willow & Stone", "Nordlys", "Terracotta Living"],
            &["Maison Lin", "Atelier Casa"],
        ],
        share: 0.08,
    },
    DeptSpec {
        name: "Furniture",
        code: "FUR",
        prefixes: &["Furniture"],
        exclude: &[],
        tiers: [(30.0, 100.0), (100.0, 500.0), (500.0, 4000.0)],
        brands: [
            &["FlatPack", "Studio Basics", "Roomly"],
            &["Oakhaven", "Scandia Form", "Loft & Co"],
            &["Castellani", "Holm Design"],
        ],
        share: 0.06,
    },
    DeptSpec {
        name: "Baby",
        code: "BAB",
        prefixes: &["Baby & Toddler"],
        exclude: &[],
        tiers: [(5.0, 20.0), (20.0, 80.0), (80.0, 900.0)],
        brands: [
            &["Little Sprout", "TinyJoy", "BabyBasics"],
            &["Bloom & Bear", "Snuggle Nest", "Nordic Cub"],
            &["Petit Prince Paris", "Lullaby Atelier"],
        ],
        share: 0.06,
    },
    DeptSpec {
        name: "Office & Books",
        code: "OFB",
        prefixes: &["Office Supplies", "Media > Books"],
        exclude: &[],
        tiers: [(2.0, 8.0), (8.0, 25.0), (25.0, 200.0)],
        brands: [
            &["Paperline", "Campus Co", "Inkwell"],
            &["Fieldnote", "Leuchtstift", "Pageturn Press"],
            &["Mont Oriel", "Scriptorium"],
        ],
        share: 0.05,
    },
    DeptSpec {
        name: "Toys",
        code: "TOY",
        prefixes: &["Toys & Games"],
        exclude: &[],
        tiers: [(5.0, 20.0), (20.0, 60.0), (60.0, 400.0)],
        brands: [
            &["FunTime", "Playwell", "Toybox"],
            &["Brickwise", "Wonder Works", "Puzzlewood"],
            &["Heirloom Toys", "Kinder Atelier"],
        ],
        share: 0.05,
    },
];

const TIER_WORDS: [&[&str]; 3] = [
    &["Everyday", "Essential", "Basic", "Value"],
    &["Classic", "Select", "Signature", "Plus"],
    &["Premium", "Reserve", "Pro", "Elite"],
];

/// Price tier of a product.
pub(crate) const TIER_NAMES: [&str; 3] = ["low", "medium", "high"];

/// One product of the catalog, with its JSON fragments precomputed.
pub(crate) struct Product {
    /// `P` + 6 digits.
    pub id: String,
    pub dept: Dept,
    /// Index into [`Catalog::categories`].
    pub category: u32,
    pub price_cents: u64,
    pub title: String,
    pub brand: &'static str,
    /// `"product_id":…,"sku":…,"category":…,"name":…,"brand":…,"price":…` (no braces).
    pub props: Vec<u8>,
    /// `"path":…,"url":…,"title":…` of the product page (no braces).
    pub page: Vec<u8>,
}

/// A taxonomy category that holds products.
pub(crate) struct CategoryRef {
    pub google: GoogleCategory,
    /// Products in this category.
    pub products: Vec<u32>,
    /// `"path":…,"url":…,"title":…` of the category listing page.
    pub page: Vec<u8>,
    /// URL slug of the listing.
    pub slug: String,
}

/// The generated catalog.
pub(crate) struct Catalog {
    pub products: Vec<Product>,
    pub categories: Vec<CategoryRef>,
    /// Products per department and tier.
    pub buckets: Vec<[Vec<u32>; 3]>,
}

/// Categories of the taxonomy per department: leaves under each prefix, per prefix.
fn department_leaves(taxonomy: &[GoogleCategory], dept: Dept) -> Vec<Vec<usize>> {
    let spec = dept.spec();
    let under = |path: &str, prefix: &str| {
        path == prefix || (path.starts_with(prefix) && path[prefix.len()..].starts_with(" > "))
    };
    spec.prefixes
        .iter()
        .map(|prefix| {
            taxonomy
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    !c.has_children
                        && under(&c.path, prefix)
                        && !spec.exclude.iter().any(|x| under(&c.path, x))
                })
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

fn log_normal_price(rng: &mut impl RngCore, lo: f64, hi: f64) -> u64 {
    let median = (lo * hi).sqrt();
    let sigma = (hi / lo).ln() / 4.0;
    let p = (median * (sigma * rng.normal()).exp()).clamp(lo, hi);
    // Shop-style prices: whole units minus one cent, e.g. 24.99.
    (p.floor() as u64).max(1) * 100 + 99 - 100
}

impl Catalog {
    /// Builds `count` products (at least one per department and tier) over `taxonomy`.
    pub(crate) fn generate(
        taxonomy: &[GoogleCategory],
        count: u32,
        rng: &mut impl RngCore,
        taxonomy_path: &Path,
    ) -> Result<Catalog, SimError> {
        let mut leaves = Vec::with_capacity(DEPT_COUNT);
        for dept in Dept::ALL {
            let l = department_leaves(taxonomy, dept);
            if l.is_empty() {
                return Err(SimError::Taxonomy {
                    path: taxonomy_path.to_path_buf(),
                    line: 0,
                    message: format!(
                        "no categories for department {} (expected paths under {:?})",
                        dept.spec().name,
                        dept.spec().prefixes
                    ),
                });
            }
            leaves.push(l);
        }
        let min_total = (DEPT_COUNT * 3) as u32;
        let count = count.max(min_total);

        // Products per department: proportional to share, at least 3 each.
        let mut per_dept: Vec<u32> = Dept::ALL
            .iter()
            .map(|d| ((f64::from(count) * d.spec().share).round() as u32).max(3))
            .collect();
        let mut total: u32 = per_dept.iter().sum();
        let mut k = 0;
        while total != count {
            let i = k % DEPT_COUNT;
            if total > count && per_dept[i] > 3 {
                per_dept[i] -= 1;
                total -= 1;
            } else if total < count {
                per_dept[i] += 1;
                total += 1;
            }
            k += 1;
        }

        let mut cat_index: Vec<Option<u32>> = vec![None; taxonomy.len()];
        let mut categories: Vec<CategoryRef> = Vec::new();
        let mut products = Vec::with_capacity(count as usize);
        let mut buckets: Vec<[Vec<u32>; 3]> = (0..DEPT_COUNT).map(|_| Default::default()).collect();
        for dept in Dept::ALL {
            let spec = dept.spec();
            for j in 0..per_dept[dept as usize] {
                let tier: u8 = if j < 3 {
                    j as u8
                } else {
                    match rng.unit() {
                        u if u < 0.4 => 0,
                        u if u < 0.8 => 1,
                        _ => 2,
                    }
                };
                let subtrees = &leaves[dept as usize];
                let subtree = &subtrees[rng.below(subtrees.len())];
                let tax = subtree[rng.below(subtree.len())];
                let cat = match cat_index[tax] {
                    Some(c) => c,
                    None => {
                        let c = categories.len() as u32;
                        cat_index[tax] = Some(c);
                        let g = taxonomy[tax].clone();
                        let slug = format!("{}-{}", slugify(g.leaf_name()), g.id);
                        let mut page = Vec::new();
                        page.extend_from_slice(b"\"path\":\"/c/");
                        page.extend_from_slice(slug.as_bytes());
                        page.extend_from_slice(b"\",\"url\":\"");
                        page.extend_from_slice(SHOP_URL.as_bytes());
                        page.extend_from_slice(b"/c/");
                        page.extend_from_slice(slug.as_bytes());
                        page.extend_from_slice(b"\",\"title\":");
                        push_json_str(&mut page, &format!("{}{SHOP_TITLE}", g.leaf_name()));
                        categories.push(CategoryRef {
                            google: g,
                            products: Vec::new(),
                            page,
                            slug,
                        });
                        c
                    }
                };
                let (lo, hi) = spec.tiers[tier as usize];
                let price_cents = log_normal_price(rng, lo, hi);
                let brands = spec.brands[tier as usize];
                let brand = brands[rng.below(brands.len())];
                let words = TIER_WORDS[tier as usize];
                let word = words[rng.below(words.len())];
                let n = products.len() as u64 + 1;
                let id = format!("P{n:06}");
                let model = 100 + rng.below(900);
                let leaf = categories[cat as usize].google.leaf_name();
                let title = format!("{brand} {word} {leaf} {}{model}", &spec.code[..1]);
                let sku = format!(
                    "{}-{n:06}-{}",
                    spec.code,
                    TIER_NAMES[tier as usize].as_bytes()[0] as char
                );
                let mut props = Vec::with_capacity(256);
                props.extend_from_slice(b"\"product_id\":\"");
                props.extend_from_slice(id.as_bytes());
                props.extend_from_slice(b"\",\"sku\":\"");
                props.extend_from_slice(sku.as_bytes());
                props.extend_from_slice(b"\",\"category\":");
                push_json_str(&mut props, &categories[cat as usize].google.path);
                props.extend_from_slice(b",\"name\":");
                push_json_str(&mut props, &title);
                props.extend_from_slice(b",\"brand\":");
                push_json_str(&mut props, brand);
                props.extend_from_slice(b",\"price\":");
                push_cents(&mut props, price_cents);
                let mut page = Vec::with_capacity(128);
                page.extend_from_slice(b"\"path\":\"/p/");
                page.extend_from_slice(id.as_bytes());
                page.extend_from_slice(b"\",\"url\":\"");
                page.extend_from_slice(SHOP_URL.as_bytes());
                page.extend_from_slice(b"/p/");
                page.extend_from_slice(id.as_bytes());
                page.extend_from_slice(b"\",\"title\":\"");
                push_json_str_body(&mut page, &title);
                push_json_str_body(&mut page, SHOP_TITLE);
                page.push(b'"');
                let pid = products.len() as u32;
                categories[cat as usize].products.push(pid);
                buckets[dept as usize][tier as usize].push(pid);
                products.push(Product {
                    id,
                    dept,
                    category: cat,
                    price_cents,
                    title,
                    brand,
                    props,
                    page,
                });
            }
        }
        Ok(Catalog {
            products,
            categories,
            buckets,
        })
    }

    /// Writes the Merchant Center style feed: `id title brand price product_type
    /// google_product_category`, tab-separated with a header row. About one row in seven
    /// gives the category as its full path text instead of its numeric id.
    pub(crate) fn write_tsv(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"id\ttitle\tbrand\tprice\tproduct_type\tgoogle_product_category\n");
        let clean = |s: &str, out: &mut Vec<u8>| {
            for b in s.bytes() {
                out.push(if b == b'\t' || b == b'\n' || b == b'\r' {
                    b' '
                } else {
                    b
                });
            }
        };
        for (i, p) in self.products.iter().enumerate() {
            let cat = &self.categories[p.category as usize];
            out.extend_from_slice(p.id.as_bytes());
            out.push(b'\t');
            clean(&p.title, out);
            out.push(b'\t');
            clean(p.brand, out);
            out.push(b'\t');
            push_cents(out, p.price_cents);
            out.extend_from_slice(b" USD\t");
            clean(p.dept.spec().name, out);
            out.extend_from_slice(b" > ");
            clean(cat.google.leaf_name(), out);
            out.push(b'\t');
            if i % 7 == 3 {
                clean(&cat.google.path, out);
            } else {
                push_padded(out, u64::from(cat.google.id), 1);
            }
            out.push(b'\n');
        }
    }
}
