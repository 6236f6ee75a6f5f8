//! Business rules the storage steps apply inside their transactions: written once, as plain
//! functions, so both engines decide alike and a unit test can pin each one down. (The
//! counters' window arithmetic is `throttle::counts_from`.)

use crate::model::Role;

/// An account as the last-admin rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountState {
    pub id: i64,
    pub role: Role,
    pub locked: bool,
}

/// Whether taking `account` out of the administrators (locking, demoting or removing it) would
/// leave none who can still log in, with `active_admins` of them now.
pub fn is_last_active_admin(account: &AccountState, active_admins: i64) -> bool {
    account.role == Role::Admin && !account.locked && active_admins <= 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_active_admin_can_be_the_last_one() {
        let admin = AccountState {
            id: 1,
            role: Role::Admin,
            locked: false,
        };
        assert!(is_last_active_admin(&admin, 1));
        assert!(!is_last_active_admin(&admin, 2));
        let locked = AccountState {
            locked: true,
            ..admin
        };
        assert!(!is_last_active_admin(&locked, 1));
        let user = AccountState {
            role: Role::User,
            ..admin
        };
        assert!(!is_last_active_admin(&user, 1));
    }
}
