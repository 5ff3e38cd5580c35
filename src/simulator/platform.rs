//! The simulator's third-party platform (第三方平台): the ticket, component
//! tokens (7,200 s; the previous one keeps working 5 minutes after a new
//! one is issued), authorized apps of both kinds with their permission
//! sets and refresh tokens, authorizer tokens (accepted by the datacube
//! endpoints), the authorizer list in pages of at most 500, authorizer
//! info, and the errors of the flow: 61003, 61004, 61005, 61006, 61007,
//! 61023, 40001/42001 on a component token.

use super::hash::mix;
use super::tokens::Tokens;
use super::types::{RecordedRequest, SimApp};
use crate::api::AppKind;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

pub const PREFIX: &str = "/cgi-bin/component/";
pub const DEMO_COMPONENT_APPID: &str = "wx0c0a1b2c3d4e5f60";
pub const DEMO_COMPONENT_SECRET: &str = "demo-component-secret-7d1f0e9a2b";
const COMPONENT_TTL_SECS: i64 = 7200;
const OVERLAP_SECS: i64 = 300;
const TICKET_LIFE_HOURS: i64 = 12;

/// One app that authorized the platform.
#[derive(Clone, Debug)]
pub struct Authorized {
    pub appid: String,
    pub nick_name: String,
    pub kind: AppKind,
    /// Granted permission sets: analytics is 18 (or 21) for a Mini
    /// Program, 2 for an Official Account.
    pub permissions: Vec<i64>,
}

impl Authorized {
    pub fn has_analytics(&self) -> bool {
        let needed: &[i64] = match self.kind {
            AppKind::Miniprogram => &[18, 21],
            AppKind::OfficialAccount => &[2],
        };
        self.permissions.iter().any(|p| needed.contains(p))
    }
}

/// `n` generated authorized apps (`simulate --authorized N`): app `i` has
/// appid `wx` + `00a0700000000000 + i` in hex, is a Mini Program when `i` is
/// even (named `shop-0000`…) and an Official Account when odd
/// (`news-0001`…); every tenth (`i % 10 == 9`) lacks the analytics
/// permission set; Mini Programs with `i % 7 == 3` carry the older set 21.
pub fn authorized_apps(n: usize) -> Vec<Authorized> {
    (0..n)
        .map(|i| {
            let mp = i % 2 == 0;
            let analytics = i % 10 != 9;
            let mut permissions = if mp { vec![17, 19] } else { vec![1, 7] };
            if analytics {
                permissions.push(match (mp, i % 7 == 3) {
                    (true, true) => 21,
                    (true, false) => 18,
                    (false, _) => 2,
                });
            }
            Authorized {
                appid: authorized_appid(i),
                nick_name: format!("{}-{i:04}", if mp { "shop" } else { "news" }),
                kind: if mp {
                    AppKind::Miniprogram
                } else {
                    AppKind::OfficialAccount
                },
                permissions,
            }
        })
        .collect()
}

pub fn authorized_appid(i: usize) -> String {
    format!("wx{:016x}", 0x00a0_7000_0000_0000u64 + i as u64)
}

struct Auth {
    app: Authorized,
    refresh_token: String,
    auth_time: i64,
}

/// The platform's state inside the simulator's `State`.
pub(crate) struct SimPlatform {
    appid: String,
    secret: String,
    ticket: String,
    ticket_at: DateTime<Utc>,
    /// component token → (expires at, dead after: set when superseded).
    component_tokens: HashMap<String, (DateTime<Utc>, Option<DateTime<Utc>>)>,
    current: Option<String>,
    authorized: BTreeMap<String, Auth>,
    /// Tokens issued by `api_authorizer_token`.
    authorizer_tokens: HashSet<String>,
    pub ip_blocked: bool,
    /// Every authorizer-token call hands out a new refresh token and the
    /// old one stops working.
    pub rotate_refresh_tokens: bool,
    /// Answers `authorizer_refresh_token` and the list's `refresh_token`
    /// as `""`, as developers report real answers do at times
    /// (docs/wechat-quirks.md); the tokens stay valid.
    pub blank_refresh_tokens: bool,
    counter: u64,
    seed: u64,
}

impl SimPlatform {
    pub fn new(seed: u64, appid: &str, secret: &str, now: DateTime<Utc>) -> Self {
        let mut p = Self {
            appid: appid.into(),
            secret: secret.into(),
            ticket: String::new(),
            ticket_at: now,
            component_tokens: HashMap::new(),
            current: None,
            authorized: BTreeMap::new(),
            authorizer_tokens: HashSet::new(),
            ip_blocked: false,
            rotate_refresh_tokens: false,
            blank_refresh_tokens: false,
            counter: 0,
            seed,
        };
        p.push_ticket(now);
        p
    }

