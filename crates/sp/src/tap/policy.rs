//! The policy guard: where and for what PIN-less tap use is allowed (shared/spec/50-scenarios.md
//! §3, seed 000 「かざし利用」).
//!
//! | condition (seed 000) | here |
//! |---|---|
//! | 対面等の環境: face to face, or 管理され監視された施設内や区域内, or 利用者に貸し出され管理される端末 | [`Environment::Counter`], [`Environment::MonitoredFacility`], [`Environment::LentDevice`] |
//! | オンラインや屋外は不可 | [`Environment::Online`], [`Environment::Outdoors`]: refused |
//! | 必要な認証強度が低い場面: 保証レベル１ in the risk assessment of the online-procedure guideline | [`AssuranceLevel::Level1`] only |
//!
//! A terminal must be registered with its environment, a service with its assurance level; the
//! guard answers a [`TapPermit`] (which only it makes, and which the flows of
//! [`crate::tap::TapService`] require) or a [`Refusal`] saying exactly why not.

use core::fmt;
use std::collections::BTreeMap;

/// Longest terminal or service id.
pub const MAX_ID_LEN: usize = 64;

/// A wire id was refused: empty, longer than [`MAX_ID_LEN`], or not `[A-Za-z0-9._-]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be 1-64 characters of A-Z a-z 0-9 . _ -")]
#[non_exhaustive]
pub struct BadId {
    /// Which id.
    pub what: &'static str,
}

fn check_id(s: &str, what: &'static str) -> Result<String, BadId> {
    if s.is_empty() || s.len() > MAX_ID_LEN || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Err(BadId { what });
    }
    Ok(s.to_owned())
}

/// A managed reception terminal (受付端末) of the service provider, by its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct TerminalId(String);

