//! Hard-coded world tables: cities, names, e-mail domains, devices, ad campaigns.

use crate::catalog::Dept;
use crate::time::Season;

/// Name pool of a city's region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NamePool {
    Anglo = 0,
    Continental,
    EastAsia,
    SouthAsia,
    Latin,
}

/// A home city: real coordinates, a UTC offset (standard time, minutes), phone numbering and a
/// fake but stable IPv4 /16.
pub(crate) struct City {
    pub name: &'static str,
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub utc_offset_min: i32,
    pub locale: &'static str,
    pub pool: NamePool,
    /// Country calling code.
    pub cc: &'static str,
    /// Leading digits of a mobile number after the country code.
    pub mobile_prefix: &'static str,
    /// Random digits after the prefix.
    pub mobile_digits: u8,
    /// First octet of the city's fake IPv4 addresses.
    pub ip_a: u8,
    /// Relative share of people.
    pub weight: f64,
}

macro_rules! city {
    ($name:expr, $cc2:expr, $lat:expr, $lon:expr, $off:expr, $loc:expr, $pool:ident, $cc:expr, $pre:expr, $dig:expr, $ip:expr, $w:expr) => {
        City {
            name: $name,
            country: $cc2,
            lat: $lat,
            lon: $lon,
            utc_offset_min: $off,
            locale: $loc,
            pool: NamePool::$pool,
            cc: $cc,
            mobile_prefix: $pre,
            mobile_digits: $dig,
            ip_a: $ip,
            weight: $w,
        }
    };
}

