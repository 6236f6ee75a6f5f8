//! One module per page: `login`, `secret_number`, `account` and `admin` (lazy routes), the
//! public pages that finish what a mail started (`signup`: sign-up and verification;
//! `recovery`: forgot and reset; lazy routes too) and `not_found` (404). The 403 page belongs
//! to the guard (`components::require_session`).

/// Makes `$route` the lazy route of the page component `$page`.
///
/// In a split build (`cargo leptos … --split`, marked `cfg(wasm_split)` by build.rs) the page's
/// code becomes a WASM chunk of its own, downloaded only when a guard lets the visitor in. Any
/// other build keeps it in the main bundle: still chosen only after the guard, but without the
/// wasm-split import that only the split tool can resolve.
macro_rules! lazy_page {
    // A public page: lazy too, but no guard and no site navigation.
    (public $route:ident => $page:ident) => {
        #[cfg(wasm_split)]
        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> leptos::prelude::AnyView {
                let _ = this;
                leptos::prelude::IntoAny::into_any(leptos::prelude::view! { <$page/> })
            }
        }

        #[cfg(not(wasm_split))]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(this: Self) -> leptos::prelude::AnyView {
                let _ = this;
                leptos::prelude::IntoAny::into_any(leptos::prelude::view! { <$page/> })
            }
        }
    };
    ($route:ident => $page:ident) => {
        #[cfg(wasm_split)]
        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> leptos::prelude::AnyView {
                let _ = this;
                use $crate::components::require_session::Guarded;
                leptos::prelude::IntoAny::into_any(
                    leptos::prelude::view! { <Guarded><$page/></Guarded> },
                )
            }
        }

        #[cfg(not(wasm_split))]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(this: Self) -> leptos::prelude::AnyView {
                let _ = this;
                use $crate::components::require_session::Guarded;
                leptos::prelude::IntoAny::into_any(
                    leptos::prelude::view! { <Guarded><$page/></Guarded> },
                )
            }
        }
    };
}

pub mod account;
pub mod admin;
pub mod login;
pub mod not_found;
pub mod recovery;
pub mod secret_number;
pub mod signup;
