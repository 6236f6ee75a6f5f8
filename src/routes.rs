//! Every page path, in one place that depends on nothing: the router, the guards, the session
//! bookkeeping and the server all name pages through these constants.
//!
//! | path                    | who may see it | otherwise                                         |
//! |-------------------------|----------------|---------------------------------------------------|
//! | `/`                     | –              | redirects to one of the two below                 |
//! | `/login`                | logged out     | → `/secret-random-number`                         |
//! | `/secret-random-number` | logged in      | → `/login` (code not loaded)                      |
//! | `/account`              | logged in      | → `/login` (code not loaded)                      |
//! | `/admin`                | role `admin`   | → `/login`; a `user` gets a 403 page (code not loaded) |

/// The start page: redirects to [`LOGIN`] or [`HOME`].
pub const ROOT: &str = "/";
/// The login page.
pub const LOGIN: &str = "/login";
/// The protected page that shows the secret number.
pub const SECRET: &str = "/secret-random-number";
/// The user's sessions and password.
pub const ACCOUNT: &str = "/account";
/// Accounts and the audit log, for administrators.
pub const ADMIN: &str = "/admin";
/// Where a logged-in visitor of `/` or `/login` is sent.
pub const HOME: &str = SECRET;