impl TerminalId {
    /// Parses an id of 1–64 characters `[A-Za-z0-9._-]`.
    pub fn parse(s: &str) -> Result<TerminalId, BadId> {
        check_id(s, "terminal id").map(TerminalId)
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TerminalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A service of the provider (a library's lending, a gym's entry …), by its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ServiceId(String);

impl ServiceId {
    /// Parses an id of 1–64 characters `[A-Za-z0-9._-]`.
    pub fn parse(s: &str) -> Result<ServiceId, BadId> {
        check_id(s, "service id").map(ServiceId)
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a terminal is used (seed 000: 「対面の環境のほか、管理され監視された施設内や区域内の環境、
/// 利用者に貸し出され管理される端末の環境。オンラインや屋外は不可。」).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Environment {
    /// 対面: a staffed counter, the holder in front of the staff.
    Counter,
    /// 管理され監視された施設内や区域内: a self-service terminal inside a managed, monitored facility.
    MonitoredFacility,
    /// 利用者に貸し出され管理される端末: a managed device lent to the holder.
    LentDevice,
    /// Online (the holder's own device, a web page): never PIN-less.
    Online,
    /// Outdoors (outside any managed facility): never PIN-less.
    Outdoors,
}

impl Environment {
    /// The wire name (`counter`, `monitored-facility`, `lent-device`, `online`, `outdoors`).
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Counter => "counter",
            Environment::MonitoredFacility => "monitored-facility",
            Environment::LentDevice => "lent-device",
            Environment::Online => "online",
            Environment::Outdoors => "outdoors",
        }
    }
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Environment> {
        [
            Environment::Counter,
            Environment::MonitoredFacility,
            Environment::LentDevice,
            Environment::Online,
            Environment::Outdoors,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
    }
    /// Whether the law allows PIN-less tap use here: the three managed environments.
    fn allows_tap(self) -> bool {
        match self {
            Environment::Counter | Environment::MonitoredFacility | Environment::LentDevice => true,
            Environment::Online | Environment::Outdoors => false,
        }
    }
}

/// The assurance level a service's risk assessment gave it (「オンラインにおける行政手続の本人確認の
/// 手法に関するガイドライン」: 保証レベル 1–3). Tap use is for level 1 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum AssuranceLevel {
    /// 保証レベル１: a low-risk service (library lending, entry to a members' facility …).
    Level1,
    /// 保証レベル２.
    Level2,
    /// 保証レベル３.
    Level3,
}

impl AssuranceLevel {
    /// From the number 1–3.
    pub fn from_number(n: u8) -> Option<AssuranceLevel> {
        match n {
            1 => Some(AssuranceLevel::Level1),
            2 => Some(AssuranceLevel::Level2),
            3 => Some(AssuranceLevel::Level3),
            _ => None,
        }
    }
    /// The number 1–3.
    pub fn number(self) -> u8 {
        match self {
            AssuranceLevel::Level1 => 1,
            AssuranceLevel::Level2 => 2,
            AssuranceLevel::Level3 => 3,
        }
    }
}

/// Why the guard refused tap use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The terminal is not in the registry of managed terminals.
    #[error("terminal {terminal} is not a registered managed terminal")]
    UnregisteredTerminal {
        /// The terminal.
        terminal: TerminalId,
    },
    /// The terminal is registered, but where it is used allows no tap use.
    #[error("terminal {terminal} is {}: tap use is only face to face, in a monitored facility or on a lent managed device, never online or outdoors", .environment.as_str())]
    Environment {
        /// The terminal.
        terminal: TerminalId,
        /// Its environment.
        environment: Environment,
    },
    /// The service is not registered (its assurance level is unknown).
    #[error("service {service} is not registered with an assurance level")]
    UnknownService {
        /// The service.
        service: ServiceId,
    },
    /// The service needs more than assurance level 1.
    #[error("service {service} is at assurance level {}: tap use is only for level 1 (use the PIN)", .level.number())]
    AssuranceLevel {
        /// The service.
        service: ServiceId,
        /// Its level.
        level: AssuranceLevel,
    },
}

impl Refusal {
    /// A stable code for the refusal (`unregistered-terminal`, `environment`,
    /// `unknown-service`, `assurance-level`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnregisteredTerminal { .. } => "unregistered-terminal",
            Refusal::Environment { .. } => "environment",
            Refusal::UnknownService { .. } => "unknown-service",
            Refusal::AssuranceLevel { .. } => "assurance-level",
        }
    }
}

/// The guard's yes: this terminal may do tap use for this service. Only [`Policy::check`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapPermit {
    terminal: TerminalId,
    environment: Environment,
    service: ServiceId,
}

impl TapPermit {
    /// The terminal.
    pub fn terminal(&self) -> &TerminalId {
        &self.terminal
    }
    /// Its environment (one of the three managed ones).
    pub fn environment(&self) -> Environment {
        self.environment
    }
    /// The service (assurance level 1).
    pub fn service(&self) -> &ServiceId {
        &self.service
    }
}

/// The registry of managed terminals and of services with their assurance levels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    terminals: BTreeMap<TerminalId, Environment>,
    services: BTreeMap<ServiceId, AssuranceLevel>,
}

impl Policy {
    /// An empty registry: refuses everything.
    pub fn new() -> Policy {
        Policy::default()
    }
    /// Registers (or moves) a terminal.
    pub fn register_terminal(&mut self, terminal: TerminalId, environment: Environment) {
        self.terminals.insert(terminal, environment);
    }
    /// Removes a terminal (a lost lent device): tap use on it is refused from now on.
    pub fn remove_terminal(&mut self, terminal: &TerminalId) -> bool {
        self.terminals.remove(terminal).is_some()
    }
    /// Registers (or re-assesses) a service.
    pub fn register_service(&mut self, service: ServiceId, level: AssuranceLevel) {
        self.services.insert(service, level);
    }
    /// The registered terminals.
    pub fn terminals(&self) -> impl Iterator<Item = (&TerminalId, Environment)> {
        self.terminals.iter().map(|(t, e)| (t, *e))
    }
    /// The registered services.
    pub fn services(&self) -> impl Iterator<Item = (&ServiceId, AssuranceLevel)> {
        self.services.iter().map(|(s, l)| (s, *l))
    }

