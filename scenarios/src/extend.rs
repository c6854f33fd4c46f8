//! User-defined components: the [`Extensions`] a program registers its own balancing policies,
//! distributions (service times, times to failure) and arrival processes in, under names a
//! scenario refers to as `Custom(name: "…", params: {…})` in those positions.
//!
//! Registration is a value, not a global: the program that loads a scenario passes its
//! extensions to [`crate::load_with`] (or [`crate::parse_str_with`], [`crate::load_sweep_with`]),
//! and validation asks the registered validator to read the parameters. Its errors point at the
//! parameter's value in the file (file:line:col), like every other error; a parameter the
//! validator never read is refused as unknown, with a suggestion. What validation returns is
//! plain data in the [`models::spec::Spec`] (a factory behind an `Arc`), so everything that
//! runs a spec — `Run`, sweeps on many threads, compare, traces — runs custom components too.

use crate::validate::Ctx;
use models::balancer::{CustomPolicy, CustomPolicySpec, PolicyFactory};
use models::spec::PolicySpec;
use sim_core::{CustomDist, CustomDistribution, Dist, SimDuration, parse_duration};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// A policy's validator: reads the parameters, returns the factory of its instances.
type PolicyValidator = dyn Fn(&Params<'_>) -> Result<Arc<PolicyFactory>, ParamError> + Send + Sync;

/// A distribution's validator: reads the parameters, returns the sampler.
type DistValidator =
    dyn Fn(&Params<'_>) -> Result<Arc<dyn CustomDistribution>, ParamError> + Send + Sync;

/// A registered distribution's validator: the user's `validate`, its result shared.
fn distribution_validator<F, D>(validate: F) -> Arc<DistValidator>
where
    F: Fn(&Params<'_>) -> Result<D, ParamError> + Send + Sync + 'static,
    D: CustomDistribution + 'static,
{
    Arc::new(move |params: &Params<'_>| {
        let d: Arc<dyn CustomDistribution> = Arc::new(validate(params)?);
        Ok(d)
    })
}

/// The components a program adds to hasim's vocabulary, by name. Names are kept in a sorted
/// map, so nothing depends on the order of registration.
///
/// ```
/// use models::balancer::{CustomPolicy, PolicyView};
/// use sim_core::Stream;
///
/// /// The eligible backend `offset` places after the least loaded one.
/// #[derive(Clone, Debug)]
/// struct Offset(usize);
///
/// impl CustomPolicy for Offset {
///     fn pick(&mut self, view: &PolicyView<'_>, _rng: &mut Stream) -> usize {
///         let e = view.eligible();
///         let least = (0..e.len()).min_by_key(|&i| view.in_flight(e[i] as usize)).unwrap_or(0);
///         e[(least + self.0) % e.len()] as usize
///     }
/// }
///
/// let ext = scenarios::Extensions::new().policy("offset", |params| {
///     let offset = params.u32_or("offset", 0)? as usize;
///     Ok(move |_backends: usize| Offset(offset))
/// });
/// assert_eq!(ext.policies().collect::<Vec<_>>(), ["offset"]);
/// ```
#[derive(Clone, Default)]
pub struct Extensions {
    policies: BTreeMap<String, Arc<PolicyValidator>>,
    distributions: BTreeMap<String, Arc<DistValidator>>,
    arrivals: BTreeMap<String, Arc<DistValidator>>,
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("policies", &self.policies.keys().collect::<Vec<_>>())
            .field(
                "distributions",
                &self.distributions.keys().collect::<Vec<_>>(),
            )
            .field("arrivals", &self.arrivals.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Extensions {
    /// No extensions: only hasim's own vocabulary (what `hasim` the command has).
    pub fn new() -> Self {
        Extensions::default()
    }

    /// Registers a balancing policy under `name`. `validate` reads the scenario's `params`
    /// (through [`Params`]) and returns a factory that builds one instance of the policy for a
    /// number of backends; it is called once per balancer instance (each caller's own with
    /// `per_client`). A second registration under the same name replaces the first.
    pub fn policy<F, M, P>(mut self, name: &str, validate: F) -> Self
    where
        F: Fn(&Params<'_>) -> Result<M, ParamError> + Send + Sync + 'static,
        M: Fn(usize) -> P + Send + Sync + 'static,
        P: CustomPolicy + 'static,
    {
        let validator = move |params: &Params<'_>| {
            let make = validate(params)?;
            let factory: Arc<PolicyFactory> =
                Arc::new(move |n| -> Box<dyn CustomPolicy> { Box::new(make(n)) });
            Ok(factory)
        };
        self.policies.insert(name.to_string(), Arc::new(validator));
        self
    }

    /// Registers a distribution of durations under `name`, for `Custom(name: …, params: …)`
    /// wherever a distribution goes (`service`, `time_to_failure`, …). `validate` reads the
    /// parameters and returns the distribution; it is shared by every component using it.
    pub fn distribution<F, D>(mut self, name: &str, validate: F) -> Self
    where
        F: Fn(&Params<'_>) -> Result<D, ParamError> + Send + Sync + 'static,
        D: CustomDistribution + 'static,
    {
        self.distributions
            .insert(name.to_string(), distribution_validator(validate));
        self
    }

    /// Registers an arrival process under `name`, for `arrivals: Custom(name: …, params: …)`:
    /// a renewal process whose gaps the returned distribution draws (from the client's own
    /// arrival stream).
    pub fn arrivals<F, D>(mut self, name: &str, validate: F) -> Self
    where
        F: Fn(&Params<'_>) -> Result<D, ParamError> + Send + Sync + 'static,
        D: CustomDistribution + 'static,
    {
        self.arrivals
            .insert(name.to_string(), distribution_validator(validate));
        self
    }

    /// The names of the registered policies, sorted.
    pub fn policies(&self) -> impl Iterator<Item = &str> {
        self.policies.keys().map(String::as_str)
    }
}

/// Why a custom component's parameters were refused: the parameter at fault (or none: the
/// parameters as a whole), what is wrong, and a hint.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    key: Option<String>,
    message: String,
    help: Option<String>,
}

impl ParamError {
    /// An error about the parameters as a whole (shown at `params`).
    pub fn new(message: impl Into<String>) -> Self {
        ParamError {
            key: None,
            message: message.into(),
            help: None,
        }
    }

    /// An error about parameter `key` (shown at its value, or at `params` if it is missing).
    pub fn at(key: &str, message: impl Into<String>) -> Self {
        ParamError {
            key: Some(key.to_string()),
            message: message.into(),
            help: None,
        }
    }

    /// Adds a hint: what would be accepted, the usual value.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

/// A custom component's parameters as written (`params: {"d": 2, "penalty": "5ms"}`), read by
/// its validator. Each read marks the key as known; keys nobody read are refused afterwards.
pub struct Params<'a> {
    values: &'a BTreeMap<String, ron::Value>,
    read: RefCell<BTreeSet<String>>,
    defaults: RefCell<Vec<String>>,
}

impl<'a> Params<'a> {
    fn new(values: &'a BTreeMap<String, ron::Value>) -> Self {
        Params {
            values,
            read: RefCell::default(),
            defaults: RefCell::default(),
        }
    }

    fn get(&self, key: &str) -> Option<&'a ron::Value> {
        self.read.borrow_mut().insert(key.to_string());
        self.values.get(key)
    }

    fn required<T>(&self, key: &str, v: Option<T>) -> Result<T, ParamError> {
        v.ok_or_else(|| ParamError::at(key, format!("parameter `{key}` is missing")))
    }

    fn or<T: fmt::Display>(&self, key: &str, v: Option<T>, default: T) -> T {
        v.unwrap_or_else(|| {
            self.defaults
                .borrow_mut()
                .push(format!("{key} = {default}"));
            default
        })
    }

    /// True if `key` is written (it counts as read).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// An error at `key`'s value: for the validator's own checks (a range, a relation).
    pub fn error(&self, key: &str, message: impl Into<String>) -> ParamError {
        ParamError::at(key, message)
    }

    fn number(&self, key: &str) -> Result<Option<f64>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(ron::Value::Number(n)) => Ok(Some(n.into_f64())),
            Some(_) => Err(ParamError::at(key, format!("`{key}` must be a number"))),
        }
    }

    /// The number at `key`; an error if it is missing or not a finite number.
    pub fn f64(&self, key: &str) -> Result<f64, ParamError> {
        let v = self.finite(key)?;
        self.required(key, v)
    }

    /// The number at `key`, or `default` (noted in the report) when it is not written.
    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64, ParamError> {
        let v = self.finite(key)?;
        Ok(self.or(key, v, default))
    }

    fn finite(&self, key: &str) -> Result<Option<f64>, ParamError> {
        match self.number(key)? {
            Some(x) if !x.is_finite() => Err(ParamError::at(
                key,
                format!("`{key}` must be a finite number, found {x}"),
            )),
            v => Ok(v),
        }
    }

    fn count(&self, key: &str) -> Result<Option<u32>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(ron::Value::Number(n)) => {
                let x = n.into_f64();
                if x.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&x) {
                    Ok(Some(x as u32))
                } else {
                    Err(ParamError::at(
                        key,
                        format!(
                            "`{key}` must be a whole number from 0 to {}, found {x}",
                            u32::MAX
                        ),
                    ))
                }
            }
            Some(_) => Err(ParamError::at(
                key,
                format!("`{key}` must be a whole number"),
            )),
        }
    }

    /// The whole number at `key`; an error if it is missing, negative or fractional.
    pub fn u32(&self, key: &str) -> Result<u32, ParamError> {
        let v = self.count(key)?;
        self.required(key, v)
    }

    /// The whole number at `key`, or `default` (noted in the report) when it is not written.
    pub fn u32_or(&self, key: &str, default: u32) -> Result<u32, ParamError> {
        let v = self.count(key)?;
        Ok(self.or(key, v, default))
    }

    fn dur(&self, key: &str) -> Result<Option<SimDuration>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(ron::Value::String(s)) => parse_duration(s).map(Some).map_err(|e| {
                ParamError::at(key, e.message)
                    .with_help("write a number and a unit: \"300ms\", \"2s\", \"1.5s\"")
            }),
            Some(_) => Err(
                ParamError::at(key, format!("`{key}` must be a duration string"))
                    .with_help("durations are strings with a unit, e.g. \"300ms\""),
            ),
        }
    }

    /// The duration at `key` (a string with a unit, `"5ms"`); an error if missing or malformed.
    pub fn duration(&self, key: &str) -> Result<SimDuration, ParamError> {
        let v = self.dur(key)?;
        self.required(key, v)
    }

    /// The duration at `key`, or `default` (noted in the report) when it is not written.
    pub fn duration_or(&self, key: &str, default: SimDuration) -> Result<SimDuration, ParamError> {
        let v = self.dur(key)?;
        Ok(self.or(key, v, default))
    }

    /// The string at `key`; an error if it is missing or not a string.
    pub fn string(&self, key: &str) -> Result<String, ParamError> {
        match self.get(key) {
            Some(ron::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(ParamError::at(key, format!("`{key}` must be a string"))),
            None => self.required(key, None),
        }
    }
}

