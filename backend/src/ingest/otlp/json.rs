//! OTLP JSON (the protobuf JSON mapping with OTLP's exceptions): lowerCamelCase field names
//! (snake_case accepted too, as protobuf JSON parsers do), 64-bit integers as strings or
//! numbers, enums as numbers or names, `null` meaning absent.

use serde_json::{Map, Value};

use super::wire::*;

type Result<T> = std::result::Result<T, String>;

struct Object<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl<'a> Object<'a> {
    fn new(value: &'a Value, path: String) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Object { map, path }),
            _ => Err(format!("{path} must be an object")),
        }
    }

    fn path(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.path)
        }
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.map
            .get(field)
            .or_else(|| self.map.get(&snake_case(field)))
            .filter(|v| !v.is_null())
    }

    fn string(&self, field: &str) -> Result<String> {
        match self.get(field) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("{} must be a string", self.path(field))),
        }
    }

    fn boolean(&self, field: &str) -> Result<bool> {
        match self.get(field) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("{} must be true or false", self.path(field))),
        }
    }

    fn u64(&self, field: &str) -> Result<u64> {
        self.get(field)
            .map_or(Ok(0), |v| unsigned(v, &self.path(field)))
    }

    fn optional_f64(&self, field: &str) -> Result<Option<f64>> {
        self.get(field)
            .map(|v| double(v, &self.path(field)))
            .transpose()
    }

    fn f64(&self, field: &str) -> Result<f64> {
        Ok(self.optional_f64(field)?.unwrap_or(0.0))
    }

    /// An enum given as its number or its name.
    fn enumeration(&self, field: &str, names: &[(&str, i32)]) -> Result<i32> {
        match self.get(field) {
            None => Ok(0),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| format!("{} is not a valid enum number", self.path(field))),
            Some(Value::String(s)) => names
                .iter()
                .find(|(name, _)| name == s)
                .map(|(_, n)| *n)
                .ok_or_else(|| format!("{} has an unknown value {s:?}", self.path(field))),
            Some(_) => Err(format!(
                "{} must be an enum name or number",
                self.path(field)
            )),
        }
    }

    fn object(&self, field: &str) -> Result<Option<Object<'a>>> {
        self.get(field)
            .map(|v| Object::new(v, self.path(field)))
            .transpose()
    }

    fn array(&self, field: &str) -> Result<&'a [Value]> {
        match self.get(field) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(format!("{} must be an array", self.path(field))),
        }
    }

    fn objects<T>(&self, field: &str, convert: impl Fn(Object<'a>) -> Result<T>) -> Result<Vec<T>> {
        self.array(field)?
            .iter()
            .enumerate()
            .map(|(i, v)| convert(Object::new(v, format!("{}[{i}]", self.path(field)))?))
            .collect()
    }
}

fn unsigned(value: &Value, path: &str) -> Result<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{path} must be a non-negative integer (a number or a string)"))
}

fn signed(value: &Value, path: &str) -> Result<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{path} must be an integer (a number or a string)"))
}

fn double(value: &Value, path: &str) -> Result<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.trim().parse().ok(),
        },
        _ => None,
    }
    .ok_or_else(|| format!("{path} must be a number"))
}

pub(super) fn request(value: &Value) -> Result<ExportMetricsServiceRequest> {
    let root = Object::new(value, String::new())?;
    Ok(ExportMetricsServiceRequest {
        resource_metrics: root.objects("resourceMetrics", resource_metrics)?,
    })
}

fn resource_metrics(o: Object<'_>) -> Result<ResourceMetrics> {
    Ok(ResourceMetrics {
        resource: o
            .object("resource")?
            .map(|r| {
                Ok::<_, String>(Resource {
                    attributes: r.objects("attributes", key_value)?,
                })
            })
            .transpose()?,
        scope_metrics: o.objects("scopeMetrics", scope_metrics)?,
    })
}

fn scope_metrics(o: Object<'_>) -> Result<ScopeMetrics> {
    Ok(ScopeMetrics {
        scope: o
            .object("scope")?
            .map(|s| {
                Ok::<_, String>(InstrumentationScope {
                    name: s.string("name")?,
                    version: s.string("version")?,
                })
            })
            .transpose()?,
        metrics: o.objects("metrics", metric)?,
    })
}

const TEMPORALITIES: &[(&str, i32)] = &[
    (
        "AGGREGATION_TEMPORALITY_UNSPECIFIED",
        TEMPORALITY_UNSPECIFIED,
    ),
    ("AGGREGATION_TEMPORALITY_DELTA", TEMPORALITY_DELTA),
    ("AGGREGATION_TEMPORALITY_CUMULATIVE", TEMPORALITY_CUMULATIVE),
];