    fn mint(&mut self, prefix: &str) -> String {
        self.counter += 1;
        let h = mix(&[self.seed, 0xC0C0, self.counter]);
        format!("{prefix}{:016x}{:016x}", h, mix(&[h, 7]))
    }

    /// What WeChat's push does every 10 minutes: a new ticket.
    pub fn push_ticket(&mut self, now: DateTime<Utc>) -> String {
        self.ticket = self.mint("ticket@@@");
        self.ticket_at = now;
        self.ticket.clone()
    }

    pub fn ticket(&self) -> String {
        self.ticket.clone()
    }

    /// The current ticket ages past its 12 hours.
    pub fn expire_ticket(&mut self) {
        self.ticket_at -= Duration::hours(TICKET_LIFE_HOURS + 1);
    }

    pub fn authorize(&mut self, app: Authorized, now: DateTime<Utc>) -> String {
        let rt = self.mint("refreshtoken@@@");
        self.authorized.insert(
            app.appid.clone(),
            Auth {
                app,
                refresh_token: rt.clone(),
                auth_time: now.timestamp(),
            },
        );
        rt
    }

    pub fn revoke(&mut self, appid: &str) -> bool {
        self.authorized.remove(appid).is_some()
    }

    /// The app's refresh token is replaced; the old one answers 61023.
    pub fn replace_refresh_token(&mut self, appid: &str) -> Option<String> {
        let rt = self.mint("refreshtoken@@@");
        let a = self.authorized.get_mut(appid)?;
        a.refresh_token = rt.clone();
        Some(rt)
    }

    pub fn refresh_token(&self, appid: &str) -> Option<String> {
        self.authorized.get(appid).map(|a| a.refresh_token.clone())
    }

    pub fn authorized(&self) -> Vec<Authorized> {
        self.authorized.values().map(|a| a.app.clone()).collect()
    }

    /// 61007 for an authorizer token of an app without the analytics set.
    pub fn data_denied(&self, appid: &str, token: &str) -> Option<i64> {
        if !self.authorizer_tokens.contains(token) {
            return None;
        }
        match self.authorized.get(appid) {
            Some(a) if a.app.has_analytics() => None,
            Some(_) => Some(61007),
            // De-authorized: its tokens were revoked already.
            None => Some(40001),
        }
    }

    fn check_component_token(
        &self,
        query: &HashMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<(), i64> {
        let t = query
            .get("component_access_token")
            .or_else(|| query.get("access_token"))
            .filter(|t| !t.is_empty())
            .ok_or(41001)?;
        let (expires, dead_after) = self.component_tokens.get(t).ok_or(40001)?;
        if dead_after.is_some_and(|d| now >= d) {
            return Err(40001);
        }
        if now >= *expires {
            return Err(42001);
        }
        Ok(())
    }
}

fn field<'a>(json: Option<&'a Value>, k: &str) -> Option<&'a str> {
    json?.get(k)?.as_str().filter(|s| !s.is_empty())
}

/// One `/cgi-bin/component/…` request, decided under the simulator's lock:
/// the checks every call shares, then one method per call.
pub(crate) fn handle(
    platform: Option<&mut SimPlatform>,
    tokens: &mut Tokens,
    now: DateTime<Utc>,
    path: &str,
    query: &HashMap<String, String>,
    json: Option<&Value>,
    rec: &mut RecordedRequest,
) -> Result<Value, i64> {
    let name = path.trim_start_matches(PREFIX);
    rec.token_kind = Some(name.trim_start_matches("api_").to_string());
    rec.appid = field(json, "authorizer_appid").map(str::to_string);
    let Some(p) = platform else {
        return Err(404);
    };
    if p.ip_blocked {
        return Err(61004);
    }
    if field(json, "component_appid") != Some(p.appid.as_str()) {
        return Err(if name == "api_component_token" {
            40013
        } else {
            61003
        });
    }
    match name {
        "api_component_token" => p.component_token(json, now),
        "api_authorizer_token" => {
            p.check_component_token(query, now)?;
            p.authorizer_token(tokens, json, now)
        }
        "api_get_authorizer_list" => {
            p.check_component_token(query, now)?;
            p.authorizer_list(json)
        }
        "api_get_authorizer_info" => {
            p.check_component_token(query, now)?;
            p.authorizer_info(json)
        }
        _ => Err(404),
    }
}

