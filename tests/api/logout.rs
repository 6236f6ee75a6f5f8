//! `POST /api/logout`.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn logout_revokes_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    let (_, token) = app.login_user().await;

    let response = app.logout(&token).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(clears_cookie(&response));
    assert!(response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_none());
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(app.refresh(&token).await.status(), StatusCode::UNAUTHORIZED);
    let reason: String = sqlx::query_scalar("SELECT revoked_reason FROM sessions")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(reason, "logout");
}

#[tokio::test]
async fn logout_revokes_every_rotation_of_the_session() {
    let app = spawn_app().await;
    let (_, first) = app.login_user().await;
    let second = refresh_cookie(&app.refresh(&first).await).unwrap();

    // Logging out with the older cookie (another tab that has not seen the rotation yet).
    assert_eq!(app.logout(&first).await.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        app.refresh(&second).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_is_idempotent() {
    let app = spawn_app().await;
    let (_, token) = app.login_user().await;

    let first = app.logout(&token).await;
    let second = app.logout(&token).await;
    let without_cookie = app
        .post_json("/api/logout", &serde_json::json!({}), None)
        .await;

    for response in [first, second, without_cookie] {
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(clears_cookie(&response));
    }
    let logouts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM auth_events WHERE kind = 'logout'")
        .fetch_one(app.db())
        .await
        .unwrap();
    assert_eq!(logouts, 1, "only the first logout ended a session");
}
