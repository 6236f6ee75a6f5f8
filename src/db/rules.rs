//! Pure rules the storage steps apply inside their transactions: written once, as plain
//! functions, so both engines decide alike and a unit test can pin each one down.

use super::throttle::{Counter, LoginCounts, ThrottleScope, ThrottleWindows};
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

/// How long a counter of `scope` counts.
pub fn window_of(scope: ThrottleScope, windows: ThrottleWindows) -> i64 {
    match scope {
        ThrottleScope::User => windows.user_secs,
        ThrottleScope::UserAddress | ThrottleScope::Address => windows.address_secs,
    }
}

/// The counters of a login attempt from the rows found, as of `now`: a counter whose window has
/// passed counts as zero.
pub fn counts_from(
    rows: Vec<(ThrottleScope, i64, i64)>,
    windows: ThrottleWindows,
    now: i64,
) -> LoginCounts {
    let mut counts = LoginCounts::default();
    for (scope, failures, window_start) in rows {
        if now - window_start >= window_of(scope, windows) {
            continue;
        }
        let counter = Counter {
            failures,
            window_start,
        };
        match scope {
            ThrottleScope::UserAddress => counts.user_ip = counter,
            ThrottleScope::Address => counts.ip = counter,
            ThrottleScope::User => counts.user = counter,
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOWS: ThrottleWindows = ThrottleWindows {
        address_secs: 900,
        user_secs: 3600,
    };

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

    #[test]
    fn counters_past_their_window_count_as_zero() {
        let rows = vec![
            (ThrottleScope::UserAddress, 3, 1_000),
            (ThrottleScope::Address, 7, 100),
            (ThrottleScope::User, 9, 100),
        ];
        let counts = counts_from(rows, WINDOWS, 1_500);
        assert_eq!(counts.user_ip.failures, 3);
        // 1,400 s old: past the address window, inside the hour of the username ceiling.
        assert_eq!(counts.ip, Counter::default());
        assert_eq!(counts.user.failures, 9);
    }
}
