//! The fake answers the way GitHub documents, quirks included.

use fake_github::{FakeGithub, FakeUser};

async fn fake() -> FakeGithub {
    let fake = FakeGithub::start("cid", "csecret").await.unwrap();
    let mut user = FakeUser::new(1, "many").public_email("many@example.com");
    for i in 0..150 {
        user = user.with_email(&format!("alias{i}@example.com"), false, true);
    }
    fake.add_user(user);
    fake
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn oauth_answers_follow_accept_and_errors_are_http_200() {
    let fake = fake().await;
    let url = format!("{}/login/oauth/access_token", fake.url());
    let form = [
        ("client_id", "cid"),
        ("client_secret", "wrong"),
        ("code", "x"),
    ];
    let plain = client().post(&url).form(&form).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/x-www-form-urlencoded"));
    assert!(plain
        .text()
        .await
        .unwrap()
        .starts_with("error=incorrect_client_credentials&"));

    let json: serde_json::Value = client()
        .post(&url)
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["error"], "incorrect_client_credentials");
    assert!(json["error_uri"].is_string());
}

#[tokio::test]
async fn device_flow_shapes_and_slow_down() {
    let fake = fake().await;
    fake.script(|s| {
        s.device_interval = 5;
        s.device_pending_polls = 5;
    });
    let start: serde_json::Value = client()
        .post(format!("{}/login/device/code", fake.url()))
        .header("accept", "application/json")
        .form(&[("client_id", "cid"), ("scope", "user:email")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(start["device_code"].as_str().unwrap().len(), 40);
    assert_eq!(start["user_code"].as_str().unwrap().len(), 9);
    assert_eq!(
        start["verification_uri"],
        format!("{}/login/device", fake.url())
    );
    assert_eq!(start["expires_in"], 900);
    assert_eq!(start["interval"], 5);
    let poll = || {
        client()
            .post(format!("{}/login/oauth/access_token", fake.url()))
            .header("accept", "application/json")
            .form(&[
                ("client_id", "cid"),
                ("device_code", start["device_code"].as_str().unwrap()),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ])
            .send()
    };
    let first: serde_json::Value = poll().await.unwrap().json().await.unwrap();
    assert_eq!(first["error"], "authorization_pending");
    // Polling faster than the interval earns slow_down and five more seconds.
    let second: serde_json::Value = poll().await.unwrap().json().await.unwrap();
    assert_eq!(second["error"], "slow_down");
    assert_eq!(second["interval"], 10);
}

#[tokio::test]
async fn rest_needs_a_user_agent_and_paginates_emails() {
    let fake = fake().await;
    let token = fake.token_for("many");
    let bare = reqwest::Client::builder().build().unwrap();
    let refused = bare
        .get(format!("{}/user", fake.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let c = reqwest::Client::builder().user_agent("t").build().unwrap();
    let bad = c
        .get(format!("{}/user", fake.url()))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["message"], "Bad credentials");

    let page = c
        .get(format!("{}/user/emails?per_page=100", fake.url()))
        .header("authorization", format!("token {token}"))
        .send()
        .await
        .unwrap();
    assert!(page.headers().contains_key("x-ratelimit-remaining"));
    let link = page.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
    let emails: Vec<serde_json::Value> = page.json().await.unwrap();
    assert_eq!(emails.len(), 100);
}

#[tokio::test]
async fn token_check_needs_the_apps_basic_auth() {
    let fake = fake().await;
    let ours = fake.token_for("many");
    let theirs = fake.token_for_app("many", "other");
    let check = |token: String, secret: &'static str| {
        client()
            .post(format!("{}/applications/cid/token", fake.url()))
            .basic_auth("cid", Some(secret))
            .json(&serde_json::json!({ "access_token": token }))
            .send()
    };
    assert_eq!(check(ours.clone(), "csecret").await.unwrap().status(), 200);
    assert_eq!(check(theirs, "csecret").await.unwrap().status(), 404);
    assert_eq!(check(ours, "wrong").await.unwrap().status(), 404);
}
