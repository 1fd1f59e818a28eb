//! `latchkey token list|create|delete`: the signed-in account's API tokens.

use super::api::Api;
use super::error::CliError;
use super::output;
use super::TokensCommand;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

pub async fn run(api: &Api, as_json: bool, command: &TokensCommand) -> Result<(), CliError> {
    let me = api.get("/v1/login/token").await?;
    let tokens = format!("/v1/accounts/{}/tokens", output::text(&me, "accountId"));
    match command {
        TokensCommand::List => {
            let list = api.get(&tokens).await?;
            if as_json {
                output::json(&list);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    let mut id = output::text(t, "id");
                    if t["id"] == me["id"] {
                        id.push_str(" (this one)");
                    }
                    ["name", "scopes", "createdAt", "expiresAt"].iter().fold(
                        vec![id],
                        |mut row, f| {
                            row.push(output::text(t, f));
                            row
                        },
                    )
                })
                .collect();
            output::table(&["ID", "NAME", "SCOPES", "CREATED", "EXPIRES"], &rows);
        }
        TokensCommand::Create { expires, name } => {
            let expires_at = expiry(expires, Utc::now())?;
            let mut body = json!({"expiresAt": expires_at});
            if let Some(name) = name {
                body["name"] = Value::String(name.clone());
            }
            let created = api.post(&tokens, body).await?;
            match as_json {
                true => output::json(&created),
                false => {
                    println!(
                        "Created token {} (expires {}).",
                        output::text(&created["data"], "id"),
                        output::text(&created["data"], "expiresAt")
                    );
                    println!(
                        "Secret, shown this once: {}",
                        output::text(&created["secret"], "value")
                    );
                }
            }
        }
        TokensCommand::Delete { id } => {
            if uuid::Uuid::parse_str(id).is_err() {
                return Err(CliError::Usage(format!("{id:?} is not a token id")));
            }
            api.delete(&format!("{tokens}/{id}")).await?;
            match as_json {
                true => output::json(&json!({})),
                false => println!("Deleted token {id}."),
            }
        }
    }
    Ok(())
}

/// `30d`, `12h`, `90m` from now, or an RFC 3339 instant, as RFC 3339.
fn expiry(text: &str, now: DateTime<Utc>) -> Result<String, CliError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc).to_rfc3339());
    }
    let bad = || {
        CliError::Usage(format!(
            "--expires takes a lifetime such as 30d, 12h or 90m, or an RFC 3339 time; not {text:?}"
        ))
    };
    let Some((split, _)) = text.char_indices().last() else {
        return Err(bad());
    };
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let delta = match unit {
        "d" => TimeDelta::try_days(n),
        "h" => TimeDelta::try_hours(n),
        "m" => TimeDelta::try_minutes(n),
        _ => None,
    }
    .filter(|d| *d > TimeDelta::zero())
    .ok_or_else(bad)?;
    now.checked_add_signed(delta)
        .map(|at| at.to_rfc3339())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_lifetimes_or_instants() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(expiry("30d", now).unwrap(), "2026-01-31T00:00:00+00:00");
        assert_eq!(expiry("12h", now).unwrap(), "2026-01-01T12:00:00+00:00");
        assert_eq!(expiry("90m", now).unwrap(), "2026-01-01T01:30:00+00:00");
        assert_eq!(
            expiry("2027-01-01T00:00:00Z", now).unwrap(),
            "2027-01-01T00:00:00+00:00"
        );
        for bad in [
            "",
            "d",
            "0d",
            "-1d",
            "30x",
            "30",
            "30é",
            "9999999999999d",
            "tomorrow",
        ] {
            assert!(matches!(expiry(bad, now), Err(CliError::Usage(_))), "{bad}");
        }
    }
}
