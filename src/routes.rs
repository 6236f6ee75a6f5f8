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
//! | `/signup`               | –              | (sign-up, or an invitation's link: `?invite=`)    |
//! | `/verify-email`         | –              | (a verification link: `?token=`)                  |
//! | `/forgot-password`      | –              | (asks for a reset link)                           |
//! | `/reset-password`       | –              | (a reset link: `?token=`)                         |

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
/// Opening an account (and where an invitation's link points).
pub const SIGNUP: &str = "/signup";
/// Where a verification link points.
pub const VERIFY_EMAIL: &str = "/verify-email";
/// Asking for a reset link.
pub const FORGOT_PASSWORD: &str = "/forgot-password";
/// Where a reset link points.
pub const RESET_PASSWORD: &str = "/reset-password";
/// Where a logged-in visitor of `/` or `/login` is sent.
pub const HOME: &str = SECRET;
