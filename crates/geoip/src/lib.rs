//! IP geolocation for events without a device location.
//!
//! A deployment installs a MaxMind DB file (GeoIP2 or GeoLite2, City or Country) into its data
//! directory with `audex geoip install`. Installed files are never replaced:
//! `DATA/geoip/<installed_ms>.mmdb`, so an event is always located with the database that was in
//! use when it was received — ingest and a later replay of the log agree, as for the contextual
//! classifiers. Files are memory-mapped (they are written once, synced and renamed into place,
//! and Audex never writes them again), so a 60 MB City database costs page cache, not heap.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use maxminddb::{Mmap, Reader, geoip2};
use serde::Serialize;

/// Coordinates whose accuracy radius is wider than this (km) are not used as a location: a
/// country-level guess (MaxMind gives 500–1,000 km for those) would put people in the middle of
/// their country for radius audiences. The country is still taken.
pub const MAX_ACCURACY_KM: u16 = 200;

/// Errors of installing, loading and reading databases.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: not a usable MaxMind DB: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path}: database type {kind:?} has no locations; install a City or Country database \
         (GeoIP2-City, GeoLite2-City, GeoIP2-Country, GeoLite2-Country)"
    )]
    WrongType { path: PathBuf, kind: String },
}

/// What a database says about one address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    /// Latitude and longitude, when given with an accuracy radius of at most
    /// [`MAX_ACCURACY_KM`].
    pub location: Option<(f64, f64)>,
    /// The coordinates and radius as the database gives them, whatever the radius.
    pub raw_location: Option<(f64, f64)>,
    pub accuracy_km: Option<u16>,
    /// ISO 3166-1 alpha-2 country, upper case.
    pub country: Option<String>,
    /// English city name.
    pub city: Option<String>,
    /// The matched network (CIDR).
    pub network: String,
}

impl Place {
    /// The country as the two bytes events carry.
    pub fn country_code(&self) -> Option<[u8; 2]> {
        let c = self.country.as_deref()?.as_bytes();
        (c.len() == 2 && c.iter().all(u8::is_ascii_alphabetic))
            .then(|| [c[0].to_ascii_uppercase(), c[1].to_ascii_uppercase()])
    }
}

/// Facts about an installed database.
#[derive(Debug, Clone, Serialize)]
pub struct DbInfo {
    pub path: PathBuf,
    /// When it was installed (Unix ms): events received from then on are located with it.
    pub installed_ms: i64,
    /// MaxMind's `database_type`, e.g. `GeoLite2-City`.
    pub database_type: String,
    /// When MaxMind built it (Unix seconds).
    pub build_epoch: u64,
    pub ip_version: u16,
    pub node_count: u32,
}