fn metric(o: Object<'_>) -> Result<Metric> {
    let data = if let Some(g) = o.object("gauge")? {
        Some(MetricData::Gauge(Gauge {
            data_points: g.objects("dataPoints", number_point)?,
        }))
    } else if let Some(s) = o.object("sum")? {
        Some(MetricData::Sum(Sum {
            data_points: s.objects("dataPoints", number_point)?,
            aggregation_temporality: s.enumeration("aggregationTemporality", TEMPORALITIES)?,
            is_monotonic: s.boolean("isMonotonic")?,
        }))
    } else if let Some(h) = o.object("histogram")? {
        Some(MetricData::Histogram(Histogram {
            data_points: h.objects("dataPoints", histogram_point)?,
            aggregation_temporality: h.enumeration("aggregationTemporality", TEMPORALITIES)?,
        }))
    } else if let Some(h) = o.object("exponentialHistogram")? {
        Some(MetricData::ExponentialHistogram(ExponentialHistogram {
            data_points: h.objects("dataPoints", |p| {
                Ok(ExponentialHistogramDataPoint {
                    time_unix_nano: p.u64("timeUnixNano")?,
                    count: p.u64("count")?,
                })
            })?,
            aggregation_temporality: h.enumeration("aggregationTemporality", TEMPORALITIES)?,
        }))
    } else if let Some(s) = o.object("summary")? {
        Some(MetricData::Summary(Summary {
            data_points: s.objects("dataPoints", summary_point)?,
        }))
    } else {
        None
    };
    Ok(Metric {
        name: o.string("name")?,
        description: o.string("description")?,
        unit: o.string("unit")?,
        data,
    })
}

fn number_point(o: Object<'_>) -> Result<NumberDataPoint> {
    let value = if let Some(v) = o.get("asDouble") {
        Some(NumberValue::AsDouble(double(v, &o.path("asDouble"))?))
    } else if let Some(v) = o.get("asInt") {
        Some(NumberValue::AsInt(signed(v, &o.path("asInt"))?))
    } else {
        None
    };
    Ok(NumberDataPoint {
        attributes: o.objects("attributes", key_value)?,
        start_time_unix_nano: o.u64("startTimeUnixNano")?,
        time_unix_nano: o.u64("timeUnixNano")?,
        value,
        flags: flags(&o)?,
    })
}

fn flags(o: &Object<'_>) -> Result<u32> {
    u32::try_from(o.u64("flags")?).map_err(|_| format!("{} is too large", o.path("flags")))
}

fn histogram_point(o: Object<'_>) -> Result<HistogramDataPoint> {
    let bucket_counts = o
        .array("bucketCounts")?
        .iter()
        .enumerate()
        .map(|(i, v)| unsigned(v, &format!("{}[{i}]", o.path("bucketCounts"))))
        .collect::<Result<_>>()?;
    let explicit_bounds = o
        .array("explicitBounds")?
        .iter()
        .enumerate()
        .map(|(i, v)| double(v, &format!("{}[{i}]", o.path("explicitBounds"))))
        .collect::<Result<_>>()?;
    Ok(HistogramDataPoint {
        attributes: o.objects("attributes", key_value)?,
        start_time_unix_nano: o.u64("startTimeUnixNano")?,
        time_unix_nano: o.u64("timeUnixNano")?,
        count: o.u64("count")?,
        sum: o.optional_f64("sum")?,
        bucket_counts,
        explicit_bounds,
        flags: flags(&o)?,
    })
}

fn summary_point(o: Object<'_>) -> Result<SummaryDataPoint> {
    Ok(SummaryDataPoint {
        attributes: o.objects("attributes", key_value)?,
        start_time_unix_nano: o.u64("startTimeUnixNano")?,
        time_unix_nano: o.u64("timeUnixNano")?,
        count: o.u64("count")?,
        sum: o.f64("sum")?,
        quantile_values: o.objects("quantileValues", |q| {
            Ok(ValueAtQuantile {
                quantile: q.f64("quantile")?,
                value: q.f64("value")?,
            })
        })?,
        flags: flags(&o)?,
    })
}

fn key_value(o: Object<'_>) -> Result<KeyValue> {
    Ok(KeyValue {
        key: o.string("key")?,
        value: o.object("value")?.map(any_value).transpose()?,
    })
}

fn any_value(o: Object<'_>) -> Result<AnyValue> {
    let kind = if let Some(v) = o.get("stringValue") {
        match v {
            Value::String(s) => Some(AnyValueKind::String(s.clone())),
            _ => return Err(format!("{} must be a string", o.path("stringValue"))),
        }
    } else if o.get("boolValue").is_some() {
        Some(AnyValueKind::Bool(o.boolean("boolValue")?))
    } else if let Some(v) = o.get("intValue") {
        Some(AnyValueKind::Int(signed(v, &o.path("intValue"))?))
    } else if let Some(v) = o.get("doubleValue") {
        Some(AnyValueKind::Double(double(v, &o.path("doubleValue"))?))
    } else if let Some(a) = o.object("arrayValue")? {
        Some(AnyValueKind::Array(ArrayValue {
            values: a.objects("values", any_value)?,
        }))
    } else if let Some(l) = o.object("kvlistValue")? {
        Some(AnyValueKind::Kvlist(KeyValueList {
            values: l.objects("values", key_value)?,
        }))
    } else if let Some(v) = o.get("bytesValue") {
        // Kept as the text that was sent (base64): it only ever becomes a label value.
        match v {
            Value::String(s) => Some(AnyValueKind::Bytes(s.clone().into_bytes())),
            _ => return Err(format!("{} must be a string", o.path("bytesValue"))),
        }
    } else {
        None
    };
    Ok(AnyValue { value: kind })
}
