//! `fake-github`: the fake on a fixed loopback port, with demo users, for
//! trying Latchkey's login flows by hand.

use clap::Parser;
use fake_github::{demo_users, FakeGithub};
use std::net::SocketAddr;

#[derive(Parser)]
#[command(about = "A fake GitHub (OAuth + REST) for local testing")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:9882")]
    listen: SocketAddr,
    #[arg(long, default_value = "dev-client-id")]
    client_id: String,
    #[arg(long, default_value = "dev-client-secret")]
    client_secret: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if !args.listen.ip().is_loopback() {
        eprintln!("fake-github only binds loopback addresses");
        std::process::exit(2);
    }
    let fake = FakeGithub::start_on(args.listen, &args.client_id, &args.client_secret).await?;
    for user in demo_users() {
        fake.add_user(user);
    }
    fake.keep_calls(0);
    fake.script(|s| s.authorize_as = Some("octocat".to_owned()));
    eprintln!(
        "fake GitHub on {} (client id {})",
        fake.url(),
        args.client_id
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