/// About 60 real cities for a cross-border shop.
pub(crate) const CITIES: &[City] = &[
    // Europe
    city!(
        "London", "GB", 51.5074, -0.1278, 0, "en-GB", Anglo, "44", "7", 9, 81, 4.0
    ),
    city!(
        "Manchester",
        "GB",
        53.4808,
        -2.2426,
        0,
        "en-GB",
        Anglo,
        "44",
        "7",
        9,
        82,
        1.5
    ),
    city!(
        "Dublin", "IE", 53.3498, -6.2603, 0, "en-IE", Anglo, "353", "8", 8, 87, 1.0
    ),
    city!(
        "Paris",
        "FR",
        48.8566,
        2.3522,
        60,
        "fr-FR",
        Continental,
        "33",
        "6",
        8,
        90,
        3.5
    ),
    city!(
        "Lyon",
        "FR",
        45.7640,
        4.8357,
        60,
        "fr-FR",
        Continental,
        "33",
        "7",
        8,
        91,
        1.2
    ),
    city!(
        "Marseille",
        "FR",
        43.2965,
        5.3698,
        60,
        "fr-FR",
        Continental,
        "33",
        "6",
        8,
        92,
        1.0
    ),
    city!(
        "Berlin",
        "DE",
        52.5200,
        13.4050,
        60,
        "de-DE",
        Continental,
        "49",
        "15",
        9,
        85,
        3.0
    ),
    city!(
        "Munich",
        "DE",
        48.1351,
        11.5820,
        60,
        "de-DE",
        Continental,
        "49",
        "17",
        8,
        84,
        1.5
    ),
    city!(
        "Hamburg",
        "DE",
        53.5511,
        9.9937,
        60,
        "de-DE",
        Continental,
        "49",
        "16",
        8,
        88,
        1.3
    ),
    city!(
        "Cologne",
        "DE",
        50.9375,
        6.9603,
        60,
        "de-DE",
        Continental,
        "49",
        "15",
        9,
        89,
        1.0
    ),
    city!(
        "Madrid", "ES", 40.4168, -3.7038, 60, "es-ES", Latin, "34", "6", 8, 83, 2.5
    ),
    city!(
        "Barcelona",
        "ES",
        41.3874,
        2.1686,
        60,
        "es-ES",
        Latin,
        "34",
        "6",
        8,
        80,
        1.8
    ),
    city!(
        "Lisbon", "PT", 38.7223, -9.1393, 0, "pt-PT", Latin, "351", "9", 8, 94, 1.0
    ),
    city!(
        "Rome",
        "IT",
        41.9028,
        12.4964,
        60,
        "it-IT",
        Continental,
        "39",
        "3",
        9,
        93,
        2.0
    ),
    city!(
        "Milan",
        "IT",
        45.4642,
        9.1900,
        60,
        "it-IT",
        Continental,
        "39",
        "3",
        9,
        95,
        1.8
    ),
    city!(
        "Amsterdam",
        "NL",
        52.3676,
        4.9041,
        60,
        "nl-NL",
        Continental,
        "31",
        "6",
        8,
        77,
        1.5
    ),
    city!(
        "Brussels",
        "BE",
        50.8503,
        4.3517,
        60,
        "fr-BE",
        Continental,
        "32",
        "4",
        8,
        78,
        1.0
    ),
    city!(
        "Vienna",
        "AT",
        48.2082,
        16.3738,
        60,
        "de-AT",
        Continental,
        "43",
        "6",
        9,
        86,
        1.0
    ),
    city!(
        "Zurich",
        "CH",
        47.3769,
        8.5417,
        60,
        "de-CH",
        Continental,
        "41",
        "7",
        8,
        79,
        0.8
    ),
    city!(
        "Stockholm",
        "SE",
        59.3293,
        18.0686,
        60,
        "sv-SE",
        Continental,
        "46",
        "7",
        8,
        31,
        1.0
    ),
    city!(
        "Copenhagen",
        "DK",
        55.6761,
        12.5683,
        60,
        "da-DK",
        Continental,
        "45",
        "2",
        7,
        37,
        0.8
    ),
    city!(
        "Oslo",
        "NO",
        59.9139,
        10.7522,
        60,
        "nb-NO",
        Continental,
        "47",
        "9",
        7,
        46,
        0.7
    ),
    city!(
        "Helsinki",
        "FI",
        60.1699,
        24.9384,
        120,
        "fi-FI",
        Continental,
        "358",
        "4",
        8,
        62,
        0.6
    ),
    city!(
        "Warsaw",
        "PL",
        52.2297,
        21.0122,
        60,
        "pl-PL",
        Continental,
        "48",
        "5",
        8,
        83,
        1.4
    ),
    city!(
        "Prague",
        "CZ",
        50.0755,
        14.4378,
        60,
        "cs-CZ",
        Continental,
        "420",
        "6",
        8,
        46,
        0.9
    ),
    city!(
        "Athens",
        "GR",
        37.9838,
        23.7275,
        120,
        "el-GR",
        Continental,
        "30",
        "69",
        8,
        94,
        0.9
    ),
    // North America
    city!(
        "New York", "US", 40.7128, -74.0060, -300, "en-US", Anglo, "1", "212", 7, 24, 5.0
    ),
    city!(
        "Los Angeles",
        "US",
        34.0522,
        -118.2437,
        -480,
        "en-US",
        Anglo,
        "1",
        "213",
        7,
        23,
        4.0
    ),
    city!(
        "Chicago", "US", 41.8781, -87.6298, -360, "en-US", Anglo, "1", "312", 7, 50, 2.5
    ),
    city!(
        "Houston", "US", 29.7604, -95.3698, -360, "en-US", Anglo, "1", "713", 7, 66, 2.0
    ),
    city!(
        "Phoenix", "US", 33.4484, -112.0740, -420, "en-US", Anglo, "1", "602", 7, 68, 1.5
    ),
    city!(
        "Philadelphia",
        "US",
        39.9526,
        -75.1652,
        -300,
        "en-US",
        Anglo,
        "1",
        "215",
        7,
        71,
        1.5
    ),
    city!(
        "San Francisco",
        "US",
        37.7749,
        -122.4194,
        -480,
        "en-US",
        Anglo,
        "1",
        "415",
        7,
        64,
        1.8
    ),
    city!(
        "Seattle", "US", 47.6062, -122.3321, -480, "en-US", Anglo, "1", "206", 7, 67, 1.4
    ),
    city!(
        "Miami", "US", 25.7617, -80.1918, -300, "es-US", Latin, "1", "305", 7, 69, 1.5
    ),
    city!(
        "Boston", "US", 42.3601, -71.0589, -300, "en-US", Anglo, "1", "617", 7, 72, 1.3
    ),
    city!(
        "Atlanta", "US", 33.7490, -84.3880, -300, "en-US", Anglo, "1", "404", 7, 73, 1.3
    ),
    city!(
        "Denver", "US", 39.7392, -104.9903, -420, "en-US", Anglo, "1", "303", 7, 75, 1.0
    ),
    city!(
        "Dallas", "US", 32.7767, -96.7970, -360, "en-US", Anglo, "1", "214", 7, 76, 1.6
    ),
    city!(
        "Toronto", "CA", 43.6532, -79.3832, -300, "en-CA", Anglo, "1", "416", 7, 99, 2.0
    ),
    city!(
        "Vancouver",
        "CA",
        49.2827,
        -123.1207,
        -480,
        "en-CA",
        Anglo,
        "1",
        "604",
        7,
        96,
        1.0
    ),
    city!(
        "Montreal",
        "CA",
        45.5019,
        -73.5674,
        -300,
        "fr-CA",
        Continental,
        "1",
        "514",
        7,
        70,
        1.1
    ),
    // Asia-Pacific and Middle East
    city!(
        "Tokyo", "JP", 35.6762, 139.6503, 540, "ja-JP", EastAsia, "81", "90", 8, 126, 4.0
    ),
    city!(
        "Osaka", "JP", 34.6937, 135.5023, 540, "ja-JP", EastAsia, "81", "80", 8, 133, 1.5
    ),
    city!(
        "Seoul", "KR", 37.5665, 126.9780, 540, "ko-KR", EastAsia, "82", "10", 8, 121, 2.5
    ),
    city!(
        "Shanghai", "CN", 31.2304, 121.4737, 480, "zh-CN", EastAsia, "86", "13", 9, 116, 3.0
    ),
    city!(
        "Beijing", "CN", 39.9042, 116.4074, 480, "zh-CN", EastAsia, "86", "15", 9, 123, 2.5
    ),
    city!(
        "Shenzhen", "CN", 22.5431, 114.0579, 480, "zh-CN", EastAsia, "86", "18", 9, 119, 1.8
    ),
    city!(
        "Hong Kong",
        "HK",
        22.3193,
        114.1694,
        480,
        "zh-HK",
        EastAsia,
        "852",
        "9",
        7,
        112,
        1.2
    ),
    city!(
        "Taipei", "TW", 25.0330, 121.5654, 480, "zh-TW", EastAsia, "886", "9", 8, 114, 1.0
    ),
    city!(
        "Singapore",
        "SG",
        1.3521,
        103.8198,
        480,
        "en-SG",
        EastAsia,
        "65",
        "9",
        7,
        118,
        1.2
    ),
    city!(
        "Bangkok", "TH", 13.7563, 100.5018, 420, "th-TH", EastAsia, "66", "8", 8, 110, 1.2
    ),
    city!(
        "Jakarta", "ID", -6.2088, 106.8456, 420, "id-ID", EastAsia, "62", "81", 9, 114, 1.3
    ),
    city!(
        "Manila", "PH", 14.5995, 120.9842, 480, "en-PH", Latin, "63", "9", 9, 112, 1.0
    ),
    city!(
        "Mumbai", "IN", 19.0760, 72.8777, 330, "en-IN", SouthAsia, "91", "9", 9, 103, 2.0
    ),
    city!(
        "Bangalore",
        "IN",
        12.9716,
        77.5946,
        330,
        "en-IN",
        SouthAsia,
        "91",
        "8",
        9,
        106,
        1.6
    ),
    city!(
        "Dubai", "AE", 25.2048, 55.2708, 240, "en-AE", SouthAsia, "971", "5", 8, 94, 1.0
    ),
    city!(
        "Sydney", "AU", -33.8688, 151.2093, 600, "en-AU", Anglo, "61", "4", 8, 101, 1.8
    ),
    city!(
        "Melbourne",
        "AU",
        -37.8136,
        144.9631,
        600,
        "en-AU",
        Anglo,
        "61",
        "4",
        8,
        110,
        1.4
    ),
    // Latin America
    city!(
        "Mexico City",
        "MX",
        19.4326,
        -99.1332,
        -360,
        "es-MX",
        Latin,
        "52",
        "55",
        8,
        187,
        2.5
    ),
    city!(
        "Guadalajara",
        "MX",
        20.6597,
        -103.3496,
        -360,
        "es-MX",
        Latin,
        "52",
        "33",
        8,
        189,
        1.0
    ),
    city!(
        "São Paulo",
        "BR",
        -23.5505,
        -46.6333,
        -180,
        "pt-BR",
        Latin,
        "55",
        "119",
        8,
        177,
        3.0
    ),
    city!(
        "Rio de Janeiro",
        "BR",
        -22.9068,
        -43.1729,
        -180,
        "pt-BR",
        Latin,
        "55",
        "219",
        8,
        179,
        1.5
    ),
    city!(
        "Buenos Aires",
        "AR",
        -34.6037,
        -58.3816,
        -180,
        "es-AR",
        Latin,
        "54",
        "911",
        8,
        181,
        1.5
    ),
    city!(
        "Santiago", "CL", -33.4489, -70.6693, -240, "es-CL", Latin, "56", "9", 8, 190, 1.0
    ),
    city!(
        "Bogotá", "CO", 4.7110, -74.0721, -300, "es-CO", Latin, "57", "3", 9, 186, 1.0
    ),
    city!(
        "Lima", "PE", -12.0464, -77.0428, -300, "es-PE", Latin, "51", "9", 8, 200, 0.9
    ),
];