/// What a component of kind `kind` registered as `name` yields from its validator.
pub(crate) struct Validated<T> {
    pub value: T,
    /// Canonical text of the parameters (sorted keys).
    pub params: String,
}

/// Runs the validator of `name` among `registry` on `params`, reporting at `path`
/// (`….name`, `….params`, `….params.KEY`). `what` names the component in messages.
#[allow(clippy::type_complexity)] // the registries' own type
pub(crate) fn run_validator<T>(
    cx: &mut Ctx<'_>,
    registry: &BTreeMap<String, Arc<dyn Fn(&Params<'_>) -> Result<T, ParamError> + Send + Sync>>,
    name: &str,
    params: &BTreeMap<String, ron::Value>,
    path: &str,
    what: &str,
    owner: &str,
) -> Option<Validated<T>> {
    let Some(validator) = registry.get(name) else {
        let known: Vec<&str> = registry.keys().map(String::as_str).collect();
        let help = match crate::did_you_mean(name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if known.is_empty() => format!(
                "custom {what}s are registered by the program that loads the scenario (scenarios::Extensions); the hasim command has none"
            ),
            None => format!("registered: {}", crate::suggest::one_of(&known)),
        };
        cx.fail_help(
            &format!("{path}.name"),
            format!("no custom {what} `{name}` is registered"),
            help,
        );
        return None;
    };
    let p = Params::new(params);
    let at = |key: &Option<String>| match key {
        Some(k) if params.contains_key(k) => format!("{path}.params.{k}"),
        _ => format!("{path}.params"),
    };
    match validator(&p) {
        Err(e) => {
            let message = format!("custom {what} `{name}`: {}", e.message);
            match e.help {
                Some(h) => cx.fail_help(&at(&e.key), message, h),
                None => cx.fail(&at(&e.key), message),
            }
            None
        }
        Ok(value) => {
            let read = p.read.borrow();
            let unread: Vec<&String> = params.keys().filter(|k| !read.contains(*k)).collect();
            for k in &unread {
                let help = match crate::did_you_mean(k, read.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if read.is_empty() => format!("`{name}` takes no parameters"),
                    None => format!(
                        "`{name}` reads {}",
                        crate::suggest::one_of(&read.iter().collect::<Vec<_>>())
                    ),
                };
                cx.fail_help(
                    &format!("{path}.params.{k}"),
                    format!("unknown parameter `{k}` of custom {what} `{name}`"),
                    help,
                );
            }
            if !unread.is_empty() {
                return None;
            }
            let defaults = p.defaults.borrow();
            if !defaults.is_empty() {
                cx.notes.push(format!(
                    "{owner}: custom {what} `{name}` parameters not set, using {}",
                    defaults.join(", ")
                ));
            }
            Some(Validated {
                value,
                params: ron::to_string(params).unwrap_or_default(),
            })
        }
    }
}

/// The balancing policy `Custom(name, params)` at `path` (`balancers[i].policy`) of `owner`
/// ("balancer `lb`").
pub(crate) fn policy(
    cx: &mut Ctx<'_>,
    name: &str,
    params: &BTreeMap<String, ron::Value>,
    path: &str,
    owner: &str,
) -> Option<PolicySpec> {
    let ext = cx.ext;
    let v = run_validator(cx, &ext.policies, name, params, path, "policy", owner)?;
    Some(PolicySpec::Custom(CustomPolicySpec::new(
        name.to_string(),
        v.params,
        v.value,
    )))
}

/// A distribution `Custom(name, params)` at `path`: its mean must be above zero.
pub(crate) fn distribution(
    cx: &mut Ctx<'_>,
    name: &str,
    params: &BTreeMap<String, ron::Value>,
    path: &str,
) -> Option<Dist> {
    let ext = cx.ext;
    let owner = format!("`{path}`");
    let v = run_validator(
        cx,
        &ext.distributions,
        name,
        params,
        path,
        "distribution",
        &owner,
    )?;
    let d = CustomDist::new(name.to_string(), v.params, v.value);
    positive_mean(cx, &d, path, "distribution")?;
    Some(Dist::Custom(d))
}

/// Arrivals `Custom(name, params)` at `path`: gaps with a mean above zero.
pub(crate) fn arrivals(
    cx: &mut Ctx<'_>,
    name: &str,
    params: &BTreeMap<String, ron::Value>,
    path: &str,
) -> Option<models::spec::Arrivals> {
    let ext = cx.ext;
    let owner = format!("`{path}`");
    let v = run_validator(
        cx,
        &ext.arrivals,
        name,
        params,
        path,
        "arrival process",
        &owner,
    )?;
    let d = CustomDist::new(name.to_string(), v.params, v.value);
    positive_mean(cx, &d, path, "arrival process")?;
    Some(models::spec::Arrivals::Custom(d))
}

/// A mean of zero would let the clock stand still (zero gaps, zero service).
fn positive_mean(cx: &mut Ctx<'_>, d: &CustomDist, path: &str, what: &str) -> Option<()> {
    if d.mean_ns() > 0.0 {
        return Some(());
    }
    cx.fail_help(
        &format!("{path}.params"),
        format!("custom {what} `{}` has a mean of zero", d.name),
        "its mean() must be longer than zero",
    );
    None
}