    /// May `terminal` do PIN-less tap use for `service`? The terminal first (registered, in a
    /// managed environment), then the service (registered, level 1).
    pub fn check(&self, terminal: &TerminalId, service: &ServiceId) -> Result<TapPermit, Refusal> {
        let environment = *self
            .terminals
            .get(terminal)
            .ok_or_else(|| Refusal::UnregisteredTerminal { terminal: terminal.clone() })?;
        if !environment.allows_tap() {
            return Err(Refusal::Environment { terminal: terminal.clone(), environment });
        }
        let level = *self.services.get(service).ok_or_else(|| Refusal::UnknownService { service: service.clone() })?;
        if level != AssuranceLevel::Level1 {
            return Err(Refusal::AssuranceLevel { service: service.clone(), level });
        }
        Ok(TapPermit { terminal: terminal.clone(), environment, service: service.clone() })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: &str) -> TerminalId {
        TerminalId::parse(s).unwrap()
    }
    fn s(x: &str) -> ServiceId {
        ServiceId::parse(x).unwrap()
    }

    #[test]
    fn the_guard_allows_only_managed_terminals_and_level_1() {
        let mut p = Policy::new();
        for (id, env) in [
            ("desk-1", Environment::Counter),
            ("gate-1", Environment::MonitoredFacility),
            ("tablet-7", Environment::LentDevice),
            ("web", Environment::Online),
            ("stall", Environment::Outdoors),
        ] {
            p.register_terminal(t(id), env);
        }
        p.register_service(s("library"), AssuranceLevel::Level1);
        p.register_service(s("account"), AssuranceLevel::Level2);
        for id in ["desk-1", "gate-1", "tablet-7"] {
            let permit = p.check(&t(id), &s("library")).unwrap();
            assert_eq!(permit.terminal(), &t(id));
            assert_eq!(permit.service(), &s("library"));
        }
        assert_eq!(p.check(&t("desk-9"), &s("library")), Err(Refusal::UnregisteredTerminal { terminal: t("desk-9") }));
        for (id, env) in [("web", Environment::Online), ("stall", Environment::Outdoors)] {
            let r = p.check(&t(id), &s("library")).unwrap_err();
            assert_eq!(r, Refusal::Environment { terminal: t(id), environment: env });
            assert_eq!(r.code(), "environment");
        }
        let r = p.check(&t("desk-1"), &s("account")).unwrap_err();
        assert_eq!(r, Refusal::AssuranceLevel { service: s("account"), level: AssuranceLevel::Level2 });
        assert!(r.to_string().contains("level 2"), "{r}");
        assert_eq!(p.check(&t("desk-1"), &s("gym")), Err(Refusal::UnknownService { service: s("gym") }));
        // A lost lent device is removed: refused from then on.
        assert!(p.remove_terminal(&t("tablet-7")));
        assert_eq!(p.check(&t("tablet-7"), &s("library")).unwrap_err().code(), "unregistered-terminal");
    }

    #[test]
    fn ids_and_names_parse_strictly() {
        assert!(TerminalId::parse("").is_err());
        assert!(TerminalId::parse("a/b").is_err());
        assert!(ServiceId::parse(&"x".repeat(65)).is_err());
        assert!(ServiceId::parse("library-2.main_hall").is_ok());
        for e in ["counter", "monitored-facility", "lent-device", "online", "outdoors"] {
            assert_eq!(Environment::parse(e).unwrap().as_str(), e);
        }
        assert_eq!(Environment::parse("Counter"), None);
        assert_eq!(AssuranceLevel::from_number(1), Some(AssuranceLevel::Level1));
        assert_eq!(AssuranceLevel::from_number(4), None);
    }
}
