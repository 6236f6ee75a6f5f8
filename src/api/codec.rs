//! `NoContent`: a server-function output encoding for endpoints that answer `204 No Content`.
//!
//! server_fn's `Json` output would send `null` and its client would fail to decode an empty
//! body, so `POST /api/logout` uses this instead: nothing is written, nothing is read.

use http::Method;
use leptos::server_fn::{
    codec::{Encoding, FromRes, IntoRes},
    error::FromServerFnError,
    response::{ClientRes, TryRes},
    Bytes, ContentType,
};

/// Output encoding with an empty body. The status (204) is set by the endpoint.
pub struct NoContent;

impl ContentType for NoContent {
    /// What the client accepts: errors still come back as JSON.
    const CONTENT_TYPE: &'static str = "application/json";
}

impl Encoding for NoContent {
    const METHOD: Method = Method::POST;
}

impl<E, Response> IntoRes<NoContent, Response, E> for ()
where
    E: FromServerFnError + Send,
    Response: TryRes<E>,
{
    async fn into_res(self) -> Result<Response, E> {
        Response::try_from_bytes(NoContent::CONTENT_TYPE, Bytes::new())
    }
}

impl<E, Response> FromRes<NoContent, Response, E> for ()
where
    E: FromServerFnError,
    Response: ClientRes<E> + Send,
{
    async fn from_res(_res: Response) -> Result<Self, E> {
        Ok(())
    }
}
