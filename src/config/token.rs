//! `token:` of an app: where its access token comes from.

use serde::Deserialize;
use std::path::PathBuf;

/// How an app gets its token, as written in the config.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "source", deny_unknown_fields)]
pub enum TokenSourceConfig {
    #[default]
    Stable,
    Legacy,
    File {
        path: PathBuf,
    },
    /// A company token service: GET `url` (with `Authorization: Bearer`
    /// from `bearer_token_file` when given), JSON `access_token` and
    /// `expires_in`; cached like `stable`.
    Url {
        url: String,
        #[serde(default)]
        bearer_token_file: Option<PathBuf>,
    },
    /// An app authorized to a third-party platform (`platform:`): its
    /// `authorizer_access_token` from the platform's component token and
    /// the app's refresh token (this file, else what discovery found).
    Authorizer {
        #[serde(default)]
        refresh_token_file: Option<PathBuf>,
    },
}
