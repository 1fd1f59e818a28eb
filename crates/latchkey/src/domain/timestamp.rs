use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use utoipa::ToSchema;

/// A UTC instant with microsecond precision, the precision both databases keep.
///
/// Stored as microseconds since the Unix epoch so that SQLite and PostgreSQL
/// compare and order it the same way; written on the wire as RFC 3339 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2100-01-01T00:00:00Z")]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub fn as_micros(self) -> i64 {
        self.0
    }

    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_micros())
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|dt| Self::from_datetime(dt.with_timezone(&Utc)))
    }

    /// Saturates: a delta beyond µs range lands at the far past or future,
    /// on the side its sign says.
    pub fn plus(self, delta: TimeDelta) -> Self {
        let micros = delta
            .num_microseconds()
            .unwrap_or(match delta < TimeDelta::zero() {
                true => i64::MIN,
                false => i64::MAX,
            });
        Self(self.0.saturating_add(micros))
    }

    pub fn is_past(self, now: Timestamp) -> bool {
        self <= now
    }
}

/// RFC 3339 in UTC as chrono's `AutoSi` writes it (no fraction, or 3 or 6
/// digits, whichever shows every non-zero digit), without allocating: every
/// token in every answer carries two of these. Years outside 0000–9999
/// (never minted, but representable) go through chrono.
struct Rfc3339 {
    buf: [u8; 27],
    len: usize,
}

impl Rfc3339 {
    fn of(t: Timestamp) -> Option<Self> {
        const MICROS_PER_DAY: i64 = 86_400_000_000;
        let days = t.0.div_euclid(MICROS_PER_DAY);
        let in_day = t.0.rem_euclid(MICROS_PER_DAY);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let secs = in_day / 1_000_000;
        let micros = in_day % 1_000_000;
        let mut out = Self {
            buf: *b"0000-00-00T00:00:00.000000Z",
            len: 20,
        };
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                out.buf[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, secs / 3600);
        put(14, 2, secs / 60 % 60);
        put(17, 2, secs % 60);
        let (digits, value) = match micros {
            0 => (0, 0),
            m if m % 1000 == 0 => (3, m / 1000),
            m => (6, m),
        };
        if digits == 0 {
            out.len = 19;
        } else {
            put(20, digits, value);
            out.len = 20 + digits;
        }
        out.buf[out.len] = b'Z';
        out.len += 1;
        Some(out)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("ASCII digits")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Rfc3339::of(*self) {
            Some(text) => f.write_str(text.as_str()),
            None => f.write_str(
                &self
                    .to_datetime()
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match Rfc3339::of(*self) {
            Some(text) => serializer.serialize_str(text.as_str()),
            None => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&raw).ok_or_else(|| {
            de::Error::custom("expected an RFC 3339 timestamp such as 2100-01-01T00:00:00Z")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_deltas_saturate_on_their_own_side() {
        let now = Timestamp::now();
        assert!(now.plus(TimeDelta::MIN) < Timestamp::from_micros(0));
        assert_eq!(now.plus(TimeDelta::MAX), Timestamp::from_micros(i64::MAX));
        assert!(now.plus(-TimeDelta::days(4_294_967_295)) < now);
    }

    #[test]
    fn round_trips_rfc3339_in_utc() {
        let t = Timestamp::parse_rfc3339("2100-01-01T02:00:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2100-01-01T01:00:00Z");
        let t = Timestamp::parse_rfc3339("2023-09-05T13:40:13.364870Z").unwrap();
        assert_eq!(t.to_string(), "2023-09-05T13:40:13.364870Z");
    }

    #[test]
    fn the_fast_format_is_chronos() {
        let chrono = |t: Timestamp| t.to_datetime().to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut cases = vec![
            0,
            1,
            1_000,
            999_999,
            -1,
            -86_400_000_000,
            951_782_400_000_000,     // 2000-02-29
            4_102_444_800_000_000,   // 2100-01-01
            253_402_300_799_999_999, // 9999-12-31T23:59:59.999999
            -62_167_219_200_000_000, // 0000-01-01
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let micros = (x % 253_402_300_800_000_000) as i64 - 62_167_219_200_000_000;
            // Mix in whole seconds and whole milliseconds too.
            cases.push(match x % 3 {
                0 => micros,
                1 => micros - micros.rem_euclid(1_000),
                _ => micros - micros.rem_euclid(1_000_000),
            });
        }
        for micros in cases {
            let t = Timestamp::from_micros(micros);
            assert_eq!(t.to_string(), chrono(t), "{micros}");
            assert_eq!(serde_json::to_value(t).unwrap(), chrono(t), "{micros}");
        }
        // Out of the four-digit range: chrono's form.
        let far = Timestamp::from_micros(i64::MAX);
        assert_eq!(far.to_string(), chrono(far));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Timestamp::parse_rfc3339("tomorrow").is_none());
        assert!(Timestamp::parse_rfc3339("2100-01-01").is_none());
    }
}
