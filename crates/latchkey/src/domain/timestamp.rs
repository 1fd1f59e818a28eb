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

    pub fn plus(self, delta: TimeDelta) -> Self {
        Self(
            self.0
                .saturating_add(delta.num_microseconds().unwrap_or(i64::MAX)),
        )
    }

    pub fn is_past(self, now: Timestamp) -> bool {
        self <= now
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            &self
                .to_datetime()
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
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
    fn round_trips_rfc3339_in_utc() {
        let t = Timestamp::parse_rfc3339("2100-01-01T02:00:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2100-01-01T01:00:00Z");
        let t = Timestamp::parse_rfc3339("2023-09-05T13:40:13.364870Z").unwrap();
        assert_eq!(t.to_string(), "2023-09-05T13:40:13.364870Z");
    }

    #[test]
    fn rejects_garbage() {
        assert!(Timestamp::parse_rfc3339("tomorrow").is_none());
        assert!(Timestamp::parse_rfc3339("2100-01-01").is_none());
    }
}
