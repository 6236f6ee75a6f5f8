//! Re-authentication on demand: when a call is refused with `403 reauth_required` (a sensitive
//! change, and the login is not recent), the fetch wrapper asks whoever registered a prompt
//! (the dialog of guarded pages, `components::reauth_dialog`) for the password again, and
//! retries the call once with the fresh access token it got. Without a prompt, or when the user
//! cancels, the call answers its 403 as it was.

use futures::future::LocalBoxFuture;
use std::{cell::RefCell, rc::Rc};

/// Shows the prompt; resolves to the new access token, or `None` when the user gave up.
type Prompt = Rc<dyn Fn() -> LocalBoxFuture<'static, Option<String>>>;

thread_local! {
    static PROMPT: RefCell<Option<Prompt>> = const { RefCell::new(None) };
}

/// Registers the prompt (a mounted dialog).
pub fn set_prompt(prompt: impl Fn() -> LocalBoxFuture<'static, Option<String>> + 'static) {
    PROMPT.with(|slot| *slot.borrow_mut() = Some(Rc::new(prompt)));
}

/// Unregisters it (the dialog was unmounted).
pub fn clear_prompt() {
    PROMPT.with(|slot| *slot.borrow_mut() = None);
}

/// Asks for a re-authentication: the new access token, if the user gave one.
pub async fn ask() -> Option<String> {
    let prompt = PROMPT.with(|slot| slot.borrow().clone())?;
    prompt().await
}
