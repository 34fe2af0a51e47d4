//! Great-circle distance between two places, for impossible travel.

/// Distance in kilometres between two (latitude, longitude) points, by the haversine formula on
/// a sphere of the Earth's mean radius (6,371 km). Good to a few tenths of a percent.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    // The same place again (most sign-ins): no trigonometry needed.
    if a == b {
        return 0.0;
    }
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHANGHAI: (f64, f64) = (31.2304, 121.4737);
    const FRANKFURT: (f64, f64) = (50.1109, 8.6821);
    const BEIJING: (f64, f64) = (39.9042, 116.4074);
    const LONDON: (f64, f64) = (51.5074, -0.1278);
    const NEW_YORK: (f64, f64) = (40.7128, -74.0060);
    const SINGAPORE: (f64, f64) = (1.3521, 103.8198);

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() / want < 0.01, "got {got:.0} km, want about {want} km");
    }

    #[test]
    fn known_city_pairs_are_the_right_distance_apart() {
        close(distance_km(SHANGHAI, FRANKFURT), 8_820.0);
        close(distance_km(SHANGHAI, BEIJING), 1_067.0);
        close(distance_km(LONDON, NEW_YORK), 5_570.0);
        close(distance_km(SINGAPORE, SHANGHAI), 3_800.0);
        assert_eq!(distance_km(LONDON, LONDON), 0.0);
        close(distance_km(FRANKFURT, SHANGHAI), distance_km(SHANGHAI, FRANKFURT));
    }
}