/// One open database.
pub struct GeoDb {
    info: DbInfo,
    reader: Reader<Mmap>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb").field("info", &self.info).finish()
    }
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> GeoIpError {
    GeoIpError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl GeoDb {
    /// Opens `path` and checks that it is a City or Country database.
    pub fn open(path: &Path, installed_ms: i64) -> Result<GeoDb, GeoIpError> {
        if let Err(e) = std::fs::metadata(path) {
            return Err(GeoIpError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
        // SAFETY: the mapping is undefined behaviour only if the file changes while mapped.
        // Installed databases are written once under a temporary name, synced and renamed into
        // place; Audex never opens them for writing again. A file being validated before install
        // is mapped only for the duration of `install`.
        let reader = unsafe { Reader::open_mmap(path) }.map_err(|e| invalid(path, e))?;
        let m = reader.metadata();
        let kind = m.database_type.clone();
        if !(kind.contains("City") || kind.contains("Country")) {
            return Err(GeoIpError::WrongType {
                path: path.to_path_buf(),
                kind,
            });
        }
        let info = DbInfo {
            path: path.to_path_buf(),
            installed_ms,
            database_type: kind,
            build_epoch: m.build_epoch,
            ip_version: m.ip_version,
            node_count: m.node_count,
        };
        Ok(GeoDb { info, reader })
    }

    /// Facts about this database.
    pub fn info(&self) -> &DbInfo {
        &self.info
    }

    /// Looks `ip` up; `Ok(None)` when the database has no record for it.
    pub fn locate(&self, ip: IpAddr) -> Result<Option<Place>, GeoIpError> {
        let path = &self.info.path;
        let found = self.reader.lookup(ip).map_err(|e| invalid(path, e))?;
        if !found.has_data() {
            return Ok(None);
        }
        let network = found
            .network()
            .map(|n| n.to_string())
            .map_err(|e| invalid(path, e))?;
        // City records are a superset of Country records: every field defaults.
        let Some(rec) = found
            .decode::<geoip2::City>()
            .map_err(|e| invalid(path, e))?
        else {
            return Ok(None);
        };
        let raw_location = rec.location.latitude.zip(rec.location.longitude);
        let accuracy_km = rec.location.accuracy_radius;
        let location = raw_location
            .filter(|(lat, lon)| (-90.0..=90.0).contains(lat) && (-180.0..=180.0).contains(lon))
            .filter(|_| accuracy_km.is_none_or(|a| a <= MAX_ACCURACY_KM));
        Ok(Some(Place {
            location,
            raw_location,
            accuracy_km,
            country: rec
                .country
                .iso_code
                .or(rec.registered_country.iso_code)
                .map(str::to_owned),
            city: rec.city.names.english.map(str::to_owned),
            network,
        }))
    }
}

/// Where a data directory keeps its databases.
pub fn db_dir(data: &Path) -> PathBuf {
    data.join("geoip")
}

/// The installed files under `data` (`<installed_ms>.mmdb`), oldest first.
fn db_files(data: &Path) -> Result<Vec<(i64, PathBuf)>, GeoIpError> {
    let dir = db_dir(data);
    let io = |e: std::io::Error| GeoIpError::Io {
        path: dir.clone(),
        message: e.to_string(),
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(io)?.path();
        let installed = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".mmdb")?.parse().ok());
        if let Some(ms) = installed {
            out.push((ms, path));
        }
    }
    out.sort();
    Ok(out)
}

/// The databases of a data directory, by installation time.
#[derive(Debug, Default, Clone)]
pub struct GeoIp {
    dbs: Vec<Arc<GeoDb>>,
}

impl GeoIp {
    /// No database: no event is located from its IP.
    pub fn none() -> GeoIp {
        GeoIp::default()
    }

    /// Opens every database installed under `data`.
    pub fn load(data: &Path) -> Result<GeoIp, GeoIpError> {
        let mut dbs = Vec::new();
        for (ms, path) in db_files(data)? {
            dbs.push(Arc::new(GeoDb::open(&path, ms)?));
        }
        Ok(GeoIp { dbs })
    }

    /// Validates `src` (type, metadata, the whole search tree and data section) and installs a
    /// copy under `data` as of `now_ms` (later than any installed one): written to a temporary
    /// file, synced, then renamed. Returns the installed database.
    pub fn install(data: &Path, src: &Path, now_ms: i64) -> Result<GeoDb, GeoIpError> {
        {
            let db = GeoDb::open(src, now_ms)?;
            db.reader.verify().map_err(|e| invalid(src, e))?;
        }
        let after = db_files(data)?.last().map_or(i64::MIN, |(ms, _)| *ms);
        let installed_ms = now_ms.max(after.saturating_add(1));
        let dir = db_dir(data);
        let io = |p: &Path, e: std::io::Error| GeoIpError::Io {
            path: p.to_path_buf(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let path = dir.join(format!("{installed_ms}.mmdb"));
        let tmp = dir.join(format!(".{installed_ms}.mmdb.tmp"));
        std::fs::copy(src, &tmp).map_err(|e| io(src, e))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            // The rename is durable once the directory is synced; failing that, the file is
            // still complete, and a crash would at worst lose the install.
            let _ = d.sync_all();
        }
        GeoDb::open(&path, installed_ms)
    }

    /// Whether any database is installed.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// The database in use at `ms`, if any.
    pub fn at(&self, ms: i64) -> Option<&GeoDb> {
        let n = self.dbs.partition_point(|d| d.info.installed_ms <= ms);
        n.checked_sub(1).map(|i| self.dbs[i].as_ref())
    }

    /// The newest database.
    pub fn newest(&self) -> Option<&GeoDb> {
        self.dbs.last().map(Arc::as_ref)
    }

    /// Every installed database, oldest first.
    pub fn installed(&self) -> impl Iterator<Item = &GeoDb> {
        self.dbs.iter().map(Arc::as_ref)
    }

    /// `ip` located with the database in use at `ms`. A lookup error (a damaged record in a
    /// database that passed verification) counts as not found: an event is never refused
    /// because of the deployment's GeoIP file.
    pub fn locate_at(&self, ms: i64, ip: IpAddr) -> Option<Place> {
        self.at(ms)?.locate(ip).ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn city_database_matches_maxmind_source_data() -> Result<(), GeoIpError> {
        let db = GeoDb::open(&data("GeoLite2-City-Test.mmdb"), 0)?;
        assert_eq!(db.info().database_type, "GeoLite2-City");
        let london = db
            .locate(ip("81.2.69.142"))?
            .ok_or_else(|| invalid(Path::new("x"), "none"))?;
        assert_eq!(london.city.as_deref(), Some("London"));
        assert_eq!(london.country_code(), Some(*b"GB"));
        assert_eq!(london.location, Some((51.5142, -0.0931)));
        assert_eq!(london.accuracy_km, Some(10));
        assert_eq!(london.network, "81.2.69.142/31");
        // Bhutan: country-level only (534 km), so no location, but the country.
        let bt = db
            .locate(ip("67.43.156.1"))?
            .ok_or_else(|| invalid(Path::new("x"), "none"))?;
        assert_eq!(bt.location, None);
        assert_eq!(bt.raw_location, Some((27.5, 90.5)));
        assert_eq!(bt.country_code(), Some(*b"BT"));
        // Not in the database.
        assert_eq!(db.locate(ip("10.0.0.1"))?, None);
        // IPv6 addresses of the same database.
        let v6 = db.locate(ip("2001:480::1"))?;
        assert!(v6.is_some_and(|p| p.country_code() == Some(*b"US")));
        Ok(())
    }

    #[test]
    fn country_database_gives_countries_only() -> Result<(), GeoIpError> {
        let db = GeoDb::open(&data("GeoLite2-Country-Test.mmdb"), 0)?;
        let p = db.locate(ip("81.2.69.142"))?;
        assert!(p.as_ref().is_some_and(|p| p.country_code() == Some(*b"GB")));
        assert!(p.is_some_and(|p| p.location.is_none()));
        Ok(())
    }

    #[test]
    fn asn_and_broken_databases_are_refused_with_their_path() {
        let e = GeoDb::open(&data("GeoLite2-ASN-Test.mmdb"), 0);
        assert!(matches!(e, Err(GeoIpError::WrongType { .. })), "{e:?}");
        for bad in [
            "libmaxminddb-corrupt-search-tree.mmdb",
            "invalid-bytes-length.mmdb",
        ] {
            let dir = tempfile::tempdir().map_err(|e| e.to_string());
            let Ok(dir) = dir else { panic!("tempdir") };
            let e = GeoIp::install(dir.path(), &data(bad), 1);
            let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains(bad), "{bad}: {msg}");
            assert!(
                db_files(dir.path()).is_ok_and(|f| f.is_empty()),
                "{bad} installed"
            );
        }
    }

    #[test]
    fn events_are_located_with_the_database_of_their_time() -> Result<(), GeoIpError> {
        let dir = tempfile::tempdir().map_err(|e| GeoIpError::Io {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let country = GeoIp::install(dir.path(), &data("GeoLite2-Country-Test.mmdb"), 1_000)?;
        let city = GeoIp::install(dir.path(), &data("GeoLite2-City-Test.mmdb"), 500)?;
        // Installed later than the first, whatever the clock said.
        assert_eq!(country.info().installed_ms, 1_000);
        assert_eq!(city.info().installed_ms, 1_001);
        let geo = GeoIp::load(dir.path())?;
        let london = ip("81.2.69.142");
        assert_eq!(geo.locate_at(999, london), None, "before any install");
        assert!(
            geo.locate_at(1_000, london)
                .is_some_and(|p| p.location.is_none())
        );
        assert!(
            geo.locate_at(5_000, london)
                .is_some_and(|p| p.location == Some((51.5142, -0.0931)))
        );
        assert_eq!(geo.installed().count(), 2);
        Ok(())
    }
}
