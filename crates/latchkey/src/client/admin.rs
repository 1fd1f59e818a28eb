//! Admin commands: `latchkey account …` and `latchkey client …`, over the
//! Account and Client APIs. The server decides who is an admin; anyone
//! else gets its 404 (exit 4) or 403 (exit 3).

use super::api::Api;
use super::error::CliError;
use super::output;
use super::{AccountsCommand, ClientsCommand};
use serde_json::{json, Value};

pub async fn accounts(api: &Api, as_json: bool, command: &AccountsCommand) -> Result<(), CliError> {
    let shown = match command {
        AccountsCommand::List { email } => {
            let path = match email {
                Some(email) => format!("/v1/accounts?email={}", urlencode(email)),
                None => "/v1/accounts".to_owned(),
            };
            let found = api.get(&path).await?;
            if !as_json {
                let rows = rows(&found["values"], &["id", "name", "email", "planId"]);
                output::table(&["ID", "NAME", "EMAIL", "PLAN"], &rows);
                return Ok(());
            }
            found
        }
        AccountsCommand::Show { id } => api.get(&format!("/v1/accounts/{}", id_of(id)?)).await?,
        AccountsCommand::Create { name, email } => {
            api.post("/v1/accounts", json!({"name": name, "email": email}))
                .await?
        }
        AccountsCommand::Delete { id } => {
            api.delete(&format!("/v1/accounts/{}", id_of(id)?)).await?;
            return done(as_json, &format!("Deleted account {id} and its tokens."));
        }
        AccountsCommand::SetRole { id, role } => {
            api.put(
                &format!("/v1/accounts/{}/role", id_of(id)?),
                json!({"role": role}),
            )
            .await?;
            return done(as_json, &format!("Account {id} is now {role}."));
        }
    };
    match as_json {
        true => output::json(&shown),
        false => output::record(&shown, &["id", "name", "email", "planId"]),
    }
    Ok(())
}

pub async fn clients(api: &Api, as_json: bool, command: &ClientsCommand) -> Result<(), CliError> {
    const FIELDS: [&str; 6] = [
        "clientId",
        "name",
        "public",
        "redirectUris",
        "scopes",
        "grantTypes",
    ];
    let shown = match command {
        ClientsCommand::List => {
            let found = api.get("/v1/oauth/clients").await?;
            if !as_json {
                let rows = rows(
                    &found["values"],
                    &["clientId", "name", "public", "redirectUris"],
                );
                output::table(&["CLIENT ID", "NAME", "PUBLIC", "REDIRECT URIS"], &rows);
                return Ok(());
            }
            found
        }
        ClientsCommand::Show { id } => {
            api.get(&format!("/v1/oauth/clients/{}", id_of(id)?))
                .await?
        }
        ClientsCommand::Create(fields) => api.post("/v1/oauth/clients", fields.body()).await?,
        ClientsCommand::Update { id, fields } => {
            api.put(&format!("/v1/oauth/clients/{}", id_of(id)?), fields.body())
                .await?
        }
        ClientsCommand::Delete { id } => {
            api.delete(&format!("/v1/oauth/clients/{}", id_of(id)?))
                .await?;
            return done(
                as_json,
                &format!("Deleted client {id}; everything issued to it stopped working."),
            );
        }
        ClientsCommand::RotateSecret { id } => {
            api.post(
                &format!("/v1/oauth/clients/{}/secret", id_of(id)?),
                json!({}),
            )
            .await?
        }
    };
    if as_json {
        output::json(&shown);
        return Ok(());
    }
    output::record(&shown, &FIELDS);
    if let Some(secret) = shown["clientSecret"].as_str() {
        println!("Client secret, shown this once: {secret}");
    }
    Ok(())
}

fn rows(values: &Value, fields: &[&str]) -> Vec<Vec<String>> {
    values
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| fields.iter().map(|f| output::text(v, f)).collect())
        .collect()
}

fn done(as_json: bool, message: &str) -> Result<(), CliError> {
    match as_json {
        true => output::json(&json!({})),
        false => println!("{message}"),
    }
    Ok(())
}

/// Ids are UUIDs: anything else is a usage error here, not a server trip.
fn id_of(id: &str) -> Result<&str, CliError> {
    match uuid::Uuid::parse_str(id) {
        Ok(_) => Ok(id),
        Err(_) => Err(CliError::Usage(format!("{id:?} is not an id"))),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