/// `(display name, ASCII form for e-mail addresses)` per pool: female, male, last names.
pub(crate) struct Names {
    pub female: &'static [(&'static str, &'static str)],
    pub male: &'static [(&'static str, &'static str)],
    pub last: &'static [(&'static str, &'static str)],
}

/// Name pools in [`NamePool`] order.
pub(crate) const NAMES: [Names; 5] = [
    Names {
        female: &[
            ("Emma", "emma"),
            ("Olivia", "olivia"),
            ("Ava", "ava"),
            ("Sophia", "sophia"),
            ("Mia", "mia"),
            ("Charlotte", "charlotte"),
            ("Amelia", "amelia"),
            ("Harper", "harper"),
            ("Grace", "grace"),
            ("Chloe", "chloe"),
        ],
        male: &[
            ("Liam", "liam"),
            ("Noah", "noah"),
            ("Oliver", "oliver"),
            ("James", "james"),
            ("Elijah", "elijah"),
            ("William", "william"),
            ("Henry", "henry"),
            ("Lucas", "lucas"),
            ("Benjamin", "benjamin"),
            ("Jack", "jack"),
        ],
        last: &[
            ("Smith", "smith"),
            ("Johnson", "johnson"),
            ("Williams", "williams"),
            ("Brown", "brown"),
            ("Jones", "jones"),
            ("Miller", "miller"),
            ("Davis", "davis"),
            ("Wilson", "wilson"),
            ("Taylor", "taylor"),
            ("Clark", "clark"),
            ("O'Brien", "obrien"),
            ("Walker", "walker"),
        ],
    },
    Names {
        female: &[
            ("Sophie", "sophie"),
            ("Marie", "marie"),
            ("Léa", "lea"),
            ("Anna", "anna"),
            ("Giulia", "giulia"),
            ("Emilie", "emilie"),
            ("Hanna", "hanna"),
            ("Zoë", "zoe"),
            ("Chloé", "chloe"),
            ("Ingrid", "ingrid"),
            ("Katarzyna", "katarzyna"),
        ],
        male: &[
            ("Lukas", "lukas"),
            ("Jürgen", "juergen"),
            ("François", "francois"),
            ("Matteo", "matteo"),
            ("Luca", "luca"),
            ("Jan", "jan"),
            ("Søren", "soren"),
            ("Erik", "erik"),
            ("Pierre", "pierre"),
            ("Maximilian", "maximilian"),
            ("Tomasz", "tomasz"),
        ],
        last: &[
            ("Müller", "mueller"),
            ("Schmidt", "schmidt"),
            ("Dubois", "dubois"),
            ("Martin", "martin"),
            ("Rossi", "rossi"),
            ("Bianchi", "bianchi"),
            ("Jansen", "jansen"),
            ("de Vries", "devries"),
            ("Nowak", "nowak"),
            ("Hansen", "hansen"),
            ("Novák", "novak"),
            ("Lefèvre", "lefevre"),
            ("Papadopoulos", "papadopoulos"),
        ],
    },
    Names {
        female: &[
            ("Yui", "yui"),
            ("Sakura", "sakura"),
            ("Ji-woo", "jiwoo"),
            ("Seo-yeon", "seoyeon"),
            ("Mei", "mei"),
            ("Li Na", "lina"),
            ("Hui Min", "huimin"),
            ("Aiko", "aiko"),
            ("Siti", "siti"),
            ("Ying", "ying"),
        ],
        male: &[
            ("Haruto", "haruto"),
            ("Ren", "ren"),
            ("Min-jun", "minjun"),
            ("Ji-ho", "jiho"),
            ("Wei", "wei"),
            ("Jun", "jun"),
            ("Hao", "hao"),
            ("Kenji", "kenji"),
            ("Budi", "budi"),
            ("Somchai", "somchai"),
        ],
        last: &[
            ("Sato", "sato"),
            ("Suzuki", "suzuki"),
            ("Takahashi", "takahashi"),
            ("Kim", "kim"),
            ("Lee", "lee"),
            ("Park", "park"),
            ("Wang", "wang"),
            ("Li", "li"),
            ("Zhang", "zhang"),
            ("Chen", "chen"),
            ("Tan", "tan"),
            ("Nguyen", "nguyen"),
        ],
    },
    Names {
        female: &[
            ("Priya", "priya"),
            ("Ananya", "ananya"),
            ("Aisha", "aisha"),
            ("Fatima", "fatima"),
            ("Diya", "diya"),
            ("Sara", "sara"),
            ("Isha", "isha"),
            ("Meera", "meera"),
        ],
        male: &[
            ("Aarav", "aarav"),
            ("Arjun", "arjun"),
            ("Rohan", "rohan"),
            ("Omar", "omar"),
            ("Ahmed", "ahmed"),
            ("Vikram", "vikram"),
            ("Karan", "karan"),
            ("Yusuf", "yusuf"),
        ],
        last: &[
            ("Sharma", "sharma"),
            ("Patel", "patel"),
            ("Singh", "singh"),
            ("Kumar", "kumar"),
            ("Gupta", "gupta"),
            ("Khan", "khan"),
            ("Rao", "rao"),
            ("Al-Mansouri", "almansouri"),
            ("Iyer", "iyer"),
            ("Reddy", "reddy"),
        ],
    },
    Names {
        female: &[
            ("Sofía", "sofia"),
            ("Valentina", "valentina"),
            ("Camila", "camila"),
            ("Isabella", "isabella"),
            ("Lucía", "lucia"),
            ("Mariana", "mariana"),
            ("Ana", "ana"),
            ("Gabriela", "gabriela"),
            ("Beatriz", "beatriz"),
            ("Carolina", "carolina"),
        ],
        male: &[
            ("Santiago", "santiago"),
            ("Mateo", "mateo"),
            ("Sebastián", "sebastian"),
            ("Diego", "diego"),
            ("João", "joao"),
            ("Pedro", "pedro"),
            ("Miguel", "miguel"),
            ("Alejandro", "alejandro"),
            ("Gabriel", "gabriel"),
            ("Tomás", "tomas"),
        ],
        last: &[
            ("García", "garcia"),
            ("Rodríguez", "rodriguez"),
            ("Martínez", "martinez"),
            ("López", "lopez"),
            ("González", "gonzalez"),
            ("Silva", "silva"),
            ("Santos", "santos"),
            ("Oliveira", "oliveira"),
            ("Fernández", "fernandez"),
            ("Pérez", "perez"),
            ("Souza", "souza"),
            ("Ramírez", "ramirez"),
        ],
    },
];

