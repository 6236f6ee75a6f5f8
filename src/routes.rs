//! Every page path, in one place that depends on nothing: the router, the guards, the session
//! bookkeeping and the server all name pages through these constants.
//!
//! | path                    | who may see it | otherwise                     |
//! |-------------------------|----------------|-------------------------------|
//! | `/`                     | –              | redirects to one of the two   |
//! | `/login`                | logged out     | → `/secret-random-number`     |
//! | `/secret-random-number` | logged in      | → `/login` (code not loaded)  |

/// The start page: redirects to [`LOGIN`] or [`HOME`].
pub const ROOT: &str = "/";
/// The login page.
pub const LOGIN: &str = "/login";
/// The protected page that shows the secret number.
pub const SECRET: &str = "/secret-random-number";
/// Where a logged-in visitor of `/` or `/login` is sent.
pub const HOME: &str = SECRET;