/// The component calls, each after `handle`'s shared checks and (all but
/// the first) a valid component token.
impl SimPlatform {
    /// `api_component_token`: a new component token; the previous one
    /// keeps working for `OVERLAP_SECS`.
    fn component_token(&mut self, json: Option<&Value>, now: DateTime<Utc>) -> Result<Value, i64> {
        if field(json, "component_appsecret") != Some(self.secret.as_str()) {
            return Err(40125);
        }
        let ticket = field(json, "component_verify_ticket").ok_or(61006)?;
        if ticket != self.ticket {
            return Err(61006);
        }
        if now - self.ticket_at >= Duration::hours(TICKET_LIFE_HOURS) {
            return Err(61005);
        }
        let tok = self.mint("componenttoken_");
        if let Some(prev) = self.current.take() {
            if let Some(info) = self.component_tokens.get_mut(&prev) {
                info.1 = Some(now + Duration::seconds(OVERLAP_SECS));
            }
        }
        self.component_tokens.insert(
            tok.clone(),
            (now + Duration::seconds(COMPONENT_TTL_SECS), None),
        );
        self.current = Some(tok.clone());
        Ok(json!({"component_access_token": tok, "expires_in": COMPONENT_TTL_SECS}))
    }

    /// `api_authorizer_token`: an authorizer token (a legacy token of the
    /// app, which the datacube endpoints accept) for a valid refresh token.
    fn authorizer_token(
        &mut self,
        tokens: &mut Tokens,
        json: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Result<Value, i64> {
        let appid = field(json, "authorizer_appid").ok_or(47001)?.to_string();
        let given = field(json, "authorizer_refresh_token").ok_or(47001)?;
        let auth = self.authorized.get(&appid).ok_or(61003)?;
        if given != auth.refresh_token {
            return Err(61023);
        }
        let refresh = if self.blank_refresh_tokens {
            String::new()
        } else if self.rotate_refresh_tokens {
            self.replace_refresh_token(&appid).unwrap_or_default()
        } else {
            given.to_string()
        };
        let (token, expires_in) = tokens.legacy(&appid, now);
        self.authorizer_tokens.insert(token.clone());
        Ok(json!({
            "authorizer_access_token": token,
            "expires_in": expires_in,
            "authorizer_refresh_token": refresh,
        }))
    }

    /// `api_get_authorizer_list`: a page of at most 500 authorized apps.
    fn authorizer_list(&self, json: Option<&Value>) -> Result<Value, i64> {
        let offset = json
            .and_then(|j| j.get("offset"))
            .and_then(Value::as_u64)
            .ok_or(47001)? as usize;
        let count = json
            .and_then(|j| j.get("count"))
            .and_then(Value::as_u64)
            .ok_or(47001)? as usize;
        if count == 0 || count > 500 {
            return Err(47001);
        }
        let blank = self.blank_refresh_tokens;
        let list: Vec<Value> = self
            .authorized
            .values()
            .skip(offset)
            .take(count)
            .map(|a| {
                json!({
                    "authorizer_appid": a.app.appid,
                    "refresh_token": if blank { "" } else { a.refresh_token.as_str() },
                    "auth_time": a.auth_time,
                })
            })
            .collect();
        Ok(json!({"total_count": self.authorized.len(), "list": list}))
    }

    /// `api_get_authorizer_info`: an authorized app's profile and its
    /// permission sets.
    fn authorizer_info(&self, json: Option<&Value>) -> Result<Value, i64> {
        let appid = field(json, "authorizer_appid").ok_or(47001)?;
        let a = self.authorized.get(appid).ok_or(61003)?;
        let mut info = json!({
            "nick_name": a.app.nick_name,
            "head_img": "http://wx.qlogo.cn/mmopen/sim",
            "service_type_info": {"id": if a.app.kind == AppKind::Miniprogram { 0 } else { 2 }},
            "verify_type_info": {"id": 0},
            "user_name": format!("gh_{}", &a.app.appid[2..14]),
            "principal_name": "Simulated Co., Ltd.",
        });
        if a.app.kind == AppKind::Miniprogram {
            info["MiniProgramInfo"] = json!({"network": {}, "categories": [], "visit_status": 0});
        }
        let funcs: Vec<Value> = a
            .app
            .permissions
            .iter()
            .map(|id| json!({"funcscope_category": {"id": id}}))
            .collect();
        Ok(json!({
            "authorizer_info": info,
            "authorization_info": {
                "authorizer_appid": a.app.appid,
                "func_info": funcs,
            },
        }))
    }
}

/// A simulated app for an authorized one (no secret: only the platform
/// gets tokens for it).
pub(crate) fn sim_app(a: &Authorized) -> SimApp {
    SimApp::new(a.appid.clone(), "", a.kind)
}