/// E-mail domains. Only reserved names (RFC 2606 / RFC 6761) so simulated addresses can never
/// reach, or be matched against, a real mailbox.
pub(crate) const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "mail.example",
    "inbox.example",
    "post.example",
];

/// Desktop and mobile browser user agents.
pub(crate) const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
];

/// Released versions of the shop app: `(version, build)`.
pub(crate) const APP_VERSIONS: &[(&str, &str)] =
    &[("3.4.1", "341"), ("3.3.0", "330"), ("3.2.5", "325")];

/// iOS device models and OS versions.
pub(crate) const IOS_MODELS: &[&str] = &["iPhone15,2", "iPhone16,1", "iPhone14,5", "iPad13,18"];
pub(crate) const IOS_VERSIONS: &[&str] = &["18.1", "17.6.1", "18.0"];
/// Android `(manufacturer, model)` and OS versions.
pub(crate) const ANDROID_MODELS: &[(&str, &str)] = &[
    ("samsung", "SM-S921B"),
    ("Google", "Pixel 8"),
    ("Xiaomi", "2311DRK48G"),
    ("OnePlus", "CPH2581"),
];
pub(crate) const ANDROID_VERSIONS: &[&str] = &["14", "13", "15"];

/// An ad campaign run by the shop on publisher sites and apps.
pub(crate) struct Campaign {
    pub id: &'static str,
    /// Department it promotes (`None`: the whole shop).
    pub dept: Option<Dept>,
    /// Retargeting: shows products the person viewed.
    pub retarget: bool,
    /// Active only around this season's dates.
    pub season: Option<Season>,
    /// Cost per thousand impressions, in millionths of a USD (per impression: `cpm / 1000`).
    pub cpm_micros: u64,
    pub creatives: u32,
}

