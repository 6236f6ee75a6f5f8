//! Revocations pushed by PostgreSQL: a trigger on `session_revocations` sends `NOTIFY`, this
//! listens. The listener reconnects by itself after a lost connection and says so, so the
//! caller can read what it may have missed.

use crate::db::{DbError, FeedEvent, RevocationFeed, RevokedSession};
use sqlx::postgres::PgListener;

/// The `NOTIFY` channel of `session_revocations` inserts (see the migration's trigger).
const REVOCATION_CHANNEL: &str = "jwt_auth_revocations";

/// A `LISTEN`ing connection.
pub struct PgRevocationFeed {
    listener: PgListener,
}

/// Connects and listens.
pub async fn listen(database_url: &str) -> Result<PgRevocationFeed, DbError> {
    let mut listener = PgListener::connect(database_url).await?;
    listener.listen(REVOCATION_CHANNEL).await?;
    Ok(PgRevocationFeed { listener })
}

#[async_trait::async_trait]
impl RevocationFeed for PgRevocationFeed {
    async fn next(&mut self) -> Result<FeedEvent, DbError> {
        loop {
            match self.listener.try_recv().await? {
                // The connection was lost and is re-established on the next call.
                None => return Ok(FeedEvent::Reconnected),
                Some(notification) => {
                    // "<session id> <revoked at>", as the trigger writes it.
                    let mut parts = notification.payload().split(' ');
                    let (Some(id), Some(at)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let Ok(revoked_at) = at.parse() else { continue };
                    return Ok(FeedEvent::Revoked(RevokedSession {
                        // Pushed, not polled: its place in the table does not matter.
                        seq: 0,
                        id: id.to_owned(),
                        revoked_at,
                    }));
                }
            }
        }
    }
}
