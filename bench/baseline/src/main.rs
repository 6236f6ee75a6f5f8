//! A minimal axum 0.8 server that verifies the same HS256 access token as jwt-auth and answers
//! a random number: the baseline that `bench/all` compares `GET /api/secret-number` with.
//!
//! ```text
//! JWT_SECRET=… PUBLIC_ORIGIN=http://127.0.0.1:PORT jwt-auth-baseline 127.0.0.1:PORT
//! ```
//! Same checks as the real server's signature check: HS256 only, `exp`, `iss`, `aud`. None of
//! the rest (typ, kid, revocation set, security headers, limits, tracing, error mapping).

use axum::{extract::State, http::HeaderMap, http::StatusCode, routing::get, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize)]
struct Claims {
    #[allow(dead_code)]
    sub: String,
}

#[derive(Serialize)]
struct Answer {
    value: u32,
}

struct Keys {
    key: DecodingKey,
    validation: Validation,
}

async fn secret_number(
    State(keys): State<Arc<Keys>>,
    headers: HeaderMap,
) -> Result<Json<Answer>, StatusCode> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    jsonwebtoken::decode::<Claims>(token, &keys.key, &keys.validation)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    Ok(Json(Answer {
        value: rand::random_range(0..1_000_000),
    }))
}

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3390".into());
    let secret = std::env::var("JWT_SECRET").expect("JWT_SECRET");
    let origin = std::env::var("PUBLIC_ORIGIN").expect("PUBLIC_ORIGIN");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_issuer(&[&origin]);
    validation.set_audience(&[format!("{origin}/api")]);
    let keys = Arc::new(Keys {
        key: DecodingKey::from_secret(secret.as_bytes()).expect("HMAC key"),
        validation,
    });
    let app = Router::new()
        .route("/api/secret-number", get(secret_number))
        .with_state(keys);
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on http://{}", listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}