pub(crate) const CAMPAIGNS: &[Campaign] = &[
    Campaign {
        id: "cmp_retarget_dpa",
        dept: None,
        retarget: true,
        season: None,
        cpm_micros: 6_500_000,
        creatives: 4,
    },
    Campaign {
        id: "cmp_prospect_fashion",
        dept: Some(Dept::Apparel),
        retarget: false,
        season: None,
        cpm_micros: 3_200_000,
        creatives: 3,
    },
    Campaign {
        id: "cmp_prospect_tech",
        dept: Some(Dept::Electronics),
        retarget: false,
        season: None,
        cpm_micros: 4_100_000,
        creatives: 3,
    },
    Campaign {
        id: "cmp_prospect_home",
        dept: Some(Dept::Furniture),
        retarget: false,
        season: None,
        cpm_micros: 2_800_000,
        creatives: 2,
    },
    Campaign {
        id: "cmp_prospect_pets",
        dept: Some(Dept::Pets),
        retarget: false,
        season: None,
        cpm_micros: 2_400_000,
        creatives: 2,
    },
    Campaign {
        id: "cmp_prospect_beauty",
        dept: Some(Dept::Beauty),
        retarget: false,
        season: None,
        cpm_micros: 3_000_000,
        creatives: 3,
    },
    Campaign {
        id: "cmp_baby_launch",
        dept: Some(Dept::Baby),
        retarget: false,
        season: None,
        cpm_micros: 3_600_000,
        creatives: 2,
    },
    Campaign {
        id: "cmp_black_friday",
        dept: None,
        retarget: false,
        season: Some(Season::BlackFriday),
        cpm_micros: 5_200_000,
        creatives: 4,
    },
    Campaign {
        id: "cmp_singles_day",
        dept: None,
        retarget: false,
        season: Some(Season::SinglesDay),
        cpm_micros: 2_900_000,
        creatives: 2,
    },
    Campaign {
        id: "cmp_holiday_gifts",
        dept: Some(Dept::Toys),
        retarget: false,
        season: Some(Season::Christmas),
        cpm_micros: 4_400_000,
        creatives: 3,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sane() {
        assert!(CITIES.len() >= 60);
        for c in CITIES {
            assert!(c.lat.abs() <= 90.0 && c.lon.abs() <= 180.0, "{}", c.name);
            assert!(c.cc.bytes().all(|b| b.is_ascii_digit()));
            assert!(c.mobile_prefix.bytes().all(|b| b.is_ascii_digit()));
            let len = c.cc.len() + c.mobile_prefix.len() + usize::from(c.mobile_digits);
            assert!((8..=15).contains(&len), "E.164 length for {}", c.name);
        }
        for pool in &NAMES {
            for (_, ascii) in pool.female.iter().chain(pool.male).chain(pool.last) {
                assert!(ascii.bytes().all(|b| b.is_ascii_lowercase()), "{ascii}");
            }
        }
    }
}
